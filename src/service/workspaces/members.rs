//! The console's members: who is in, with which factors and access; adding, role changes
//! and removal under the last-owner rule.

use crate::domain::email::Email;
use crate::domain::workspace::events::{Detail, EventKind, NewEvent};
use crate::domain::workspace::roles::{MemberChange, Refusal};
use crate::domain::workspace::{Access, Membership, Role, WorkspaceMember};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{MemberChanged, StoreError};

use super::super::Caller;
use super::require_manager;

/// A member as the console shows them: with their access under the workspace's policy.
pub struct MemberStatus {
    pub member: WorkspaceMember,
    pub access: Access,
}

/// `two_factor=on|off` of the members list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorFilter {
    /// Members with a factor the policy accepts (under `any`: with 2FA).
    On,
    Off,
}

pub async fn add(state: &AppState, caller: &Caller, by: &Membership, email: &str, role: Role) -> Result<MemberStatus> {
    if !by.role.may_grant(role) {
        return Err(Error::Forbidden);
    }
    let email = Email::parse(email).map_err(Error::InvalidRequest)?;
    let user = state.store.user_by_email(&email).await?.ok_or(Error::NotFound)?;
    let now = state.clock.now();
    let event = NewEvent {
        workspace_id: &by.workspace.id,
        actor_id: Some(&caller.user_id),
        kind: EventKind::MemberAdded,
        detail: Detail::member(&user.email, role),
        at: now,
    };
    match state.store.add_member(&by.workspace.id, &user.id, role, event, caller.acting()).await {
        Err(StoreError::Conflict) => return Err(Error::AlreadyMember),
        other => other?,
    }
    let factors = state.store.factors(&user.id).await?;
    let access = by.workspace.policy.access(&factors, now);
    Ok(MemberStatus { member: WorkspaceMember { user_id: user.id, email: user.email, role, factors }, access })
}

pub async fn list(state: &AppState, by: &Membership, filter: Option<TwoFactorFilter>) -> Result<Vec<MemberStatus>> {
    require_manager(by)?;
    let policy = by.workspace.policy;
    // "Without 2FA" means without a factor this workspace accepts, whether or not it
    // requires one yet: the list an owner reads before turning the policy on.
    let qualifies = |m: &WorkspaceMember| policy.accepted_methods.accept(&m.factors);
    let now = state.clock.now();
    Ok(state
        .store
        .members(&by.workspace.id)
        .await?
        .into_iter()
        .filter(|m| match filter {
            None => true,
            Some(TwoFactorFilter::On) => qualifies(m),
            Some(TwoFactorFilter::Off) => !qualifies(m),
        })
        .map(|member| MemberStatus { access: policy.access(&member.factors, now), member })
        .collect())
}

/// A role change or a removal; the rules (who may, the last owner) are checked under the
/// workspace's lock in the store.
pub async fn change(
    state: &AppState,
    caller: &Caller,
    by: &Membership,
    target: &str,
    change: MemberChange,
) -> Result<()> {
    match state.store.change_member(&by.workspace.id, &caller.user_id, target, change, state.clock.now()).await? {
        MemberChanged::Done { .. } => Ok(()),
        MemberChanged::NotAMember => Err(Error::NotFound),
        MemberChanged::Refused(Refusal::Forbidden) => Err(Error::Forbidden),
        MemberChanged::Refused(Refusal::LastOwner) => Err(Error::LastOwner),
    }
}
