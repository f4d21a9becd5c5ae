//! A workspace's 2FA policy: whether it is on, which factors count, and from when it
//! locks a member out. Until `enforce_at` a member without a qualifying factor keeps
//! access as `grace`, so an owner can roll 2FA out without locking people out mid-task.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::factors::Factors;

/// How far ahead an owner may set the deadline.
pub const MAX_GRACE: Duration = Duration::days(90);

/// Which second factors satisfy a workspace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcceptedMethods {
    /// An authenticator app, a security key or a passkey.
    #[default]
    Any,
    /// Only security keys and passkeys: a code can be phished, a key's answer cannot.
    PhishingResistant,
}

impl AcceptedMethods {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::PhishingResistant => "phishing_resistant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "any" => Some(Self::Any),
            "phishing_resistant" => Some(Self::PhishingResistant),
            _ => None,
        }
    }

    /// In words, for mails and pages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Any => "any second factor (an authenticator app, a security key or a passkey)",
            Self::PhishingResistant => "a security key or a passkey",
        }
    }

    pub fn accept(self, factors: &Factors) -> bool {
        match self {
            Self::Any => factors.enabled(),
            Self::PhishingResistant => factors.webauthn_keys > 0,
        }
    }
}

/// What a workspace demands of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkspacePolicy {
    pub require_2fa: bool,
    pub accepted_methods: AcceptedMethods,
    /// While the policy is on: when members without a qualifying factor lose access.
    pub enforce_at: Option<DateTime<Utc>>,
}

/// Whether a member may use the workspace now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Ok,
    /// No qualifying factor yet, but the deadline has not come.
    Grace,
    #[serde(rename = "2fa_required")]
    TwoFactorRequired,
}

impl WorkspacePolicy {
    /// Whether `factors` satisfy the policy (always, while it is off).
    pub fn satisfied_by(&self, factors: &Factors) -> bool {
        !self.require_2fa || self.accepted_methods.accept(factors)
    }

    pub fn access(&self, factors: &Factors, now: DateTime<Utc>) -> Access {
        if self.satisfied_by(factors) {
            Access::Ok
        } else if self.enforce_at.is_some_and(|at| at > now) {
            Access::Grace
        } else {
            Access::TwoFactorRequired
        }
    }

    /// When a member with `access` loses it: the deadline while in grace, else none.
    pub fn deadline(&self, access: Access) -> Option<DateTime<Utc>> {
        (access == Access::Grace).then_some(self.enforce_at).flatten()
    }

    /// The policy after an owner's `PUT`: `accepted_methods` left out stays as it is; the
    /// deadline, left out, is now when the policy turns on and unchanged while it stays on;
    /// a past deadline means now.
    pub fn changed(&self, asked: PolicyRequest, now: DateTime<Utc>) -> Result<WorkspacePolicy, PolicyError> {
        let accepted_methods = asked.accepted_methods.unwrap_or(self.accepted_methods);
        if !asked.require_2fa {
            return Ok(WorkspacePolicy { require_2fa: false, accepted_methods, enforce_at: None });
        }
        let enforce_at = match asked.enforce_at {
            Some(at) if at > now + MAX_GRACE => return Err(PolicyError::DeadlineTooFar),
            Some(at) => at.max(now),
            None if self.require_2fa => self.enforce_at.unwrap_or(now),
            None => now,
        };
        Ok(WorkspacePolicy { require_2fa: true, accepted_methods, enforce_at: Some(enforce_at) })
    }

    /// Whether going from `self` to `next` asks more of the members, so that those who
    /// do not qualify are told: the policy turns on, or accepts fewer factors.
    pub fn tightened_by(&self, next: &WorkspacePolicy) -> bool {
        next.require_2fa
            && (!self.require_2fa
                || (self.accepted_methods == AcceptedMethods::Any
                    && next.accepted_methods == AcceptedMethods::PhishingResistant))
    }
}

/// What an owner asks for.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest {
    pub require_2fa: bool,
    pub accepted_methods: Option<AcceptedMethods>,
    pub enforce_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyError {
    DeadlineTooFar,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn totp() -> Factors {
        Factors { totp_created_at: Some(at("2026-01-01T00:00:00Z")), ..Factors::default() }
    }

    fn key() -> Factors {
        Factors { webauthn_keys: 1, ..Factors::default() }
    }

    #[test]
    fn grace_lasts_until_the_deadline_then_locks() {
        let now = at("2026-12-01T00:00:00Z");
        let policy = WorkspacePolicy {
            require_2fa: true,
            accepted_methods: AcceptedMethods::Any,
            enforce_at: Some(at("2026-12-08T00:00:00Z")),
        };
        assert_eq!(policy.access(&Factors::default(), now), Access::Grace);
        assert_eq!(policy.deadline(Access::Grace), policy.enforce_at);
        assert_eq!(policy.access(&Factors::default(), at("2026-12-08T00:00:00Z")), Access::TwoFactorRequired);
        assert_eq!(policy.access(&totp(), at("2027-01-01T00:00:00Z")), Access::Ok);
        assert_eq!(policy.deadline(Access::Ok), None);
        assert_eq!(WorkspacePolicy::default().access(&Factors::default(), now), Access::Ok);
    }

    #[test]
    fn the_phishing_resistant_tier_counts_only_keys() {
        let policy = WorkspacePolicy {
            require_2fa: true,
            accepted_methods: AcceptedMethods::PhishingResistant,
            enforce_at: Some(at("2026-01-01T00:00:00Z")),
        };
        let now = at("2026-12-01T00:00:00Z");
        assert_eq!(policy.access(&totp(), now), Access::TwoFactorRequired);
        assert_eq!(policy.access(&key(), now), Access::Ok);
        let orphan_codes = Factors { backup_codes_remaining: 10, ..Factors::default() };
        assert!(!AcceptedMethods::Any.accept(&orphan_codes));
    }

    #[test]
    fn the_deadline_defaults_to_now_when_turning_on_and_stays_while_on() {
        let now = at("2026-12-01T00:00:00Z");
        let off = WorkspacePolicy::default();
        let ask = |require_2fa, enforce_at| PolicyRequest { require_2fa, accepted_methods: None, enforce_at };
        let on = off.changed(ask(true, None), now).unwrap();
        assert_eq!(on.enforce_at, Some(now));
        let later = off.changed(ask(true, Some(at("2026-12-15T00:00:00Z"))), now).unwrap();
        assert_eq!(later.enforce_at, Some(at("2026-12-15T00:00:00Z")));
        let kept = later.changed(ask(true, None), at("2026-12-02T00:00:00Z")).unwrap();
        assert_eq!(kept.enforce_at, later.enforce_at, "unchanged while it stays on");
        let past = off.changed(ask(true, Some(at("2020-01-01T00:00:00Z"))), now).unwrap();
        assert_eq!(past.enforce_at, Some(now), "a past time means now");
        assert_eq!(
            off.changed(ask(true, Some(now + MAX_GRACE + Duration::seconds(1))), now),
            Err(PolicyError::DeadlineTooFar)
        );
        assert!(off.changed(ask(true, Some(now + MAX_GRACE)), now).is_ok());
        let turned_off = later.changed(ask(false, Some(now)), now).unwrap();
        assert_eq!(turned_off, WorkspacePolicy::default());
    }

    #[test]
    fn members_are_told_when_the_policy_turns_on_or_narrows() {
        let now = at("2026-12-01T00:00:00Z");
        let off = WorkspacePolicy::default();
        let any = WorkspacePolicy { require_2fa: true, accepted_methods: AcceptedMethods::Any, enforce_at: Some(now) };
        let keys = WorkspacePolicy { accepted_methods: AcceptedMethods::PhishingResistant, ..any };
        assert!(off.tightened_by(&any));
        assert!(any.tightened_by(&keys));
        assert!(!keys.tightened_by(&any), "widening asks nothing new");
        assert!(!any.tightened_by(&any));
        assert!(!any.tightened_by(&off));
        assert!(!off.tightened_by(&WorkspacePolicy { accepted_methods: AcceptedMethods::PhishingResistant, ..off }));
    }
}
