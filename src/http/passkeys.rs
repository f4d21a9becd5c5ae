//! `/auth/passkey/*`: signing in with a passkey alone.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::error::{Error, Result};
use crate::service::passkeys::{self, PasskeyInput};
use crate::state::AppState;

use super::auth::{DeviceClaim, LoginResponse};
use super::error::ErrorBody;
use super::extract::{ApiJson, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start)).routes(routes!(finish))
}

#[derive(Serialize, ToSchema)]
pub struct StartResponse {
    /// Send back with the assertion to `passkey/finish` within 5 minutes; it answers once.
    challenge_id: String,
    /// PublicKeyCredentialRequestOptions JSON for `navigator.credentials.get`: no
    /// `allowCredentials` (the authenticator offers its passkeys for this site) and
    /// `userVerification: "required"`. Add `mediation: "conditional"` for the browser's
    /// autofill, or leave it out for a button.
    #[schema(value_type = Object)]
    options: serde_json::Value,
}

/// Starts a passkey sign-in. No account is named: the browser lets its user pick one of
/// this site's passkeys.
#[utoipa::path(post, path = "/auth/passkey/start", tag = "auth", responses(
    (status = 200, body = StartResponse),
    (status = 429, description = "`rate_limited`: at most 300 passkey sign-ins started per client address in 15 minutes", body = ErrorBody),
    (status = 503, description = "`webauthn_unavailable`: the public URL names no domain", body = ErrorBody),
))]
async fn start(State(state): State<AppState>, Client(ctx): Client) -> Result<axum::Json<StartResponse>> {
    let (challenge_id, options) = passkeys::start(&state, &ctx).await?;
    Ok(axum::Json(StartResponse { challenge_id, options: serde_json::to_value(options).map_err(Error::internal)? }))
}

#[derive(Deserialize, ToSchema)]
pub struct FinishBody {
    challenge_id: String,
    /// The PublicKeyCredential from `navigator.credentials.get`, with `response.userHandle`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
    /// Ask for a trusted-device token, as at `POST /auth/login`.
    #[serde(default)]
    remember_device: bool,
    device: Option<DeviceClaim>,
}

/// Signs in with a passkey. User verification makes it both factors: no second step, and
/// it meets a workspace's 2FA requirement. Login history records method `passkey`.
#[utoipa::path(post, path = "/auth/passkey/finish", tag = "auth", request_body = FinishBody, responses(
    (status = 200, description = "`{status: \"ok\", token, session_id, trusted_device_token?}`", body = LoginResponse),
    (status = 400, description = "a credential that is not a PublicKeyCredential", body = ErrorBody),
    (status = 401, description = "`invalid_credentials`, the same for an unknown credential, a security key that is not a passkey, \
a user handle of another account, a used or expired `challenge_id`, a missing user verification, a bad signature, \
a counter that went backwards (also a `webauthn_counter_regression` security event) and a disabled account", body = ErrorBody),
    (status = 429, description = "`rate_limited`: every attempt counts, before it is checked, against the client address and the \
passkey's account, exactly as wrong passwords do (`POST /auth/login`)", body = ErrorBody),
))]
async fn finish(
    State(state): State<AppState>,
    Client(ctx): Client,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<axum::Json<LoginResponse>> {
    let credential: PublicKeyCredential =
        serde_json::from_value(body.credential).map_err(|e| Error::InvalidRequest(format!("credential: {e}")))?;
    let (device_kind, device_name) = body.device.map_or((None, None), |d| (d.kind, d.name));
    let input = PasskeyInput {
        challenge_id: body.challenge_id,
        credential,
        remember_device: body.remember_device,
        device_kind,
        device_name,
    };
    Ok(axum::Json(passkeys::finish(&state, &ctx, input).await?.into()))
}
