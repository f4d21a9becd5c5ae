//! Device sign-in (RFC 8628) for CLIs and desktop apps: `/auth/device/*` for the device,
//! `/me/device/{user_code}` for a front end that approves it (the `/device` page is the
//! browser's).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::device::Device;
use crate::domain::location::Location;
use crate::error::Result;
use crate::service::device_grant;
use crate::state::AppState;

use super::auth::DeviceClaim;
use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(code))
        .routes(routes!(token))
        .routes(routes!(preview))
        .routes(routes!(approve))
        .routes(routes!(deny))
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceCodeBody {
    /// What the person will be asked to approve, e.g. `cmdop CLI 1.4`: 1 to 100 characters.
    client_name: String,
    /// The session's device; `desktop` named after `client_name` when left out.
    device: Option<DeviceClaim>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceCodeResponse {
    /// `lk_dvc_...`: poll `POST /auth/device/token` with it. Secret: never show it.
    device_code: String,
    /// `XXXX-XXXX` from `BCDFGHJKLMNPQRSTVWXZ`: show it to the person.
    user_code: String,
    /// `{public_url}/device`.
    verification_uri: String,
    /// `{public_url}/device?user_code=XXXX-XXXX`: opening it only fills in the code.
    verification_uri_complete: String,
    /// Seconds until the codes expire (600).
    expires_in: i64,
    /// Seconds to wait between polls (5; `slow_down` adds 5).
    interval: i64,
}

/// Starts a device sign-in (RFC 8628 §3.1): show `user_code` and `verification_uri`, then
/// poll. Limited to 60 a quarter-hour per client address.
#[utoipa::path(post, path = "/auth/device/code", tag = "device", request_body = DeviceCodeBody, responses(
    (status = 200, body = DeviceCodeResponse),
    (status = 400, description = "`invalid_request`", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody),
))]
async fn code(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<DeviceCodeBody>,
) -> Result<axum::Json<DeviceCodeResponse>> {
    let (kind, name) = body.device.map_or((None, None), |d| (d.kind, d.name));
    let started = device_grant::start(&state, &ctx, &body.client_name, kind, name.as_deref()).await?;
    let verification_uri = format!("{}/device", state.config.public_url);
    Ok(axum::Json(DeviceCodeResponse {
        device_code: started.device_code.expose().to_owned(),
        verification_uri_complete: format!("{verification_uri}?user_code={}", started.user_code),
        user_code: started.user_code.to_string(),
        verification_uri,
        expires_in: started.expires_in,
        interval: started.interval,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceTokenBody {
    device_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceTokenResponse {
    /// Always `ok`.
    status: &'static str,
    /// The new session's bearer token.
    token: String,
    session_id: String,
}

/// Polls a device sign-in (RFC 8628 §3.4–3.5). Until approved: 400 with `error` one of
/// the RFC's codes. Once approved, 200 with a session token, exactly once: a later or
/// racing poll gets `invalid_grant` or `slow_down`.
#[utoipa::path(post, path = "/auth/device/token", tag = "device", request_body = DeviceTokenBody, responses(
    (status = 200, body = DeviceTokenResponse),
    (status = 400, description = "`authorization_pending` (waiting), `slow_down` (polled under the interval \
        ago; the interval grows by 5 s), `access_denied` (denied, or the account was disabled), `expired_token` \
        (10 minutes passed), `invalid_grant` (unknown device code, or its session was already handed out)", body = ErrorBody),
))]
async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DeviceTokenBody>,
) -> Result<axum::Json<DeviceTokenResponse>> {
    let (token, session_id) = device_grant::poll(&state, &body.device_code).await?;
    Ok(axum::Json(DeviceTokenResponse { status: "ok", token: token.expose().to_owned(), session_id }))
}

#[derive(Serialize, ToSchema)]
pub struct DevicePreview {
    user_code: String,
    client_name: String,
    device: Device,
    /// Where the device asked from.
    ip: String,
    location: Location,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

const CODE_ERRORS: &str = "`invalid_user_code` (404), `user_code_expired` (410), `user_code_used` (409); \
    every lookup counts against the session and the address: 5 wrong codes a quarter-hour, then 429";

/// What is asking to sign in with this code, for the person to check. Needs a session.
#[utoipa::path(get, path = "/me/device/{user_code}", tag = "device", security(("bearer" = [])),
    params(("user_code" = String, Path, description = "as typed: any case, dash optional")),
    responses(
        (status = 200, body = DevicePreview),
        (status = 403, description = "`session_required`", body = ErrorBody),
        (status = 404, description = CODE_ERRORS, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
async fn preview(
    State(state): State<AppState>,
    Client(ctx): Client,
    SessionAuth(caller): SessionAuth,
    ApiPath(user_code): ApiPath<String>,
) -> Result<axum::Json<DevicePreview>> {
    let g = device_grant::preview(&state, &caller, &ctx, &user_code).await?;
    Ok(axum::Json(DevicePreview {
        user_code: g.user_code.to_string(),
        client_name: g.client_name,
        device: g.device,
        ip: g.ip,
        location: g.location,
        created_at: g.created_at,
        expires_at: g.expires_at,
    }))
}

/// Approves the device sign-in for the caller's account. Needs a session with a recent
/// sign-in (403 `reauth_required`), as every new credential does.
#[utoipa::path(post, path = "/me/device/{user_code}/approve", tag = "device", security(("bearer" = [])),
    params(("user_code" = String, Path)),
    responses(
        (status = 204),
        (status = 403, description = "`reauth_required` or `session_required`", body = ErrorBody),
        (status = 404, description = CODE_ERRORS, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
async fn approve(
    State(state): State<AppState>,
    Client(ctx): Client,
    SessionAuth(caller): SessionAuth,
    ApiPath(user_code): ApiPath<String>,
) -> Result<StatusCode> {
    device_grant::approve(&state, &caller, &ctx, &user_code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Denies the device sign-in: its next poll gets `access_denied`.
#[utoipa::path(post, path = "/me/device/{user_code}/deny", tag = "device", security(("bearer" = [])),
    params(("user_code" = String, Path)),
    responses(
        (status = 204),
        (status = 403, description = "`session_required`", body = ErrorBody),
        (status = 404, description = CODE_ERRORS, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
async fn deny(
    State(state): State<AppState>,
    Client(ctx): Client,
    SessionAuth(caller): SessionAuth,
    ApiPath(user_code): ApiPath<String>,
) -> Result<StatusCode> {
    device_grant::deny(&state, &caller, &ctx, &user_code).await?;
    Ok(StatusCode::NO_CONTENT)
}
