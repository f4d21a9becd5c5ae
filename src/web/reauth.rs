//! The re-authentication prompt: what a sensitive page action answers when the session's
//! last proof is older than the window, and the form that refreshes it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::Error;
use crate::http::extract::Client;
use crate::service::{Caller, auth};
use crate::state::AppState;

use super::{CheckedForm, CsrfField, fail, render};

#[derive(Template)]
#[template(path = "reauth.html")]
struct ReauthPage {
    csrf: String,
    minutes: i64,
    error: Option<String>,
    /// The account has WebAuthn credentials: offer "Confirm with a passkey".
    keys: bool,
    /// The account has a second factor: it is asked for instead of the password.
    second_factor: bool,
}

/// The in-place prompt when an action answers `reauth_required`.
pub fn reauth_prompt(state: &AppState, caller: &Caller, error: Option<String>) -> Response {
    let page = ReauthPage {
        csrf: state.secrets.csrf_token(caller.credential_id()),
        minutes: state.config.settings.reauth_window.num_minutes(),
        error,
        keys: caller.account.factors.webauthn_keys > 0 && state.webauthn.is_some(),
        second_factor: caller.account.factors.enabled(),
    };
    render(StatusCode::FORBIDDEN, &page)
}

#[derive(Deserialize)]
pub struct ReauthForm {
    csrf: String,
    password: Option<String>,
    code: Option<String>,
    /// A passkey's answer (from the page's script) to the ceremony `challenge_id`.
    challenge_id: Option<String>,
    credential: Option<String>,
}

impl CsrfField for ReauthForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn reauth(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<ReauthForm>,
) -> Response {
    let Some(proof) = super::form_proof(form.password, form.code, form.challenge_id, form.credential.as_deref()) else {
        return reauth_prompt(&state, &caller, Some("Enter your password or a code.".into()));
    };
    match auth::reauth(&state, &ctx, &caller, proof).await {
        Ok(()) => Redirect::to("/security?done=reauthenticated").into_response(),
        Err(Error::InvalidPassword | Error::InvalidCode) => {
            reauth_prompt(&state, &caller, Some("That did not match. Try again.".into()))
        }
        Err(Error::MfaRequired { .. }) => reauth_prompt(&state, &caller, Some(super::SECOND_FACTOR_PLEASE.into())),
        Err(e) => fail(&state, Some(&caller), e),
    }
}
