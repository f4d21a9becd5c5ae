//! Links sent by mail (confirm an address, reset a password, lock the account), the
//! address itself, and the new-sign-in alert switch.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::password::Password;
use crate::error::Result;
use crate::service::{account, email};
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify))
        .routes(routes!(forgot))
        .routes(routes!(reset))
        .routes(routes!(reset_webauthn))
        .routes(routes!(lock))
        .routes(routes!(change))
        .routes(routes!(resend))
        .routes(routes!(get_notifications, put_notifications))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    /// The `token` of the link's query string.
    token: String,
}

/// Confirms the address of a verification or email-change link (`/verify-email?token=…`,
/// 24 hours, single use; using one voids the account's other confirmation links). A
/// change makes the new address the account's, verified, and mails an `email_changed`
/// alert with a lock link to the OLD address. Refused while the account is disabled.
#[utoipa::path(post, path = "/auth/email/verify", tag = "email", request_body = TokenBody, responses(
    (status = 204),
    (status = 400, description = "`invalid_token`: unknown, used, expired, voided, or the account is disabled", body = ErrorBody),
    (status = 409, description = "`email_taken`: another account took the new address meanwhile", body = ErrorBody),
))]
async fn verify(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<StatusCode> {
    email::confirm(&state, &ctx, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotBody {
    email: String,
}

/// Asks for a password reset link. 202 whatever the address, in the same time: the
/// account is looked up after the answer. The link (`/reset-password?token=…`) works once,
/// for 30 minutes, and serves at most 5 refused tries; a newer link never voids one
/// already sent (using one voids the others); at most 5 reset mails go to an address an
/// hour. An account made through a provider sets its first password this way.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "email", request_body = ForgotBody, responses(
    (status = 202),
    (status = 429, description = "`rate_limited`: 30 requests per client address in 15 minutes", body = ErrorBody),
))]
async fn forgot(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<ForgotBody>,
) -> Result<StatusCode> {
    email::forgot(&state, &ctx, &body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    token: String,
    new_password: String,
    /// `totp`, `backup_code` (with `code`) or `webauthn` (with `challenge_id` and
    /// `credential`, after `POST /auth/password/reset/webauthn`): required when the account
    /// has two-factor authentication and a verified address.
    method: Option<String>,
    code: Option<String>,
    challenge_id: Option<String>,
    /// The PublicKeyCredential JSON answering the reset's WebAuthn request.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// Sets a new password from a reset link. A reset never goes around the second factor:
/// an account with 2FA and a verified address proves one (TOTP, backup code, or a
/// security key or passkey). Every session, trusted device, pending email link and device
/// sign-in is voided (API tokens stay), the address counts as verified, and a
/// `password_reset` event (and alert) is recorded. The link is checked before anything
/// else and serves at most 5 refused tries (a wrong or missing factor, a refused
/// password); then it is void. An account whose address was never verified is
/// reclaimed: no factor is asked, and every factor, backup code, API token, trusted
/// device, provider link and pending link set before is removed (`account_reclaimed`).
#[utoipa::path(post, path = "/auth/password/reset", tag = "email", request_body = ResetBody, responses(
    (status = 204),
    (status = 400, description = "`invalid_token`: unknown, used, expired, voided, out of tries, or the account is disabled", body = ErrorBody),
    (status = 401, description = "`mfa_required` with `methods` (send `method` and `code`, or `challenge_id` and `credential`), or `invalid_code`", body = ErrorBody),
    (status = 422, description = "`password_policy`, as for a change (history included)", body = ErrorBody),
    (status = 429, description = "`rate_limited`: 30 tries per client address in 15 minutes; wrong codes count against the account like a sign-in's", body = ErrorBody),
))]
async fn reset(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<StatusCode> {
    let input = email::ResetInput {
        token: body.token,
        new_password: Password::new(body.new_password),
        method: body.method,
        code: body.code,
        challenge_id: body.challenge_id,
        credential: body.credential,
    };
    email::reset(&state, &ctx, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct ResetChallenge {
    challenge_id: String,
    /// PublicKeyCredentialRequestOptions JSON for `navigator.credentials.get`.
    #[schema(value_type = Object)]
    options: serde_json::Value,
}

/// The security-key or passkey step of a reset (`method: "webauthn"`), so that an account
/// whose factor is a key can recover: a request for any of the account's keys. Counts as
/// one of the link's tries.
#[utoipa::path(post, path = "/auth/password/reset/webauthn", tag = "email", request_body = TokenBody, responses(
    (status = 200, body = ResetChallenge),
    (status = 400, description = "`invalid_token`, or the account has no key", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody),
))]
async fn reset_webauthn(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<axum::Json<ResetChallenge>> {
    let (challenge_id, options) = email::start_reset_webauthn(&state, &ctx, &body.token).await?;
    let options = serde_json::to_value(options).map_err(crate::error::Error::internal)?;
    Ok(axum::Json(ResetChallenge { challenge_id, options }))
}

/// "This wasn't me", from an alert's link (`/lock?token=…`, 7 days, single use; it works
/// on a disabled account too): every session, trusted device and API token of the account
/// is revoked; every pending link and code is voided (email verification and change,
/// earlier reset links, device sign-ins approved or not: their poll answers
/// `access_denied`, and workspace invitations the account sent); second factors, passkeys,
/// provider links and the workspace members the account brought in (added, or by its
/// invitation) in the 7 days before are removed; the password stops working (whoever changed something may know
/// it), and a reset link is mailed to set a new one. The lock link of an `email_changed`
/// alert (sent to the old address) also puts that address back, and the reset link goes
/// there. Older passkeys and linked providers still sign in.
#[utoipa::path(post, path = "/auth/lock", tag = "email", request_body = TokenBody, responses(
    (status = 204),
    (status = 400, description = "`invalid_token`", body = ErrorBody),
))]
async fn lock(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<StatusCode> {
    email::lock(&state, &ctx, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeBody {
    email: String,
}

/// Asks to change the account's address: a confirmation link goes to the new address (the
/// change happens when it is used) and a notice with a lock link to the old one; when the
/// change happens, the old address gets an `email_changed` alert whose lock link puts it
/// back. Needs a recent sign-in. A lock, a reset or a disable voids the pending link.
#[utoipa::path(post, path = "/me/email", tag = "email", security(("bearer" = [])), request_body = ChangeBody, responses(
    (status = 202),
    (status = 400, description = "not an address, or the account's own", body = ErrorBody),
    (status = 403, description = "`reauth_required` or `session_required`", body = ErrorBody),
    (status = 429, description = "`rate_limited`: 5 confirmation mails per address and hour", body = ErrorBody),
))]
async fn change(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<StatusCode> {
    email::request_change(&state, &caller, &body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Mails another confirmation link to the account's address (nothing when it is
/// confirmed already).
#[utoipa::path(post, path = "/me/email/verify/resend", tag = "email", security(("bearer" = [])), responses(
    (status = 202), (status = 401, body = ErrorBody),
))]
async fn resend(State(state): State<AppState>, Auth(caller): Auth) -> Result<StatusCode> {
    email::resend_verification(&state, &caller).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Notifications {
    /// Mail when the account signs in from a device not seen before. Every other alert
    /// (password, factors, backup codes, API tokens, providers, email) always goes out.
    new_sign_in: bool,
}

/// The new-sign-in alert switch.
#[utoipa::path(get, path = "/me/notifications", tag = "email", security(("bearer" = [])), responses(
    (status = 200, body = Notifications), (status = 401, body = ErrorBody),
))]
async fn get_notifications(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<Notifications>> {
    Ok(axum::Json(Notifications { new_sign_in: account::new_sign_in_alerts(&state, &caller).await? }))
}

/// Turns the new-sign-in alert on or off. Turning it off is a sensitive action (a recent
/// sign-in) and is itself alerted (`notifications_changed`).
#[utoipa::path(put, path = "/me/notifications", tag = "email", security(("bearer" = [])), request_body = Notifications, responses(
    (status = 200, body = Notifications), (status = 401, body = ErrorBody),
    (status = 403, description = "`reauth_required` (turning it off) or `session_required`", body = ErrorBody),
))]
async fn put_notifications(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiJson(body): ApiJson<Notifications>,
) -> Result<axum::Json<Notifications>> {
    account::set_new_sign_in_alerts(&state, &caller, &ctx, body.new_sign_in).await?;
    Ok(axum::Json(body))
}
