//! What a lock, a reset, a reclaim or an operator's stop voids. One rule for every
//! occasion, so that the next kind of pending thing (a link, a code, a grant) is added
//! here once and cannot be forgotten by one of the flows.

use chrono::{DateTime, Duration, Utc};

/// Why an account's pending things are voided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// "This wasn't me": the owner says someone else is in.
    Lock,
    /// A password reset by mail, on an account whose address was verified.
    Reset,
    /// The mailbox (a reset link, or a provider's verified email) proves ownership of an
    /// account whose address was never verified: whatever the claimant set up goes.
    Reclaim,
    /// `latchkey user sign-out`.
    SignOut,
    /// `latchkey user disable`.
    Disable,
}

/// How much of something added over time goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Keep,
    /// Whatever was added at or after this time (the lock's window).
    AddedSince(DateTime<Utc>),
    All,
}

/// The lock's window: second factors, provider links and workspace members added this long
/// before a lock may be the intruder's.
pub const LOCK_LOOKBACK: Duration = Duration::days(7);

/// What one occasion voids. Sessions, trusted devices, second steps in flight, pending
/// email links (verification, address change, reset) and device sign-ins (approved or
/// not yet collected) go on every occasion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Voids {
    pub api_tokens: bool,
    /// TOTP, security keys and passkeys, and backup codes (all of them when no factor is
    /// left).
    pub factors: Removal,
    pub provider_links: Removal,
    /// Workspace members the account brought in (added, or by an invitation it sent): a
    /// stolen session could have brought in its thief.
    pub members_added: Removal,
    /// The password stops working (a reset sets a new one in the same transaction).
    pub password: bool,
}

impl Occasion {
    pub fn voids(self, now: DateTime<Utc>) -> Voids {
        match self {
            Self::Lock => Voids {
                api_tokens: true,
                factors: Removal::AddedSince(now - LOCK_LOOKBACK),
                provider_links: Removal::AddedSince(now - LOCK_LOOKBACK),
                members_added: Removal::AddedSince(now - LOCK_LOOKBACK),
                password: true,
            },
            Self::Reclaim => Voids {
                api_tokens: true,
                factors: Removal::All,
                provider_links: Removal::All,
                members_added: Removal::All,
                password: true,
            },
            Self::Disable => Voids {
                api_tokens: true,
                factors: Removal::Keep,
                provider_links: Removal::Keep,
                members_added: Removal::Keep,
                password: false,
            },
            Self::Reset | Self::SignOut => Voids {
                api_tokens: false,
                factors: Removal::Keep,
                provider_links: Removal::Keep,
                members_added: Removal::Keep,
                password: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_removes_what_its_window_may_hold_and_a_reclaim_removes_everything() {
        let now = Utc::now();
        let lock = Occasion::Lock.voids(now);
        assert_eq!(lock.factors, Removal::AddedSince(now - Duration::days(7)));
        assert_eq!(lock.provider_links, lock.factors);
        assert_eq!(lock.members_added, lock.factors);
        assert!(lock.api_tokens && lock.password);
        let reclaim = Occasion::Reclaim.voids(now);
        assert_eq!((reclaim.factors, reclaim.provider_links), (Removal::All, Removal::All));
        assert_eq!(reclaim.members_added, Removal::All);
        assert!(reclaim.api_tokens && reclaim.password);
    }

    #[test]
    fn a_reset_and_a_sign_out_keep_the_owners_factors_and_tokens() {
        for occasion in [Occasion::Reset, Occasion::SignOut] {
            let v = occasion.voids(Utc::now());
            assert_eq!((v.factors, v.provider_links, v.members_added), (Removal::Keep, Removal::Keep, Removal::Keep));
            assert!(!v.api_tokens && !v.password);
        }
        let disable = Occasion::Disable.voids(Utc::now());
        assert!(disable.api_tokens);
        assert_eq!(disable.members_added, Removal::Keep);
    }
}
