//! `LATCHKEY_REQUIRE_2FA`: the operator requires a second factor of every account, from a
//! deadline on (ASVS 6.3.3). Past it, an account without one keeps its personal pages
//! (where it enrols) and loses everything else until it has enrolled.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequiredEnrolment {
    #[default]
    Off,
    /// Required from this moment on.
    From(DateTime<Utc>),
}

impl RequiredEnrolment {
    /// Whether an account is held to its personal pages now.
    pub fn holds(self, has_second_factor: bool, now: DateTime<Utc>) -> bool {
        match self {
            Self::Off => false,
            Self::From(deadline) => !has_second_factor && now >= deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn only_an_account_without_a_factor_is_held_and_only_past_the_deadline() {
        let now = Utc::now();
        assert!(!RequiredEnrolment::Off.holds(false, now));
        let due = RequiredEnrolment::From(now);
        assert!(due.holds(false, now));
        assert!(!due.holds(true, now), "enrolled");
        let later = RequiredEnrolment::From(now + Duration::days(7));
        assert!(!later.holds(false, now), "the grace period");
        assert!(later.holds(false, now + Duration::days(7)));
    }
}
