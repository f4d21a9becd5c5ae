//! Workspaces: plans, roles, and the 2FA policy that locks a workspace (never the
//! person's own pages) until they enrol.

pub mod events;
pub mod policy;
pub mod roles;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::factors::Factors;
pub use policy::{AcceptedMethods, Access, PolicyError, PolicyRequest, WorkspacePolicy};

/// How long an invitation's link stays good.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

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

/// What a person's workspaces unlock for them: the best plan among them (team features
/// such as security keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountPolicy {
    pub best_plan: Option<Plan>,
}

impl AccountPolicy {
    pub fn fold_from(plans: impl IntoIterator<Item = Plan>) -> Self {
        Self { best_plan: plans.into_iter().max() }
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
    pub factors: Factors,
}

/// A pending invitation, as the console lists it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub workspace_id: String,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_plan_wins() {
        assert_eq!(AccountPolicy::fold_from([]), AccountPolicy { best_plan: None });
        let folded = AccountPolicy::fold_from([Plan::Team, Plan::Free]);
        assert!(folded.has_team_plan());
        let free = AccountPolicy::fold_from([Plan::Free]);
        assert!(!free.has_team_plan());
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
        assert_eq!(serde_json::to_value(Access::Grace).unwrap(), "grace");
        assert_eq!(serde_json::to_value(Access::Ok).unwrap(), "ok");
    }
}
