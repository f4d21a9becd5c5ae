//! What the workspace's activity log records: every change to its members, invitations
//! and policy, with what applies of the details.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::Role;
use super::policy::{AcceptedMethods, WorkspacePolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    MemberAdded,
    MemberRemoved,
    RoleChanged,
    PolicyChanged,
    InvitationSent,
    InvitationRevoked,
    InvitationAccepted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::RoleChanged => "role_changed",
            Self::PolicyChanged => "policy_changed",
            Self::InvitationSent => "invitation_sent",
            Self::InvitationRevoked => "invitation_revoked",
            Self::InvitationAccepted => "invitation_accepted",
        }
    }
}

/// The event's `detail`: only the fields that apply are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Detail {
    /// The member or invitee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_2fa: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_methods: Option<AcceptedMethods>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_at: Option<String>,
}

impl Detail {
    pub fn member(email: &str, role: Role) -> Self {
        Self { email: Some(email.to_owned()), role: Some(role), ..Self::default() }
    }

    pub fn policy(p: &WorkspacePolicy) -> Self {
        Self {
            require_2fa: Some(p.require_2fa),
            accepted_methods: Some(p.accepted_methods),
            enforce_at: p.enforce_at.map(rfc3339),
            ..Self::default()
        }
    }

    /// One line for the console's activity table.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(email) = &self.email {
            parts.push(email.clone());
        }
        match (self.from_role, self.role) {
            (Some(from), Some(to)) => parts.push(format!("{} → {}", from.as_str(), to.as_str())),
            (None, Some(role)) => parts.push(role.as_str().to_owned()),
            _ => {}
        }
        if let Some(on) = self.require_2fa {
            parts.push(if on { "2FA required".to_owned() } else { "2FA not required".to_owned() });
        }
        if self.require_2fa == Some(true) {
            if let Some(m) = self.accepted_methods {
                parts.push(format!("accepts {}", m.as_str().replace('_', "-")));
            }
            if let Some(at) = &self.enforce_at {
                parts.push(format!("from {at}"));
            }
        }
        parts.join(", ")
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An event as it is written.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub workspace_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub kind: EventKind,
    pub detail: Detail,
    pub at: DateTime<Utc>,
}

/// An event as it is read back.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_email: Option<String>,
    pub kind: String,
    pub detail: Detail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_carries_only_what_applies() {
        let d = Detail { from_role: Some(Role::Member), ..Detail::member("a@example.com", Role::Admin) };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"email": "a@example.com", "role": "admin", "from_role": "member"})
        );
        assert_eq!(d.summary(), "a@example.com, member → admin");
        let at = DateTime::parse_from_rfc3339("2026-12-08T00:00:00Z").unwrap().to_utc();
        let p = WorkspacePolicy {
            require_2fa: true,
            accepted_methods: AcceptedMethods::PhishingResistant,
            enforce_at: Some(at),
        };
        assert_eq!(
            serde_json::to_value(Detail::policy(&p)).unwrap(),
            serde_json::json!({"require_2fa": true, "accepted_methods": "phishing_resistant", "enforce_at": "2026-12-08T00:00:00Z"})
        );
        assert_eq!(Detail::policy(&p).summary(), "2FA required, accepts phishing-resistant, from 2026-12-08T00:00:00Z");
    }
}
