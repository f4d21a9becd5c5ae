//! Setting a workspace's 2FA policy: a sensitive action, refused to an owner who would
//! not qualify themselves, and mailed to every member it now holds back.

use crate::domain::mail;
use crate::domain::workspace::{Membership, PolicyError, PolicyRequest, WorkspaceMember, WorkspacePolicy};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::PolicyUpdate;

use super::super::Caller;
use super::require_manager;

pub async fn set(state: &AppState, caller: &Caller, by: &Membership, asked: PolicyRequest) -> Result<WorkspacePolicy> {
    require_manager(by)?;
    caller.require_recent_auth(state)?;
    let now = state.clock.now();
    let workspace = by.workspace.name.clone();
    let security_page = format!("{}/security#twofa-h", state.config.public_url);
    let decide = |current: &WorkspacePolicy, members: &[WorkspaceMember]| -> Result<PolicyUpdate> {
        let next = current.changed(asked, now).map_err(|PolicyError::DeadlineTooFar| {
            Error::InvalidRequest("enforce_at may be at most 90 days ahead".into())
        })?;
        if next.require_2fa && !next.accepted_methods.accept(&caller.account.factors) {
            return Err(Error::Enable2faFirst);
        }
        let notices = if current.tightened_by(&next) {
            let deadline = next.enforce_at.map(crate::domain::workspace::events::rfc3339).unwrap_or_default();
            members
                .iter()
                .filter(|m| !next.satisfied_by(&m.factors))
                .map(|m| {
                    let accepts = next.accepted_methods.describe();
                    mail::workspace_policy_notice(&m.email, &workspace, accepts, &deadline, &security_page)
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(PolicyUpdate { policy: next, notices })
    };
    let policy = state.store.update_workspace_policy(&by.workspace.id, &caller.user_id, now, decide).await??;
    state.mail_wake.notify_one();
    Ok(policy)
}
