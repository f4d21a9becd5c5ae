//! The web pages: sign-in and the Security & 2FA page, rendered on the server.
//!
//! They call the same services as the API. Every form carries a per-session CSRF token
//! on top of the API's same-origin check and SameSite=Lax cookies; the CSP allows no
//! inline script.

mod device_grant;
mod email;
mod invitation;
mod oauth;
mod reauth;
mod security;
mod security_keys;
mod security_page;
mod sign_in;
mod step_up;
mod tokens;
mod workspace_actions;
mod workspace_console;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;

use crate::error::Error;
use crate::http::extract::SessionAuth;
use crate::service::Caller;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::page))
        .route("/login", post(sign_in::login))
        .route("/login/mfa", post(sign_in::mfa))
        .route("/login/passkey", post(sign_in::passkey))
        .route("/logout", post(sign_in::logout))
        .route("/step-up", get(step_up::page).post(step_up::verify))
        .route("/signup", get(email::signup_page).post(email::signup))
        .route("/forgot-password", get(email::forgot_page).post(email::forgot))
        .route("/reset-password", get(email::reset_page).post(email::reset))
        .route("/verify-email", get(email::verify_email_page).post(email::verify_email))
        .route("/lock", get(email::lock_page_get).post(email::lock))
        .route("/security/email/resend", post(security::resend_verification))
        .route("/security/notifications", post(security::notifications))
        .route("/auth/oauth/{provider}/start", get(oauth::start))
        .route("/auth/oauth/{provider}/callback", get(oauth::callback))
        .route("/security", get(security::page))
        .route("/security/password", post(security::change_password))
        .route("/security/totp/setup", post(security::setup_totp))
        .route("/security/totp/confirm", post(security::confirm_totp))
        .route("/security/backup-codes", post(security::regenerate_backup_codes))
        .route("/security/2fa/disable", post(security::disable_2fa))
        .route("/security/sessions/revoke-others", post(security::revoke_other_sessions))
        .route("/security/sessions/{id}/revoke", post(security::revoke_session))
        .route("/security/trusted-devices/revoke-all", post(security::revoke_all_devices))
        .route("/security/trusted-devices/{id}/revoke", post(security::revoke_device))
        .route("/security/keys/finish", post(security_keys::finish))
        .route("/security/keys/{id}/remove", post(security_keys::remove_key))
        .route("/security/providers/{provider}/unlink", post(security::unlink_provider))
        .route("/security/providers/{provider}/link", post(security::link_provider))
        .route("/security/reauth", post(reauth::reauth))
        .route("/device", get(device_grant::page).post(device_grant::lookup))
        .route("/device/approve", post(device_grant::approve))
        .route("/device/deny", post(device_grant::deny))
        .route("/tokens", get(tokens::page).post(tokens::create))
        .route("/tokens/{id}/delete", post(tokens::delete))
        .route("/workspaces/{id}", get(workspace_console::page))
        .route("/workspaces/{id}/invitations", post(workspace_actions::invite))
        .route("/workspaces/{id}/invitations/{invitation}/revoke", post(workspace_actions::revoke))
        .route("/workspaces/{id}/members/{user}/role", post(workspace_actions::set_role))
        .route("/workspaces/{id}/members/{user}/remove", post(workspace_actions::remove))
        .route("/workspaces/{id}/policy", post(workspace_actions::set_policy))
        .route("/invite", get(invitation::page).post(invitation::accept))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../../static/app.css")) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../../static/app.js")) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => Error::internal(e).into_response(),
    }
}

/// How a failed page action is shown: a sign-in is needed, a re-auth prompt, or the
/// API's error (which is JSON; the pages handle the expected ones themselves).
fn fail(state: &AppState, caller: Option<&Caller>, e: Error) -> Response {
    match e {
        Error::CsrfFailed => refused_form(state, caller.is_some()),
        Error::Unauthenticated => Redirect::to("/").into_response(),
        Error::ReauthRequired => match caller {
            Some(c) => reauth::reauth_prompt(state, c, None),
            None => Redirect::to("/").into_response(),
        },
        other => other.into_response(),
    }
}

#[derive(Template)]
#[template(path = "refused_form.html")]
struct RefusedFormPage {
    reason: &'static str,
    public_url: String,
}

/// A page form refused for its origin or CSRF token: a page that says why and where
/// Latchkey lives (the usual cause is opening it at another address than its public
/// URL, such as 127.0.0.1 for localhost), never raw JSON.
fn refused_form(state: &AppState, signed_in: bool) -> Response {
    let reason = if signed_in {
        "The form's security token did not match this session. The page may be old, or the session changed since it was loaded."
    } else {
        "The form was not sent from a Latchkey page at its public address."
    };
    render(StatusCode::FORBIDDEN, &RefusedFormPage { reason, public_url: state.config.public_url.clone() })
}

/// A signed-in browser; anyone else is sent to the sign-in page.
pub struct Browser(pub Caller);

impl FromRequestParts<AppState> for Browser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match SessionAuth::from_request_parts(parts, state).await {
            Ok(SessionAuth(caller)) => Ok(Self(caller)),
            Err(Error::Unauthenticated | Error::SessionRequired) => {
                // Clear a stale cookie too, or `/` (which sends cookie holders here) would loop.
                let mut response = Redirect::to("/").into_response();
                let clear = crate::http::cookies::set_session(&state.config, "", 0);
                response.headers_mut().append(header::SET_COOKIE, clear);
                if parts.uri.path() == "/device" {
                    let resume = device_grant::resume_cookie(state, parts.uri.query());
                    response.headers_mut().append(header::SET_COOKIE, resume);
                }
                Err(response)
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A form that carries nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// Every state-changing page form carries the session's CSRF token in a `csrf` field.
pub trait CsrfField {
    fn csrf(&self) -> &str;
}

impl CsrfField for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A signed-in browser's form whose CSRF token matched: the one place page forms are
/// checked. Anyone not signed in goes to the sign-in page; a wrong token is 403.
pub struct CheckedForm<T>(pub Caller, pub T);

impl<T: serde::de::DeserializeOwned + CsrfField + Send> FromRequest<AppState> for CheckedForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Browser(caller) = Browser::from_request_parts(&mut parts, state).await?;
        let axum::Form(form) = axum::Form::<T>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !state.secrets.csrf_token_matches(caller.credential_id(), form.csrf()) {
            return Err(fail(state, Some(&caller), Error::CsrfFailed));
        }
        Ok(Self(caller, form))
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What a re-authentication form (the re-auth prompt, `/step-up`, the device approval)
/// proves: the password, else a code, else a key's answer (from the page's script) to the
/// ceremony `challenge_id`. Empty fields count as absent.
fn form_proof(
    password: Option<String>,
    code: Option<String>,
    challenge_id: Option<String>,
    credential: Option<&str>,
) -> Option<crate::service::auth::Proof> {
    use crate::service::auth::Proof;
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        return Some(Proof::Password(crate::domain::password::Password::new(p)));
    }
    if let Some(c) = code.filter(|c| !c.trim().is_empty()) {
        return Some(Proof::Code(c));
    }
    let challenge_id = challenge_id.filter(|c| !c.is_empty())?;
    let credential = serde_json::from_str(credential?).ok()?;
    Some(Proof::Passkey { challenge_id, credential })
}

/// What a password answers, in a re-authentication, on an account with a second factor.
pub const SECOND_FACTOR_PLEASE: &str = "Your account has two-factor authentication: confirm with a code or your key.";
