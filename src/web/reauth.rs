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
    /// The page to return to once confirmed (a path of this site); empty: the Security page.
    back: String,
}

/// The in-place prompt when an action answers `reauth_required`.
pub fn reauth_prompt(state: &AppState, caller: &Caller, error: Option<String>) -> Response {
    reauth_prompt_back(state, caller, error, "")
}

/// The prompt, returning to `back` (a path of this site) once confirmed.
pub fn reauth_prompt_back(state: &AppState, caller: &Caller, error: Option<String>, back: &str) -> Response {
    let page = ReauthPage {
        back: back.to_owned(),
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
    back: Option<String>,
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
    // Only a path of this site is followed (never another origin: no open redirect).
    let back = form
        .back
        .as_deref()
        .filter(|b| b.starts_with('/'))
        .and_then(|b| crate::domain::return_to::allowed(b, &state.config.public_url, &[]).map(|_| b.to_owned()))
        .unwrap_or_default();
    let again = |error: &str| reauth_prompt_back(&state, &caller, Some(error.to_owned()), &back);
    let Some(proof) = super::form_proof(form.password, form.code, form.challenge_id, form.credential.as_deref()) else {
        return again("Enter your password or a code.");
    };
    match auth::reauth(&state, &ctx, &caller, proof).await {
        Ok(()) if !back.is_empty() => Redirect::to(&back).into_response(),
        Ok(()) => Redirect::to("/security?done=reauthenticated").into_response(),
        Err(Error::InvalidPassword | Error::InvalidCode) => again("That did not match. Try again."),
        Err(Error::MfaRequired { .. }) => again(super::SECOND_FACTOR_PLEASE),
        Err(e) => fail(&state, Some(&caller), e),
    }
}
