//! `/workspaces/{id}/members`: the console's member list, adding, role changes, removal.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::workspace::roles::MemberChange;
use crate::domain::workspace::{Access, Role};
use crate::error::{Error, Result};
use crate::service::workspaces::members::{self, MemberStatus, TwoFactorFilter};
use crate::state::AppState;

use super::super::error::ErrorBody;
use super::super::extract::{ApiJson, ApiPath, ApiQuery};
use super::Scope;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_member, list_members)).routes(routes!(set_role, remove_member))
}

#[derive(Deserialize, ToSchema)]
pub struct AddMemberBody {
    email: String,
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    user_id: String,
    email: String,
    role: Role,
    two_factor_enabled: bool,
    /// `totp`, `webauthn` (security keys and passkeys).
    methods: Vec<&'static str>,
    /// Under the workspace's policy: `ok`, `grace` or `2fa_required`.
    access: Access,
}

impl From<MemberStatus> for MemberView {
    fn from(s: MemberStatus) -> Self {
        let m = s.member;
        Self {
            two_factor_enabled: m.factors.enabled(),
            methods: m.factors.methods(),
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            access: s.access,
        }
    }
}

/// Adds an existing account to the workspace. Owners and admins only; only an owner
/// may add another owner.
#[utoipa::path(post, path = "/workspaces/{id}/members", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = AddMemberBody, responses(
    (status = 201, body = MemberView),
    (status = 403, description = "`forbidden` or `workspace_requires_2fa`", body = ErrorBody),
    (status = 404, description = "no such workspace, or no account with that email", body = ErrorBody),
    (status = 409, description = "`already_member`", body = ErrorBody),
))]
async fn add_member(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiJson(body): ApiJson<AddMemberBody>,
) -> Result<(StatusCode, axum::Json<MemberView>)> {
    let m = members::add(&state, &scope.caller, &scope.member, &body.email, body.role).await?;
    Ok((StatusCode::CREATED, axum::Json(m.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// `off`: only the members without a factor the policy accepts (under `any`: without
    /// 2FA); `on`: only those with one.
    two_factor: Option<String>,
}

/// Members with their factors and access, so owners see who is not compliant. Owners and
/// admins only.
#[utoipa::path(get, path = "/workspaces/{id}/members", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path), MembersQuery), responses(
    (status = 200, body = [MemberView]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn list_members(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> Result<axum::Json<Vec<MemberView>>> {
    let filter = match q.two_factor.as_deref() {
        None => None,
        Some("on") => Some(TwoFactorFilter::On),
        Some("off") => Some(TwoFactorFilter::Off),
        Some(_) => return Err(Error::InvalidRequest("two_factor must be on or off".into())),
    };
    let rows = members::list(&state, &scope.member, filter).await?;
    Ok(axum::Json(rows.into_iter().map(MemberView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct RoleBody {
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct RoleView {
    user_id: String,
    role: Role,
}

/// Changes a member's role. Owners and admins; only an owner makes or unmakes an owner;
/// 409 `last_owner` when it would leave the workspace without one.
#[utoipa::path(put, path = "/workspaces/{id}/members/{user_id}", tag = "workspaces", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = RoleBody, responses(
    (status = 200, body = RoleView),
    (status = 403, description = "`forbidden` or `workspace_requires_2fa`", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "`last_owner`", body = ErrorBody),
))]
async fn set_role(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<axum::Json<RoleView>> {
    let (_, user_id) = path;
    members::change(&state, &scope.caller, &scope.member, &user_id, MemberChange::SetRole(body.role)).await?;
    Ok(axum::Json(RoleView { user_id, role: body.role }))
}

/// Removes a member. Owners and admins (only an owner removes an owner); any member may
/// remove themselves, even one the policy locks out; 409 `last_owner` for the last owner.
#[utoipa::path(delete, path = "/workspaces/{id}/members/{user_id}", tag = "workspaces", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)), responses(
    (status = 204),
    (status = 403, description = "`forbidden` or `workspace_requires_2fa`", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "`last_owner`", body = ErrorBody),
))]
async fn remove_member(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    let (_, user_id) = path;
    members::change(&state, &scope.caller, &scope.member, &user_id, MemberChange::Remove).await?;
    Ok(StatusCode::NO_CONTENT)
}
