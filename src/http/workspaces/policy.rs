//! `/workspaces/{id}/policy`: the 2FA requirement, its tier and its deadline.

use axum::Extension;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::workspace::{AcceptedMethods, PolicyRequest, WorkspacePolicy};
use crate::error::Result;
use crate::service::workspaces::policy;
use crate::state::AppState;

use super::super::error::ErrorBody;
use super::super::extract::ApiJson;
use super::Scope;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_policy, set_policy))
}

#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    require_2fa: bool,
    accepted_methods: AcceptedMethods,
    /// While the policy is on: when members without a qualifying factor lose access.
    enforce_at: Option<DateTime<Utc>>,
}

impl From<WorkspacePolicy> for PolicyView {
    fn from(p: WorkspacePolicy) -> Self {
        Self { require_2fa: p.require_2fa, accepted_methods: p.accepted_methods, enforce_at: p.enforce_at }
    }
}

/// The workspace's 2FA policy, for any member.
#[utoipa::path(get, path = "/workspaces/{id}/policy", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn get_policy(Extension(scope): Extension<Scope>) -> axum::Json<PolicyView> {
    axum::Json(scope.member.workspace.policy.into())
}

#[derive(Deserialize, ToSchema)]
pub struct PolicyBody {
    require_2fa: bool,
    /// `any` or `phishing_resistant`; left out: unchanged.
    accepted_methods: Option<AcceptedMethods>,
    /// RFC 3339, at most 90 days ahead; a past time means now. Left out: now when the
    /// policy turns on, unchanged while it stays on.
    enforce_at: Option<DateTime<Utc>>,
}

/// Sets the workspace's 2FA policy. Owners and admins only, with a recent sign-in, and
/// only once they have a factor the new policy accepts. Turning it on or narrowing it
/// mails every member it holds back.
#[utoipa::path(put, path = "/workspaces/{id}/policy", tag = "workspaces", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = PolicyBody, responses(
    (status = 200, body = PolicyView),
    (status = 400, description = "`invalid_request`: a deadline more than 90 days ahead", body = ErrorBody),
    (status = 403, description = "`forbidden`, `reauth_required`, `session_required` or `workspace_requires_2fa`", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "`enable_2fa_first`", body = ErrorBody),
))]
async fn set_policy(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<axum::Json<PolicyView>> {
    let asked = PolicyRequest {
        require_2fa: body.require_2fa,
        accepted_methods: body.accepted_methods,
        enforce_at: body.enforce_at,
    };
    let p = policy::set(&state, &scope.caller, &scope.member, asked).await?;
    Ok(axum::Json(p.into()))
}
