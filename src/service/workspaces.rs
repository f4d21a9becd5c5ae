//! Workspaces and their 2FA policy. The policy locks the workspace, never the person's
//! own pages: enrolment must stay reachable for the member it locks out.

use crate::domain::email::Email;
use crate::domain::workspace::{self, Access, AccountPolicy, Plan, Role, WorkspacePolicy};
use crate::domain::workspace::{Membership, Workspace, WorkspaceMember};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::StoreError;

use super::Caller;

const MAX_NAME: usize = 100;

pub async fn create(state: &AppState, owner_id: &str, name: &str, plan: Plan) -> Result<Workspace> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(format!("name must be 1 to {MAX_NAME} printable characters")));
    }
    Ok(state.store.create_workspace(name, plan, owner_id, state.clock.now()).await?)
}

/// `POST /workspaces`: on the operator's default plan, and no other: a plan is not
/// something a user may pick for themselves.
pub async fn create_for_user(state: &AppState, caller: &Caller, name: &str, plan: Option<Plan>) -> Result<Workspace> {
    caller.require_enrolment(state)?;
    let default = state.config.settings.default_workspace_plan;
    if plan.is_some_and(|p| p != default) {
        return Err(Error::PlanNotAllowed);
    }
    create(state, &caller.user_id, name, default).await
}

/// `latchkey workspace list`: every workspace with its first owner's email.
pub async fn list_all(state: &AppState) -> Result<Vec<(Workspace, Option<String>)>> {
    Ok(state.store.all_workspaces().await?)
}

/// `latchkey workspace set-plan`: the operator's call.
pub async fn set_plan(state: &AppState, workspace_id: &str, plan: Plan) -> Result<()> {
    if !state.store.set_workspace_plan(workspace_id, plan).await? {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Every workspace of the caller with whether they may use it now.
pub async fn list_mine(state: &AppState, caller: &Caller) -> Result<Vec<(Membership, Access)>> {
    let has_2fa = state.store.factors(&caller.user_id).await?.enabled();
    let memberships = state.store.memberships_of(&caller.user_id).await?;
    Ok(memberships
        .into_iter()
        .map(|m| {
            let access = workspace::access(m.workspace.policy, has_2fa);
            (m, access)
        })
        .collect())
}

/// The gate of every `/workspaces/{id}` route: 404 for non-members, 403
/// `workspace_requires_2fa` for members the policy locks out.
pub async fn authorize(state: &AppState, caller: &Caller, workspace_id: &str) -> Result<Membership> {
    caller.require_enrolment(state)?;
    let member = state.store.membership(workspace_id, &caller.user_id).await?.ok_or(Error::NotFound)?;
    if member.workspace.policy.require_2fa {
        let has_2fa = state.store.factors(&caller.user_id).await?.enabled();
        if workspace::access(member.workspace.policy, has_2fa) != Access::Ok {
            return Err(Error::WorkspaceRequires2fa);
        }
    }
    Ok(member)
}

pub async fn add_member(state: &AppState, by: &Membership, email: &str, role: Role) -> Result<WorkspaceMember> {
    if !by.role.may_grant(role) {
        return Err(Error::Forbidden);
    }
    let email = Email::parse(email).map_err(Error::InvalidRequest)?;
    let user = state.store.user_by_email(&email).await?.ok_or(Error::NotFound)?;
    match state.store.add_member(&by.workspace.id, &user.id, role, state.clock.now()).await {
        Err(StoreError::Conflict) => return Err(Error::AlreadyMember),
        other => other?,
    }
    let two_factor_enabled = state.store.factors(&user.id).await?.enabled();
    Ok(WorkspaceMember { user_id: user.id, email: user.email, role, two_factor_enabled })
}

pub async fn members(state: &AppState, by: &Membership) -> Result<Vec<WorkspaceMember>> {
    if !by.role.manages() {
        return Err(Error::Forbidden);
    }
    Ok(state.store.members(&by.workspace.id).await?)
}

pub async fn set_policy(
    state: &AppState,
    caller: &Caller,
    by: &Membership,
    policy: WorkspacePolicy,
) -> Result<Workspace> {
    if !by.role.manages() {
        return Err(Error::Forbidden);
    }
    if policy.require_2fa && !state.store.factors(&caller.user_id).await?.enabled() {
        return Err(Error::Enable2faFirst);
    }
    state.store.set_workspace_policy(&by.workspace.id, policy).await?;
    Ok(Workspace { policy, ..by.workspace.clone() })
}

/// The strictest policy and best plan over all of a person's workspaces.
pub async fn account_policy(state: &AppState, user_id: &str) -> Result<AccountPolicy> {
    let memberships = state.store.memberships_of(user_id).await?;
    Ok(AccountPolicy::fold_from(memberships.iter().map(|m| (m.workspace.policy, m.workspace.plan))))
}
