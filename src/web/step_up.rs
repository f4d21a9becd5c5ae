//! `GET /step-up?rd=`: a signed-in browser proves a second factor on its current session
//! (an app behind forward auth asked for `mfa=true`), then goes back to `rd`. Signed out,
//! it goes to the sign-in page with the same `rd` first.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::Error;
use crate::http::extract::{Client, SessionAuth};
use crate::service::Caller;
use crate::service::auth::{self, Proof};
use crate::state::AppState;

use super::sign_in::{ReturnQuery, return_to};
use super::{CheckedForm, CsrfField, fail, render};

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage {
    csrf: String,
    has_2fa: bool,
    /// The account has an authenticator app or backup codes: the code form.
    codes: bool,
    /// The account has security keys or passkeys (and this server can ask for them).
    keys: bool,
    rd: String,
    error: Option<String>,
}

impl StepUpPage {
    fn of(state: &AppState, caller: &Caller, rd: Option<String>, error: Option<String>) -> Self {
        Self {
            csrf: state.secrets.csrf_token(caller.credential_id()),
            has_2fa: caller.account.factors.enabled(),
            codes: caller.account.factors.second_step_methods().iter().any(|m| *m != "webauthn"),
            keys: caller.account.factors.webauthn_keys > 0 && state.webauthn.is_some(),
            rd: rd.unwrap_or_default(),
            error,
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<ReturnQuery>,
    signed_in: Result<SessionAuth, Error>,
) -> Response {
    let rd = return_to(&state, q.rd.as_deref());
    match signed_in {
        Ok(SessionAuth(caller)) => render(StatusCode::OK, &StepUpPage::of(&state, &caller, rd, None)),
        Err(_) => {
            let back = rd.map(|rd| {
                let rd: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
                format!("/?rd={rd}")
            });
            Redirect::to(back.as_deref().unwrap_or("/")).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct StepUpForm {
    csrf: String,
    /// An authenticator or backup code...
    #[serde(default)]
    code: String,
    /// ...or a key's answer (from the page's script) to the ceremony `challenge_id`.
    challenge_id: Option<String>,
    credential: Option<String>,
    rd: Option<String>,
}

impl CsrfField for StepUpForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn verify(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<StepUpForm>,
) -> Response {
    let rd = return_to(&state, form.rd.as_deref());
    // Nothing usable is a wrong code, counted as one.
    let code = Some(form.code.trim().to_owned());
    let proof = super::form_proof(None, code, form.challenge_id, form.credential.as_deref())
        .unwrap_or_else(|| Proof::Code(String::new()));
    match auth::reauth(&state, &ctx, &caller, proof).await {
        Ok(()) => Redirect::to(rd.as_deref().unwrap_or("/security")).into_response(),
        Err(Error::InvalidCode) => {
            let page = StepUpPage::of(
                &state,
                &caller,
                rd,
                Some("That did not work. Try the next code, or the key again.".into()),
            );
            render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}
