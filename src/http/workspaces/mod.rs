//! `/workspaces` and `/me/workspaces`. Every `/workspaces/{id}` route sits behind one
//! layer, [`require_access`], so no route — present or future — can forget the 2FA policy.
//! Its one exception is written there: a member may always leave.

mod activity;
mod invitations;
mod members;
mod policy;

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::{Extension, RequestPartsExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chrono::{DateTime, Utc};

use crate::domain::workspace::{AcceptedMethods, Access, Membership, Plan, Role, Workspace};
use crate::error::{Error, Result};
use crate::service::{Caller, workspaces};
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiJson, Auth};

pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    let scoped = OpenApiRouter::new()
        .routes(routes!(get_workspace))
        .merge(members::routes())
        .merge(policy::routes())
        .merge(invitations::routes())
        .merge(activity::routes())
        .route_layer(from_fn_with_state(state, require_access));
    OpenApiRouter::new()
        .routes(routes!(create_workspace))
        .routes(routes!(my_workspaces))
        .merge(invitations::accept_routes())
        .merge(scoped)
}

/// The member a `/workspaces/{id}` request comes from, once the gate let them through.
#[derive(Clone)]
pub(super) struct Scope {
    caller: Caller,
    member: Membership,
}

async fn require_access(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let caller = match parts.extract_with_state::<Auth, _>(&state).await {
        Ok(Auth(caller)) => caller,
        Err(e) => return e.into_response(),
    };
    let params: Path<HashMap<String, String>> = match parts.extract().await {
        Ok(p) => p,
        Err(e) => return Error::InvalidRequest(e.body_text()).into_response(),
    };
    let Some(id) = params.get("id") else {
        return Error::NotFound.into_response();
    };
    // A member may leave even while the policy locks them out: that is their way out.
    let leaving = parts.method == axum::http::Method::DELETE && params.get("user_id") == Some(&caller.user_id);
    let gate = if leaving {
        workspaces::membership(&state, &caller, id).await
    } else {
        workspaces::authorize(&state, &caller, id).await
    };
    match gate {
        Ok(member) => {
            parts.extensions.insert(Scope { caller, member });
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct WorkspaceView {
    id: String,
    name: String,
    plan: Plan,
    require_2fa: bool,
}

impl From<Workspace> for WorkspaceView {
    fn from(w: Workspace) -> Self {
        Self { id: w.id, name: w.name, plan: w.plan, require_2fa: w.policy.require_2fa }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateWorkspaceBody {
    name: String,
    /// Optional, and only the operator's default plan (`free` unless configured):
    /// any other is 403 `plan_not_allowed`. The operator changes plans with
    /// `latchkey workspace set-plan`.
    plan: Option<Plan>,
}

/// Creates a workspace; the caller becomes its owner.
#[utoipa::path(post, path = "/workspaces", tag = "workspaces", security(("bearer" = [])), request_body = CreateWorkspaceBody, responses(
    (status = 201, body = WorkspaceView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 403, description = "`plan_not_allowed`: a plan other than the server's default", body = ErrorBody),
))]
async fn create_workspace(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<CreateWorkspaceBody>,
) -> Result<(StatusCode, axum::Json<WorkspaceView>)> {
    let w = workspaces::create_for_user(&state, &caller, &body.name, body.plan).await?;
    Ok((StatusCode::CREATED, axum::Json(w.into())))
}

#[derive(Serialize, ToSchema)]
pub struct MyWorkspace {
    id: String,
    name: String,
    role: Role,
    plan: Plan,
    require_2fa: bool,
    /// `grace` until the policy's deadline, then `2fa_required` while the policy locks the
    /// caller out: enrol on the security page.
    access: Access,
    /// When a member in `grace` loses access; null otherwise.
    deadline: Option<DateTime<Utc>>,
}

/// The caller's workspaces and whether they may use each now. Always open, even to a
/// member that a policy locks out.
#[utoipa::path(get, path = "/me/workspaces", tag = "workspaces", security(("bearer" = [])), responses(
    (status = 200, body = [MyWorkspace]), (status = 401, body = ErrorBody),
))]
async fn my_workspaces(State(state): State<AppState>, Auth(caller): Auth) -> Result<axum::Json<Vec<MyWorkspace>>> {
    let rows = workspaces::list_mine(&state, &caller).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|w| MyWorkspace {
                id: w.membership.workspace.id,
                name: w.membership.workspace.name,
                role: w.membership.role,
                plan: w.membership.workspace.plan,
                require_2fa: w.membership.workspace.policy.require_2fa,
                access: w.access,
                deadline: w.deadline,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct WorkspaceDetail {
    id: String,
    name: String,
    plan: Plan,
    require_2fa: bool,
    accepted_methods: AcceptedMethods,
    enforce_at: Option<DateTime<Utc>>,
    /// The caller's role.
    role: Role,
}

/// A workspace, for its members. 403 `workspace_requires_2fa` while the policy locks the
/// caller out (as on every `/workspaces/{id}` route); 404 for non-members.
#[utoipa::path(get, path = "/workspaces/{id}", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = WorkspaceDetail),
    (status = 403, description = "`workspace_requires_2fa`", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
async fn get_workspace(Extension(scope): Extension<Scope>) -> axum::Json<WorkspaceDetail> {
    let w = scope.member.workspace;
    axum::Json(WorkspaceDetail {
        id: w.id,
        name: w.name,
        plan: w.plan,
        require_2fa: w.policy.require_2fa,
        accepted_methods: w.policy.accepted_methods,
        enforce_at: w.policy.enforce_at,
        role: scope.member.role,
    })
}
