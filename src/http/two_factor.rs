//! `/me/2fa/*`: the authenticator app, backup codes, and turning 2FA off.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::password::Password;
use crate::error::Result;
use crate::service::second_factor::{self, backup_codes, totp};
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(setup_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(delete_totp))
        .routes(routes!(regenerate_backup_codes))
        .routes(routes!(disable))
}

#[derive(Serialize, ToSchema)]
pub struct TotpInfo {
    created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct TwoFactorStatus {
    enabled: bool,
    totp: Option<TotpInfo>,
    webauthn_keys: u64,
    backup_codes_remaining: u64,
}

/// The account's second factors.
#[utoipa::path(get, path = "/me/2fa", tag = "two-factor", security(("bearer" = [])), responses(
    (status = 200, body = TwoFactorStatus), (status = 401, body = ErrorBody),
))]
async fn status(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<TwoFactorStatus>> {
    let f = second_factor::status(&state, &caller).await?;
    Ok(axum::Json(TwoFactorStatus {
        enabled: f.enabled(),
        totp: f.totp_created_at.map(|created_at| TotpInfo { created_at }),
        webauthn_keys: f.webauthn_keys,
        backup_codes_remaining: f.backup_codes_remaining,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TotpSetupResponse {
    /// Base32, for typing into an app by hand.
    secret: String,
    otpauth_uri: String,
    /// The `otpauth_uri` as an SVG QR code.
    qr_svg: String,
}

/// Starts enrolling an authenticator app: a new pending secret (SHA-1, 6 digits, 30 s).
/// Nothing changes until `confirm`; a second setup replaces the pending one.
#[utoipa::path(post, path = "/me/2fa/totp/setup", tag = "two-factor", security(("bearer" = [])), responses(
    (status = 200, body = TotpSetupResponse), (status = 401, body = ErrorBody),
    (status = 403, description = "`reauth_required`: a new factor needs a sign-in from the re-auth window", body = ErrorBody),
))]
async fn setup_totp(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
) -> Result<axum::Json<TotpSetupResponse>> {
    let s = totp::setup_totp(&state, &caller).await?;
    Ok(axum::Json(TotpSetupResponse { secret: s.secret.base32(), otpauth_uri: s.otpauth_uri, qr_svg: s.qr_svg }))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct BackupCodesResponse {
    /// Ten single-use codes, shown only now; `null` when this replaced an existing
    /// authenticator (the old codes stay valid).
    backup_codes: Option<Vec<String>>,
}

/// Confirms the pending secret with a code from the app. The first factor turns 2FA on
/// and returns the backup codes; a re-enrolment replaces the old secret.
#[utoipa::path(post, path = "/me/2fa/totp/confirm", tag = "two-factor", security(("bearer" = [])), request_body = CodeBody, responses(
    (status = 200, body = BackupCodesResponse),
    (status = 401, body = ErrorBody),
    (status = 403, description = "`reauth_required`: checked again at confirmation, so a setup begun in time cannot be confirmed by a session that has gone stale", body = ErrorBody),
    (status = 409, description = "`setup_required`: no pending setup", body = ErrorBody),
    (status = 422, description = "`invalid_code`", body = ErrorBody),
))]
async fn confirm_totp(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<axum::Json<BackupCodesResponse>> {
    let backup_codes = totp::confirm_totp(&state, &caller, &ctx, &body.code).await?;
    Ok(axum::Json(BackupCodesResponse { backup_codes }))
}

/// Removes the authenticator app, while a security key remains.
#[utoipa::path(delete, path = "/me/2fa/totp", tag = "two-factor", security(("bearer" = [])), responses(
    (status = 204),
    (status = 403, description = "`reauth_required`", body = ErrorBody),
    (status = 404, description = "no authenticator app", body = ErrorBody),
    (status = 409, description = "`last_factor`: checked under the account's lock, so of two removals racing for the last two factors one is refused; a removal also forgets every trusted device", body = ErrorBody),
))]
async fn delete_totp(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
) -> Result<StatusCode> {
    totp::delete_totp(&state, &caller, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct NewBackupCodes {
    backup_codes: Vec<String>,
}

/// Ten new backup codes; every earlier code stops working.
#[utoipa::path(post, path = "/me/2fa/backup-codes", tag = "two-factor", security(("bearer" = [])), responses(
    (status = 200, body = NewBackupCodes),
    (status = 403, description = "`reauth_required`", body = ErrorBody),
    (status = 409, description = "`2fa_not_enabled`; new codes also forget every trusted device", body = ErrorBody),
))]
async fn regenerate_backup_codes(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
) -> Result<axum::Json<NewBackupCodes>> {
    let backup_codes = backup_codes::regenerate_backup_codes(&state, &caller, &ctx).await?;
    Ok(axum::Json(NewBackupCodes { backup_codes }))
}

#[derive(Deserialize, ToSchema)]
pub struct DisableBody {
    /// Required while the account has a password.
    password: Option<String>,
}

/// Turns 2FA off: removes every factor, backup code and trusted device.
#[utoipa::path(post, path = "/me/2fa/disable", tag = "two-factor", security(("bearer" = [])), request_body = DisableBody, responses(
    (status = 204),
    (status = 401, description = "`invalid_password`", body = ErrorBody),
    (status = 403, description = "`reauth_required`", body = ErrorBody),
    (status = 409, description = "`2fa_not_enabled`; `last_sign_in_method` when the account's passkeys are its only way in (no password, no linked provider)", body = ErrorBody),
    (status = 429, description = "`rate_limited`: repeated wrong passwords", body = ErrorBody),
))]
async fn disable(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiJson(body): ApiJson<DisableBody>,
) -> Result<StatusCode> {
    second_factor::disable(&state, &caller, &ctx, body.password.map(Password::new)).await?;
    Ok(StatusCode::NO_CONTENT)
}
