//! Setting a workspace's 2FA policy: a sensitive action, refused to an owner who would
//! not qualify themselves, and mailed to every member it now holds back.

use crate::domain::mail;
use crate::domain::workspace::{Membership, PolicyError, PolicyRequest, WorkspaceMember, WorkspacePolicy};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::PolicyUpdate;

use super::super::Caller;
use super::super::rate_limit::{self, POLICY_NOTICES};
use super::require_manager;

pub async fn set(state: &AppState, caller: &Caller, by: &Membership, asked: PolicyRequest) -> Result<WorkspacePolicy> {
    require_manager(by)?;
    caller.require_recent_auth(state)?;
    let now = state.clock.now();
    let workspace = by.workspace.name.clone();
    let security_page = format!("{}/security#twofa-h", state.config.public_url);
    // Each tightening mails every member who does not qualify; an owner switching the
    // policy off and on must not turn that into a way to flood them. Judged on the
    // policy the gate read: the cap is about mail, the rules below read it under the lock.
    let projected = by.workspace.policy.changed(asked, now).ok();
    let may_mail = match projected.filter(|p| by.workspace.policy.tightened_by(p)) {
        None => true,
        Some(_) => {
            let key = format!("policy-notices:{}", by.workspace.id);
            match rate_limit::reserve_one(state, &key, POLICY_NOTICES).await {
                Ok(counted) => {
                    counted.failed();
                    true
                }
                Err(Error::RateLimited { .. }) => false,
                Err(e) => return Err(e),
            }
        }
    };
    let decide = |current: &WorkspacePolicy, members: &[WorkspaceMember]| -> Result<PolicyUpdate> {
        let next = current.changed(asked, now).map_err(|PolicyError::DeadlineTooFar| {
            Error::InvalidRequest("enforce_at may be at most 90 days ahead".into())
        })?;
        if next.require_2fa && !next.accepted_methods.accept(&caller.account.factors) {
            return Err(Error::Enable2faFirst);
        }
        let notices = if may_mail && current.tightened_by(&next) {
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
