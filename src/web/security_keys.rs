//! Security keys and passkeys on the Security page. `POST /security/keys/finish`: the
//! page's script got the new key's answer from the browser; the server finishes adding it
//! and answers the Security page itself, with the first backup codes on it when the key
//! turned 2FA on, so that the codes never pass through the browser's storage (ASVS
//! 14.3.3). `POST /security/keys/{id}/remove` removes one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::error::Error;
use crate::http::extract::Client;
use crate::service::second_factor::security_keys;
use crate::state::AppState;

use super::security::{forget_context, notice, show};
use super::{CheckedForm, CsrfField, CsrfForm, fail};

#[derive(Deserialize)]
pub struct FinishForm {
    csrf: String,
    challenge_id: String,
    /// The key's answer to `navigator.credentials.create`, as JSON.
    credential: String,
}

impl CsrfField for FinishForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn finish(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<FinishForm>,
) -> Response {
    let credential: RegisterPublicKeyCredential = match serde_json::from_str(&form.credential) {
        Ok(c) => c,
        Err(e) => return fail(&state, Some(&caller), Error::InvalidRequest(format!("credential: {e}"))),
    };
    let (key, codes) =
        match security_keys::finish_registration(&state, &caller, &ctx, &form.challenge_id, &credential).await {
            Ok(done) => done,
            Err(e) => return fail(&state, Some(&caller), e),
        };
    let done = if key.passkey { "passkey_added" } else { "key_added" };
    match codes {
        // Shown this once, in the answer itself: no redirect could carry them.
        Some(codes) => {
            show(&state, &caller, StatusCode::OK, |page| {
                page.notice = notice(done).map(str::to_owned);
                page.new_key_codes = codes;
            })
            .await
        }
        None => Redirect::to(&format!("/security?done={done}")).into_response(),
    }
}

pub async fn remove_key(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(id): Path<String>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    let removed = match security_keys::delete(&state, &caller, &ctx, &id).await {
        Ok(key) => key,
        Err(e) => return fail(&state, Some(&caller), e),
    };
    if !removed.passkey {
        return Redirect::to("/security?done=key_removed").into_response();
    }
    // Tell the browser, so its password manager stops offering a passkey that is gone.
    let sealed = state.secrets.seal(removed.credential_id.as_bytes(), &forget_context(&caller.user_id));
    let forget =
        sealed.map(|s| format!("&forget={}", url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()));
    Redirect::to(&format!("/security?done=passkey_removed{}", forget.unwrap_or_default())).into_response()
}
