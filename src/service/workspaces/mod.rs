//! Workspaces and their 2FA policy. The policy locks the workspace, never the person's
//! own pages: enrolment must stay reachable for the member it locks out.
//!
//! `authorize` is the gate of every `/workspaces/{id}` route; the console's parts are
//! `members`, `policy`, `invitations` and `activity`.

pub mod activity;
pub mod invitations;
pub mod members;
pub mod policy;

use crate::domain::workspace::{Access, AccountPolicy, Membership, Plan, Workspace};
use crate::error::{Error, Result};
use crate::state::AppState;

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

/// `latchkey workspace add-owner`: the operator's recovery for a workspace whose owners
/// are gone or locked out.
pub async fn add_owner(state: &AppState, workspace_id: &str, user_id: &str, email: &str) -> Result<()> {
    if !state.store.make_owner(workspace_id, user_id, email, state.clock.now()).await? {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// A workspace of the caller's, with whether they may use it now and until when.
pub struct MyWorkspace {
    pub membership: Membership,
    pub access: Access,
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every workspace of the caller with whether they may use it now.
pub async fn list_mine(state: &AppState, caller: &Caller) -> Result<Vec<MyWorkspace>> {
    let memberships = state.store.memberships_of(&caller.user_id).await?;
    let now = state.clock.now();
    Ok(memberships
        .into_iter()
        .map(|membership| {
            let policy = membership.workspace.policy;
            let access = policy.access(&caller.account.factors, now);
            MyWorkspace { membership, access, deadline: policy.deadline(access) }
        })
        .collect())
}

/// The gate of every `/workspaces/{id}` route: 404 for non-members, 403
/// `workspace_requires_2fa` for members the policy locks out (a member in grace passes).
pub async fn authorize(state: &AppState, caller: &Caller, workspace_id: &str) -> Result<Membership> {
    let member = membership(state, caller, workspace_id).await?;
    if member.workspace.policy.access(&caller.account.factors, state.clock.now()) == Access::TwoFactorRequired {
        return Err(Error::WorkspaceRequires2fa);
    }
    Ok(member)
}

/// Membership alone, with no policy check: for the one thing a locked-out member may do
/// in the workspace, leave it.
pub async fn membership(state: &AppState, caller: &Caller, workspace_id: &str) -> Result<Membership> {
    caller.require_enrolment(state)?;
    state.store.membership(workspace_id, &caller.user_id).await?.ok_or(Error::NotFound)
}

/// What the caller's workspaces unlock (the best plan among them).
pub async fn account_policy(state: &AppState, user_id: &str) -> Result<AccountPolicy> {
    let memberships = state.store.memberships_of(user_id).await?;
    Ok(AccountPolicy::fold_from(memberships.iter().map(|m| m.workspace.plan)))
}

/// Only owners and admins see and run the console.
fn require_manager(by: &Membership) -> Result<()> {
    if by.role.manages() { Ok(()) } else { Err(Error::Forbidden) }
}
