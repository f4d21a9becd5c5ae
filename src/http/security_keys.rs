//! `/me/2fa/webauthn/*`: security keys and passkeys.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::error::{Error, Result};
use crate::service::second_factor::security_keys;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_finish))
        .routes(routes!(list))
        .routes(routes!(delete))
}

#[derive(Deserialize, ToSchema)]
pub struct StartBody {
    /// A label such as "YubiKey 5C".
    name: String,
    /// Register a passkey: a discoverable credential with user verification required,
    /// which can also sign in alone (`POST /auth/passkey/start`).
    #[serde(default)]
    passkey: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StartResponse {
    /// Send back with the credential to `register/finish` within 5 minutes.
    challenge_id: String,
    /// PublicKeyCredentialCreationOptions JSON for `navigator.credentials.create`.
    #[schema(value_type = Object)]
    options: serde_json::Value,
}

/// Starts adding a security key or a passkey. Team plans only (one of the account's
/// workspaces on the `team` plan) unless the operator set `webauthn_plans = "all"`.
/// Credentials already registered are excluded.
#[utoipa::path(post, path = "/me/2fa/webauthn/register/start", tag = "two-factor", security(("bearer" = [])), request_body = StartBody, responses(
    (status = 200, body = StartResponse),
    (status = 403, description = "`plan_required`, or `reauth_required` (a new factor needs a recent sign-in)", body = ErrorBody),
    (status = 409, description = "`limit_reached`: 10 keys per account", body = ErrorBody),
    (status = 503, description = "`webauthn_unavailable`: the public URL names no domain", body = ErrorBody),
))]
async fn register_start(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<axum::Json<StartResponse>> {
    let (challenge_id, options) = security_keys::start_registration(&state, &caller, &body.name, body.passkey).await?;
    Ok(axum::Json(StartResponse { challenge_id, options: serde_json::to_value(options).map_err(Error::internal)? }))
}

#[derive(Deserialize, ToSchema)]
pub struct FinishBody {
    challenge_id: String,
    /// The PublicKeyCredential from `navigator.credentials.create`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct NewKey {
    id: String,
    name: String,
    created_at: DateTime<Utc>,
    /// Registered as a passkey: it can sign in alone.
    passkey: bool,
    /// The authenticator may sync it to other devices (a multi-device passkey).
    backup_eligible: bool,
    /// It is synced now.
    backed_up: bool,
    /// Ten backup codes when this key turned 2FA on, else `null`.
    backup_codes: Option<Vec<String>>,
}

/// Finishes adding a security key or passkey.
#[utoipa::path(post, path = "/me/2fa/webauthn/register/finish", tag = "two-factor", security(("bearer" = [])), request_body = FinishBody, responses(
    (status = 201, body = NewKey),
    (status = 400, description = "`challenge_expired` or a malformed credential", body = ErrorBody),
    (status = 403, description = "`reauth_required`: checked again at the finish", body = ErrorBody),
    (status = 409, description = "`limit_reached`: 10 keys per account", body = ErrorBody),
    (status = 422, description = "`invalid_credential`: the key's response did not verify", body = ErrorBody),
))]
async fn register_finish(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<(StatusCode, axum::Json<NewKey>)> {
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(body.credential).map_err(|e| Error::InvalidRequest(format!("credential: {e}")))?;
    let (key, backup_codes) =
        security_keys::finish_registration(&state, &caller, &ctx, &body.challenge_id, &credential).await?;
    let view = NewKey {
        id: key.id,
        name: key.name,
        created_at: key.created_at,
        passkey: key.passkey,
        backup_eligible: key.backup_eligible,
        backed_up: key.backed_up,
        backup_codes,
    };
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    id: String,
    name: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    passkey: bool,
    backup_eligible: bool,
    backed_up: bool,
}

/// The account's security keys and passkeys.
#[utoipa::path(get, path = "/me/2fa/webauthn", tag = "two-factor", security(("bearer" = [])), responses(
    (status = 200, body = [KeyView]), (status = 401, body = ErrorBody),
))]
async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<Vec<KeyView>>> {
    let keys = security_keys::list(&state, &caller).await?;
    Ok(axum::Json(
        keys.into_iter()
            .map(|k| KeyView {
                id: k.id,
                name: k.name,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                passkey: k.passkey,
                backup_eligible: k.backup_eligible,
                backed_up: k.backed_up,
            })
            .collect(),
    ))
}

/// Removes a security key or passkey while another factor remains.
#[utoipa::path(delete, path = "/me/2fa/webauthn/{id}", tag = "two-factor", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204),
    (status = 403, description = "`reauth_required`", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "`last_factor`: checked under the account's lock, so of two removals racing for the last two factors one is refused; a removal also forgets every trusted device. \
`last_sign_in_method`: the last passkey of an account with no password and no linked provider", body = ErrorBody),
))]
async fn delete(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    security_keys::delete(&state, &caller, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
