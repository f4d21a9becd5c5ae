//! `/device`: where a signed-in person types the code a CLI or desktop app shows, checks
//! what is asking, and approves or denies it (RFC 8628). Opening a link only fills the
//! box: nothing is approved without a POST from this page.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::device_grant::UserCode;
use crate::error::Error;
use crate::http::cookies::{self, DEVICE_COOKIE};
use crate::http::extract::Client;
use crate::service::{Caller, ClientContext, Credential, auth, device_grant};
use crate::state::AppState;

use super::{Browser, CheckedForm, CsrfField, fail, render, when};

/// How long the cookie that remembers, across a sign-in, that the browser came for
/// `/device` (and with which code) lives: signing in then lands back there. Only a code is
/// kept and the URL is rebuilt from it, so the cookie cannot send anyone elsewhere.
const RESUME_SECONDS: i64 = 600;

pub(super) fn resume_cookie(state: &AppState, query: Option<&str>) -> axum::http::HeaderValue {
    let code = query
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "user_code"))
        .and_then(|(_, v)| UserCode::parse(&v))
        .map_or_else(|| "-".to_owned(), |c| c.as_str().to_owned());
    cookies::set(&state.config, DEVICE_COOKIE, &code, RESUME_SECONDS)
}

pub(super) fn resume_cookie_cleared(state: &AppState) -> axum::http::HeaderValue {
    cookies::set(&state.config, DEVICE_COOKIE, "", 0)
}

/// Where a fresh sign-in should land instead of the Security page, if anywhere.
pub(super) fn resume_target(state: &AppState, request: &axum::http::HeaderMap) -> Option<String> {
    let kept = cookies::read(request, DEVICE_COOKIE.name(state.config.is_https()))?;
    Some(match UserCode::parse(&kept) {
        Some(code) => format!("/device?user_code={code}"),
        None => "/device".to_owned(),
    })
}

pub struct GrantView {
    user_code: String,
    client_name: String,
    device_name: String,
    device_kind: &'static str,
    ip: String,
    place: String,
    asked: String,
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage {
    csrf: String,
    code: String,
    error: Option<String>,
    grant: Option<GrantView>,
    needs_reauth: bool,
    /// The re-auth asks for the second factor, not the password.
    second_factor: bool,
    minutes: i64,
    done: Option<String>,
}

impl DevicePage {
    fn new(state: &AppState, caller: &Caller) -> Self {
        Self {
            csrf: state.secrets.csrf_token(caller.credential_id()),
            code: String::new(),
            error: None,
            grant: None,
            needs_reauth: caller.require_recent_auth(state).is_err(),
            second_factor: caller.account.factors.enabled(),
            minutes: state.config.settings.reauth_window.num_minutes(),
            done: None,
        }
    }
}

#[derive(Deserialize)]
pub struct Prefill {
    user_code: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Browser(caller): Browser,
    prefill: Result<Query<Prefill>, QueryRejection>,
) -> Response {
    let mut page = DevicePage::new(&state, &caller);
    // Only shown back in the box, and only when it looks like a code.
    page.code = prefill
        .ok()
        .and_then(|Query(p)| p.user_code)
        .and_then(|c| UserCode::parse(&c))
        .map(|c| c.to_string())
        .unwrap_or_default();
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    user_code: String,
    password: Option<String>,
    code: Option<String>,
}

impl CsrfField for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The typed code's grant, shown for approval; a wrong, expired or used code is said so.
pub async fn lookup(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<CodeForm>,
) -> Response {
    show_grant(&state, &caller, &ctx, &form.user_code, None).await
}

async fn show_grant(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    typed: &str,
    error: Option<String>,
) -> Response {
    match device_grant::preview(state, caller, ctx, typed).await {
        Ok(g) => {
            let mut page = DevicePage::new(state, caller);
            page.error = error;
            page.grant = Some(GrantView {
                user_code: g.user_code.to_string(),
                client_name: g.client_name,
                device_name: g.device.name,
                device_kind: g.device.kind.as_str(),
                ip: g.ip,
                place: g.location.label,
                asked: when(g.created_at),
            });
            render(if page.error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK }, &page)
        }
        Err(e) => code_problem(state, caller, typed, e),
    }
}

/// A code that cannot be approved: back to the box with what went wrong.
fn code_problem(state: &AppState, caller: &Caller, typed: &str, e: Error) -> Response {
    let message = match &e {
        Error::InvalidUserCode => "That code is not valid. Check it on your device and type it again.".to_owned(),
        Error::UserCodeExpired => "That code has expired. Start the sign-in again on your device.".to_owned(),
        Error::UserCodeUsed => {
            "That code was already used. Start the sign-in again on your device if you need to.".to_owned()
        }
        Error::RateLimited { retry_after } => format!("Too many wrong codes. Try again in {retry_after} seconds."),
        _ => return fail(state, Some(caller), e),
    };
    let status = e.status_and_code().0;
    let mut page = DevicePage::new(state, caller);
    page.code = typed.chars().take(20).collect();
    page.error = Some(message);
    render(status, &page)
}

pub async fn approve(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<CodeForm>,
) -> Response {
    // The re-auth asked for in place, when the sign-in was not recent.
    let proof = super::form_proof(form.password, form.code, None, None);
    let mut caller = caller;
    if let Some(proof) = proof {
        match auth::reauth(&state, &ctx, &caller, proof).await {
            Ok(()) => {
                if let Credential::Session(session) = &mut caller.credential {
                    session.auth_at = state.clock.now();
                }
            }
            Err(Error::InvalidPassword | Error::InvalidCode) => {
                let error = Some("That did not match. Try again.".to_owned());
                return show_grant(&state, &caller, &ctx, &form.user_code, error).await;
            }
            Err(Error::MfaRequired { .. }) => {
                let error = Some(super::SECOND_FACTOR_PLEASE.to_owned());
                return show_grant(&state, &caller, &ctx, &form.user_code, error).await;
            }
            Err(e) => return fail(&state, Some(&caller), e),
        }
    }
    match device_grant::approve(&state, &caller, &ctx, &form.user_code).await {
        Ok(g) => {
            let mut page = DevicePage::new(&state, &caller);
            page.done = Some(format!("Approved: {} is signed in. You can go back to it now.", g.client_name));
            render(StatusCode::OK, &page)
        }
        Err(Error::ReauthRequired) => {
            let error = Some("Confirm your password or a code to approve.".to_owned());
            show_grant(&state, &caller, &ctx, &form.user_code, error).await
        }
        Err(e) => code_problem(&state, &caller, &form.user_code, e),
    }
}

pub async fn deny(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<CodeForm>,
) -> Response {
    match device_grant::deny(&state, &caller, &ctx, &form.user_code).await {
        Ok(()) => {
            let mut page = DevicePage::new(&state, &caller);
            page.done = Some("Denied: that device is not signed in.".to_owned());
            render(StatusCode::OK, &page)
        }
        Err(e) => code_problem(&state, &caller, &form.user_code, e),
    }
}
