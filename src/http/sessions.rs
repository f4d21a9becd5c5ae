//! `/me/sessions`: where the account is signed in.

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
use crate::service::sessions;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiPath, Auth, Client, SessionAuth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(revoke)).routes(routes!(revoke_others))
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    id: String,
    device: Device,
    ip: String,
    location: Location,
    created_at: DateTime<Utc>,
    /// Written at most once a minute per session.
    last_activity_at: DateTime<Utc>,
    /// True for the session making this request.
    current: bool,
    /// How the session was proven (RFC 8176): `pwd` password, `otp` TOTP or backup code,
    /// `hwk` security key or passkey, `user` the authenticator verified the user, `fed` a
    /// provider, and `mfa` when two distinct factors were proven. A re-authentication adds
    /// its method; a device sign-in carries its approver's.
    #[schema(value_type = Vec<String>, example = json!(["pwd", "otp", "mfa"]))]
    amr: Vec<&'static str>,
    /// When the session's latest proof happened (sign-in, re-authentication or step-up).
    auth_time: DateTime<Utc>,
}

/// Active sessions, newest activity first.
#[utoipa::path(get, path = "/me/sessions", tag = "sessions", security(("bearer" = [])), responses(
    (status = 200, body = [SessionView]), (status = 401, body = ErrorBody),
))]
async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<Vec<SessionView>>> {
    let rows = sessions::list(&state, &caller).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|s| SessionView {
                current: s.id == caller.credential_id(),
                id: s.id,
                device: s.device,
                ip: s.ip,
                location: s.location,
                created_at: s.created_at,
                last_activity_at: s.last_activity_at,
                amr: s.amr.values(),
                auth_time: s.auth_at,
            })
            .collect(),
    ))
}

/// Signs one session out; its token is refused from the next request on. Another session
/// than the caller's own needs a recent sign-in (a stale stolen session must not sign the
/// owner out).
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path)), responses(
    (status = 204), (status = 401, body = ErrorBody),
    (status = 403, description = "`reauth_required` for another session without a recent sign-in", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
async fn revoke(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    sessions::revoke(&state, &caller, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct RevokedCount {
    revoked: u64,
}

/// Signs out every session but the calling one; needs a recent sign-in.
#[utoipa::path(post, path = "/me/sessions/revoke-others", tag = "sessions", security(("bearer" = [])), responses(
    (status = 200, body = RevokedCount), (status = 401, body = ErrorBody),
    (status = 403, description = "`reauth_required`", body = ErrorBody),
))]
async fn revoke_others(
    State(state): State<AppState>,
    SessionAuth(caller): SessionAuth,
    Client(ctx): Client,
) -> Result<axum::Json<RevokedCount>> {
    let revoked = sessions::revoke_others(&state, &caller, &ctx).await?;
    Ok(axum::Json(RevokedCount { revoked }))
}
