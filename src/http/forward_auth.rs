//! `GET /auth/verify` for nginx `auth_request`, Traefik `forwardAuth` and Caddy
//! `forward_auth`: outside `/api/v1` (it is for proxies), an empty 200 with who the caller
//! is in `Remote-*` headers, else the contract's JSON 401 or 403.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde::Deserialize;

use crate::domain::forward_auth::Requirements;
use crate::error::Result;
use crate::service::forward_auth;
use crate::state::AppState;

use super::extract::{ApiQuery, Auth};

#[derive(Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    mfa: bool,
    #[serde(default)]
    phishing_resistant: bool,
    /// Seconds.
    max_age: Option<u32>,
    workspace: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<VerifyQuery>,
) -> Result<Response> {
    let req = Requirements {
        mfa: q.mfa,
        phishing_resistant: q.phishing_resistant,
        max_age: q.max_age.map(|s| Duration::seconds(i64::from(s))),
    };
    let who = forward_auth::verify(&state, &caller, &req, q.workspace.as_deref()).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        // Ids, an address Latchkey accepted, RFC 8176 words and digits: always valid.
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("remote-user", who.user_id);
    set("remote-email", who.email);
    set("remote-amr", &who.amr.join(","));
    if let Some(id) = who.session_id {
        set("remote-session", id);
    }
    if let Some(at) = who.auth_time {
        set("remote-auth-time", &at.to_string());
    }
    Ok(response)
}
