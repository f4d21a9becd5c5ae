//! `/me/trusted-devices`: devices that skip the second factor.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::device::Device;
use crate::domain::location::Location;
use crate::error::Result;
use crate::service::trusted_devices;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiPath, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, revoke_all)).routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
pub struct TrustedDeviceView {
    id: String,
    device: Device,
    ip: String,
    location: Location,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// True when the calling session signed in from this device.
    current: bool,
}

/// Devices that skip 2FA until `expires_at` (30 days by default), most recently used first.
/// A password change, turning 2FA off, or an admin reset revokes them all.
#[utoipa::path(get, path = "/me/trusted-devices", tag = "sessions", security(("bearer" = [])), responses(
    (status = 200, body = [TrustedDeviceView]), (status = 401, body = ErrorBody),
))]
async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<Vec<TrustedDeviceView>>> {
    let rows = trusted_devices::list(&state, &caller).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|d| TrustedDeviceView {
                current: caller.session().and_then(|s| s.trusted_device_id.as_deref()) == Some(d.id.as_str()),
                id: d.id,
                device: d.device,
                ip: d.ip,
                location: d.location,
                created_at: d.created_at,
                last_used_at: d.last_used_at,
                expires_at: d.expires_at,
            })
            .collect(),
    ))
}

/// Revokes one trusted device: its next sign-in asks for the second factor again.
#[utoipa::path(delete, path = "/me/trusted-devices/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path)), responses(
    (status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn revoke(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    trusted_devices::revoke(&state, &caller, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every trusted device of the account.
#[utoipa::path(delete, path = "/me/trusted-devices", tag = "sessions", security(("bearer" = [])), responses(
    (status = 204), (status = 401, body = ErrorBody),
))]
async fn revoke_all(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
) -> Result<StatusCode> {
    trusted_devices::revoke_all(&state, &caller, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
