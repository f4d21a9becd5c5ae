//! How long a key (an account, a client address) waits after failures.

use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Failures beyond `free` within `window` lock for a growing delay, kanidm-style:
    /// 1 s, 3 s, 5 s, 10 s, 30 s, 60 s, then 5 minutes each. The count restarts once
    /// `window` has passed since the first failure, so nobody is locked out for good.
    Progressive { free: u32, window: Duration },
    /// At most `max` events within `window`; the rest wait for the window to end.
    Window { max: u32, window: Duration },
}

impl Policy {
    pub fn window(self) -> Duration {
        match self {
            Self::Progressive { window, .. } | Self::Window { window, .. } => window,
        }
    }

    /// The count from which each further failure (or event) locks the key.
    pub fn threshold(self) -> u32 {
        match self {
            Self::Progressive { free, .. } => free,
            Self::Window { max, .. } => max,
        }
    }

    /// The lock after the `failures`-th failure of a window that began `elapsed` ago.
    pub fn lock_after(self, failures: u32, elapsed: Duration) -> Option<Duration> {
        match self {
            Self::Progressive { free, .. } => {
                let over = failures.checked_sub(free)?;
                Some(Duration::seconds(PROGRESSIVE_DELAYS.get(over as usize).copied().unwrap_or(PROGRESSIVE_CAP)))
            }
            Self::Window { max, window } => (failures >= max).then(|| window - elapsed),
        }
    }

    /// What a reserved attempt that turned out right gives back: a right password ends a
    /// progressive lockout's count, while an address's window only gets its one attempt back.
    pub fn on_success(self) -> Forgive {
        match self {
            Self::Progressive { .. } => Forgive::All,
            Self::Window { .. } => Forgive::One,
        }
    }
}

/// See [`Policy::on_success`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgive {
    All,
    One,
}

/// Seconds locked after the `free`-th, `free + 1`-th, ... failure of a progressive policy.
pub const PROGRESSIVE_DELAYS: [i64; 6] = [1, 3, 5, 10, 30, 60];
/// ...and after every later one.
pub const PROGRESSIVE_CAP: i64 = 300;

/// Failed sign-ins per account (and per unknown email alike, so a lock reveals nothing).
pub const ACCOUNT: Policy = Policy::Progressive { free: 5, window: Duration::minutes(15) };
/// Failed sign-ins per client address: 429 before the 100th within 15 minutes.
pub const CLIENT: Policy = Policy::Window { max: 99, window: Duration::minutes(15) };
/// Login-history rows for attempts refused by a lock, per account: one a window, so a
/// flood of refused requests (which cost the attacker nothing) cannot flood the history.
pub const REFUSAL_RECORDS: Policy = Policy::Window { max: 1, window: Duration::minutes(15) };
/// Sign-ups per client address.
pub const SIGNUP: Policy = Policy::Window { max: 300, window: Duration::minutes(15) };
/// Provider sign-ins started per client address (each leaves a pending row until it expires).
pub const OAUTH_START: Policy = Policy::Window { max: 300, window: Duration::minutes(15) };
/// Passkey sign-ins started per client address (the sign-in page starts one on load for
/// the browser's autofill, and each leaves a row until it expires).
pub const PASSKEY_START: Policy = Policy::Window { max: 300, window: Duration::minutes(15) };
/// Password reset links asked for, per client address (each may mail someone).
pub const FORGOT: Policy = Policy::Window { max: 30, window: Duration::minutes(15) };
/// Alerts of one kind per account and UTC day (the key names the day): the first only.
pub const DAILY_ALERT: Policy = Policy::Window { max: 1, window: Duration::days(1) };
/// Password resets tried, per client address: each may cost a password hash.
pub const RESET: Policy = Policy::Window { max: 30, window: Duration::minutes(15) };
/// Device sign-ins asked for, per client address.
pub const DEVICE_START: Policy = Policy::Window { max: 60, window: Duration::minutes(15) };
/// Wrong user codes typed on `/device`, per session and per address: 5, then a wait.
pub const USER_CODE: Policy = Policy::Window { max: 5, window: Duration::minutes(15) };
/// Invitations sent per workspace and day.
pub const WORKSPACE_INVITATIONS: Policy = Policy::Window { max: 50, window: Duration::days(1) };
/// Policy tightenings a workspace mails its members about, per day (beyond that the
/// policy still changes, unannounced).
pub const POLICY_NOTICES: Policy = Policy::Window { max: 5, window: Duration::days(1) };
/// Messages of one kind (confirmation, reset, invitation) an address gets per hour.
pub const MAILS_PER_RECIPIENT: Policy = Policy::Window { max: 5, window: Duration::hours(1) };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failures_are_free_then_delays_grow_and_cap() {
        let p = ACCOUNT;
        for n in 0..5 {
            assert_eq!(p.lock_after(n, Duration::zero()), None, "{n}");
        }
        let delays: Vec<i64> = (5..13).map(|n| p.lock_after(n, Duration::zero()).unwrap().num_seconds()).collect();
        assert_eq!(delays, [1, 3, 5, 10, 30, 60, 300, 300]);
    }

    #[test]
    fn a_right_password_forgives_a_lockout_but_an_address_only_its_one_attempt() {
        assert_eq!(ACCOUNT.on_success(), Forgive::All);
        assert_eq!(CLIENT.on_success(), Forgive::One);
        assert_eq!((ACCOUNT.threshold(), CLIENT.threshold()), (5, 99));
    }

    #[test]
    fn a_window_policy_locks_until_the_window_ends() {
        let p = CLIENT;
        assert_eq!(p.lock_after(98, Duration::minutes(1)), None);
        assert_eq!(p.lock_after(99, Duration::minutes(5)), Some(Duration::minutes(10)));
    }
}
