//! Who may change whose role or remove whom, and the rule that a workspace always keeps
//! an owner. The store applies these under the workspace's lock, with the roles and the
//! owner count read inside it, so two racing demotions cannot both see a second owner.

use super::Role;

/// A change to one membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    SetRole(Role),
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's role does not allow it.
    Forbidden,
    /// It would leave the workspace without an owner.
    LastOwner,
}

/// Whether `actor` (with `actor_role`) may apply `change` to a member holding `target`,
/// when the workspace has `owners` owners. Owners and admins manage members; only an
/// owner makes, unmakes or removes an owner; anyone may leave.
pub fn check(actor_role: Role, is_self: bool, target: Role, change: MemberChange, owners: u64) -> Result<(), Refusal> {
    let touches_owner = target == Role::Owner || change == MemberChange::SetRole(Role::Owner);
    let allowed = match change {
        MemberChange::Remove if is_self => true,
        _ => actor_role.manages() && (!touches_owner || actor_role == Role::Owner),
    };
    if !allowed {
        return Err(Refusal::Forbidden);
    }
    let unmakes_owner = target == Role::Owner && change != MemberChange::SetRole(Role::Owner);
    if unmakes_owner && owners <= 1 {
        return Err(Refusal::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberChange::*;
    use Role::*;

    #[test]
    fn owners_and_admins_manage_members_and_only_owners_touch_owners() {
        assert_eq!(check(Admin, false, Member, SetRole(Admin), 1), Ok(()));
        assert_eq!(check(Admin, false, Member, Remove, 1), Ok(()));
        assert_eq!(check(Admin, false, Member, SetRole(Owner), 1), Err(Refusal::Forbidden));
        assert_eq!(check(Admin, false, Owner, SetRole(Member), 2), Err(Refusal::Forbidden));
        assert_eq!(check(Admin, false, Owner, Remove, 2), Err(Refusal::Forbidden));
        assert_eq!(check(Member, false, Member, Remove, 1), Err(Refusal::Forbidden));
        assert_eq!(check(Member, true, Member, SetRole(Admin), 1), Err(Refusal::Forbidden));
        assert_eq!(check(Owner, false, Admin, SetRole(Owner), 1), Ok(()));
        assert_eq!(check(Owner, false, Owner, SetRole(Admin), 2), Ok(()));
    }

    #[test]
    fn anyone_may_leave_but_the_last_owner_stays() {
        assert_eq!(check(Member, true, Member, Remove, 1), Ok(()));
        assert_eq!(check(Admin, true, Admin, Remove, 1), Ok(()));
        assert_eq!(check(Owner, true, Owner, Remove, 2), Ok(()));
        assert_eq!(check(Owner, true, Owner, Remove, 1), Err(Refusal::LastOwner));
        assert_eq!(check(Owner, true, Owner, SetRole(Member), 1), Err(Refusal::LastOwner));
        assert_eq!(check(Owner, false, Owner, Remove, 1), Err(Refusal::LastOwner));
        assert_eq!(check(Owner, true, Owner, SetRole(Owner), 1), Ok(()), "no change is no loss");
    }
}
