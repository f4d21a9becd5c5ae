//! `GET /auth/verify` for nginx `auth_request`, Traefik `forwardAuth` and Caddy
//! `forward_auth`: outside `/api/v1` (it is for proxies), an empty 200 with who the caller
//! is in `Remote-*` headers, else the contract's JSON 401 or 403.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde::Deserialize;

use crate::domain::forward_auth::Requirements;
use crate::domain::return_to;
use crate::domain::token::SecretToken;
use crate::error::{Error, Result};
use crate::service::forward_auth;
use crate::state::AppState;

use super::extract::{ApiQuery, Presented};

#[derive(Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    mfa: bool,
    #[serde(default)]
    phishing_resistant: bool,
    /// Seconds.
    max_age: Option<u32>,
    workspace: Option<String>,
    /// Answer a refusal with a 302 (Traefik, Caddy) instead of 401/403 (nginx).
    #[serde(default)]
    redirect: bool,
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    presented: std::result::Result<Presented, Error>,
    ApiQuery(q): ApiQuery<VerifyQuery>,
) -> Response {
    let outcome = match presented {
        Ok(Presented(token)) => allow(&state, &token, &q).await,
        Err(e) => Err(e),
    };
    let refusal = match outcome {
        Ok(response) => return response,
        Err(e) => e,
    };
    // Where the browser should go: the sign-in page, or the step-up page for a missing
    // proof, each with `rd` set to the request the proxy was asked about (only when its
    // origin is one Latchkey may send browsers back to). nginx reads it from `Location`.
    let page = match &refusal {
        Error::Unauthenticated => Some("/"),
        Error::InsufficientUserAuthentication(_) => Some("/step-up"),
        _ => None,
    };
    let public = state.config.public_url.trim_end_matches('/');
    let location = page.zip(requested(&headers)).and_then(|(page, wanted)| {
        let back = return_to::allowed(&wanted, public, &state.config.settings.return_origins)?;
        let rd: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        HeaderValue::from_str(&format!("{public}{page}?rd={rd}")).ok()
    });
    let mut response = match (&location, q.redirect) {
        (Some(_), true) => StatusCode::FOUND.into_response(),
        _ => refusal.into_response(),
    };
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The URL the proxy was asked to let through: `X-Forwarded-Proto`, `-Host` and `-Uri`
/// (Traefik, Caddy, and the nginx configuration in the docs), or `X-Original-URL`.
fn requested(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let (Some(proto), Some(host)) = (get("x-forwarded-proto"), get("x-forwarded-host")) {
        return Some(format!("{proto}://{host}{}", get("x-forwarded-uri").unwrap_or("/")));
    }
    get("x-original-url").map(str::to_owned)
}

async fn allow(state: &AppState, token: &SecretToken, q: &VerifyQuery) -> Result<Response> {
    let req = Requirements {
        mfa: q.mfa,
        phishing_resistant: q.phishing_resistant,
        max_age: q.max_age.map(|s| Duration::seconds(i64::from(s))),
    };
    let who = forward_auth::verify(state, token, &req, q.workspace.as_deref()).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        // Ids, an address Latchkey accepted, RFC 8176 words and digits: always valid.
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("remote-user", &who.user_id);
    set("remote-email", &who.email);
    set("remote-amr", &who.amr.join(","));
    if let Some(id) = &who.session_id {
        set("remote-session", id);
    }
    if let Some(at) = who.auth_time {
        set("remote-auth-time", &at.to_string());
    }
    Ok(response)
}
