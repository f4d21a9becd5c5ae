//! `/workspaces/{id}/events`: who changed what in the workspace.

use axum::Extension;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::workspace::events::Detail;
use crate::error::Result;
use crate::service::workspaces::activity;
use crate::state::AppState;

use super::super::error::ErrorBody;
use super::super::extract::ApiQuery;
use super::Scope;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// 1 to 200; 50 when left out.
    limit: Option<u32>,
    /// The id of the last event of the previous page.
    before: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    id: String,
    at: DateTime<Utc>,
    /// Null for the operator's command line, or an account since deleted.
    actor_email: Option<String>,
    /// `member_added`, `member_removed`, `role_changed`, `policy_changed`,
    /// `invitation_sent`, `invitation_revoked`, `invitation_accepted`.
    kind: String,
    detail: Detail,
}

/// The workspace's activity, newest first. Owners and admins only.
#[utoipa::path(get, path = "/workspaces/{id}/events", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path), EventsQuery), responses(
    (status = 200, body = [EventView]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn list_events(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<axum::Json<Vec<EventView>>> {
    let rows = activity::list(&state, &scope.member, q.limit.unwrap_or(50), q.before.as_deref()).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|e| EventView { id: e.id, at: e.at, actor_email: e.actor_email, kind: e.kind, detail: e.detail })
            .collect(),
    ))
}
