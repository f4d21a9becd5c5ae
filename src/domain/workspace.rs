//! Workspaces: plans, roles, and the 2FA policy that locks a workspace (never the
//! person's own pages) until they enrol.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Team,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Team => "team",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "free" => Some(Self::Free),
            "team" => Some(Self::Team),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    /// Owners and admins manage members and the policy.
    pub fn manages(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }

    /// Only an owner may make another owner.
    pub fn may_grant(self, role: Role) -> bool {
        self.manages() && (role != Role::Owner || self == Role::Owner)
    }
}

/// What a workspace demands of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkspacePolicy {
    pub require_2fa: bool,
}

/// Whether a member may use the workspace now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Ok,
    #[serde(rename = "2fa_required")]
    TwoFactorRequired,
}

pub fn access(policy: WorkspacePolicy, has_2fa: bool) -> Access {
    if policy.require_2fa && !has_2fa { Access::TwoFactorRequired } else { Access::Ok }
}

/// The policy that binds a person: the strictest of every workspace they belong to,
/// and the best plan among them (which unlocks team features such as security keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountPolicy {
    pub require_2fa: bool,
    pub best_plan: Option<Plan>,
}

impl AccountPolicy {
    pub fn fold_from(workspaces: impl IntoIterator<Item = (WorkspacePolicy, Plan)>) -> Self {
        workspaces.into_iter().fold(Self::default(), |acc, (policy, plan)| Self {
            require_2fa: acc.require_2fa || policy.require_2fa,
            best_plan: acc.best_plan.max(Some(plan)),
        })
    }

    pub fn has_team_plan(&self) -> bool {
        self.best_plan == Some(Plan::Team)
    }

    /// Whether the account may add security keys and passkeys.
    pub fn may_use_webauthn(&self, plans: WebauthnPlans) -> bool {
        plans == WebauthnPlans::All || self.has_team_plan()
    }
}

/// Who may use WebAuthn (`webauthn_plans`): members of a team-plan workspace, or everyone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WebauthnPlans {
    #[default]
    Team,
    All,
}

impl WebauthnPlans {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "team" => Some(Self::Team),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub plan: Plan,
    pub policy: WorkspacePolicy,
}

/// A workspace as one of its members sees it.
#[derive(Debug, Clone)]
pub struct Membership {
    pub workspace: Workspace,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct WorkspaceMember {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub two_factor_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: WorkspacePolicy = WorkspacePolicy { require_2fa: true };
    const OFF: WorkspacePolicy = WorkspacePolicy { require_2fa: false };

    #[test]
    fn the_policy_locks_only_members_without_2fa() {
        assert_eq!(access(ON, false), Access::TwoFactorRequired);
        assert_eq!(access(ON, true), Access::Ok);
        assert_eq!(access(OFF, false), Access::Ok);
    }

    #[test]
    fn the_strictest_policy_and_best_plan_win() {
        assert_eq!(AccountPolicy::fold_from([]), AccountPolicy { require_2fa: false, best_plan: None });
        let folded = AccountPolicy::fold_from([(OFF, Plan::Team), (ON, Plan::Free), (OFF, Plan::Free)]);
        assert!(folded.require_2fa);
        assert!(folded.has_team_plan());
        assert!(!AccountPolicy::fold_from([(OFF, Plan::Free)]).has_team_plan());
        let free = AccountPolicy::fold_from([(OFF, Plan::Free)]);
        assert!(!free.may_use_webauthn(WebauthnPlans::Team));
        assert!(free.may_use_webauthn(WebauthnPlans::All));
        assert!(folded.may_use_webauthn(WebauthnPlans::Team));
        assert_eq!(WebauthnPlans::parse("all"), Some(WebauthnPlans::All));
        assert_eq!(WebauthnPlans::parse("Team"), None);
    }

    #[test]
    fn only_owners_make_owners() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(!Role::Member.may_grant(Role::Member));
    }

    #[test]
    fn access_serialises_as_the_contract_says() {
        assert_eq!(serde_json::to_value(Access::TwoFactorRequired).unwrap(), "2fa_required");
        assert_eq!(serde_json::to_value(Access::Ok).unwrap(), "ok");
    }
}
