//! `/workspaces/{id}/invitations` and `POST /invitations/accept`.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::workspace::{Invitation, Role};
use crate::error::Result;
use crate::service::workspaces::invitations;
use crate::state::AppState;

use super::super::error::ErrorBody;
use super::super::extract::{ApiJson, ApiPath, Auth};
use super::Scope;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_invitation, list_invitations)).routes(routes!(revoke_invitation))
}

/// Outside the workspace gate: the invitee is not a member yet.
pub(super) fn accept_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(accept_invitation))
}

#[derive(Deserialize, ToSchema)]
pub struct InviteBody {
    email: String,
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationSent {
    id: String,
}

/// Invites an address: a mail with a link `/invite?token=`, valid 7 days. The same
/// answer, in the same time, whether or not the address has an account or is a member.
/// Owners and admins; an `owner` invitation, owners only; at most 50 a day per
/// workspace, and at most 5 invitation mails an hour to one address (past that the
/// invitation is made but not mailed).
#[utoipa::path(post, path = "/workspaces/{id}/invitations", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = InviteBody, responses(
    (status = 202, body = InvitationSent),
    (status = 400, body = ErrorBody),
    (status = 403, description = "`forbidden` or `workspace_requires_2fa`", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 429, description = "`rate_limited`: the workspace's 50 a day", body = ErrorBody),
))]
async fn send_invitation(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, axum::Json<InvitationSent>)> {
    let id = invitations::send(&state, &scope.caller, &scope.member, &body.email, body.role).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(InvitationSent { id })))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    id: String,
    email: String,
    role: Role,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationView {
    fn from(i: Invitation) -> Self {
        Self { id: i.id, email: i.email, role: i.role, created_at: i.created_at, expires_at: i.expires_at }
    }
}

/// The invitations still pending, newest first. Owners and admins only.
#[utoipa::path(get, path = "/workspaces/{id}/invitations", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = [InvitationView]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn list_invitations(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Result<axum::Json<Vec<InvitationView>>> {
    let rows = invitations::pending(&state, &scope.member).await?;
    Ok(axum::Json(rows.into_iter().map(InvitationView::from).collect()))
}

/// Revokes a pending invitation: its link stops working. Owners and admins only.
#[utoipa::path(delete, path = "/workspaces/{id}/invitations/{invitation_id}", tag = "workspaces", security(("bearer" = [])),
    params(("id" = String, Path), ("invitation_id" = String, Path)), responses(
    (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn revoke_invitation(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    let (_, invitation_id) = path;
    invitations::revoke(&state, &scope.caller, &scope.member, &invitation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct AcceptBody {
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    workspace_id: String,
    /// The caller's role in the workspace (a member already keeps theirs).
    role: Role,
}

/// Accepts an invitation for the signed-in account, whose verified email must be the
/// invited address. Accepting voids the address's other invitations to the workspace.
/// Joining an enforcing workspace without a qualifying factor is allowed: access follows
/// the policy.
#[utoipa::path(post, path = "/invitations/accept", tag = "workspaces", security(("bearer" = [])), request_body = AcceptBody, responses(
    (status = 200, body = Accepted),
    (status = 400, description = "`invalid_token`: expired, revoked or used", body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, description = "`invitation_mismatch`: another or an unverified address", body = ErrorBody),
))]
async fn accept_invitation(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<axum::Json<Accepted>> {
    let (workspace_id, role) = invitations::accept(&state, &caller, &body.token).await?;
    Ok(axum::Json(Accepted { workspace_id, role }))
}
