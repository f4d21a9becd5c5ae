//! `/me/security-events`: what changed the account's protection.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::location::Location;
use crate::error::Result;
use crate::service::events;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiQuery, Auth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `id` of the last event of the previous page.
    before: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SecurityEventView {
    id: String,
    at: DateTime<Utc>,
    /// `password_changed`, `2fa_enabled`, `2fa_disabled`, `factor_added`, `factor_removed`,
    /// `backup_codes_regenerated`, `backup_code_used`, `session_revoked`, `locked_out`,
    /// `webauthn_counter_regression`, `trusted_device_revoked`, `provider_linked`,
    /// `provider_unlinked`, `account_reclaimed`, `account_disabled`, `account_enabled`
    /// (the last two by an operator, from the command line).
    kind: String,
    ip: Option<String>,
    user_agent: Option<String>,
    location: Location,
    detail: Option<String>,
}

/// Security events, newest first, a page at a time.
#[utoipa::path(get, path = "/me/security-events", tag = "history", security(("bearer" = [])), params(EventsQuery), responses(
    (status = 200, body = [SecurityEventView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
))]
async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<axum::Json<Vec<SecurityEventView>>> {
    let rows = events::list(&state, &caller, q.limit.unwrap_or(50), q.before.as_deref()).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|e| SecurityEventView {
                id: e.id,
                at: e.at,
                kind: e.kind,
                ip: e.ip,
                user_agent: e.user_agent,
                location: e.location,
                detail: e.detail,
            })
            .collect(),
    ))
}
