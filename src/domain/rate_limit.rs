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

    /// The lock after the `failures`-th failure of a window that began `elapsed` ago.
    pub fn lock_after(self, failures: u32, elapsed: Duration) -> Option<Duration> {
        match self {
            Self::Progressive { free, .. } => {
                let over = failures.checked_sub(free)?;
                const DELAYS: [i64; 6] = [1, 3, 5, 10, 30, 60];
                Some(Duration::seconds(DELAYS.get(over as usize).copied().unwrap_or(300)))
            }
            Self::Window { max, window } => (failures >= max).then(|| window - elapsed),
        }
    }
}

/// Failed sign-ins per account (and per unknown email alike, so a lock reveals nothing).
pub const ACCOUNT: Policy = Policy::Progressive { free: 5, window: Duration::minutes(15) };
/// Failed sign-ins per client address: 429 before the 100th within 15 minutes.
pub const CLIENT: Policy = Policy::Window { max: 99, window: Duration::minutes(15) };
/// Sign-ups per client address.
pub const SIGNUP: Policy = Policy::Window { max: 300, window: Duration::minutes(15) };
/// Provider sign-ins started per client address (each leaves a pending row until it expires).
pub const OAUTH_START: Policy = Policy::Window { max: 300, window: Duration::minutes(15) };

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
    fn a_window_policy_locks_until_the_window_ends() {
        let p = CLIENT;
        assert_eq!(p.lock_after(98, Duration::minutes(1)), None);
        assert_eq!(p.lock_after(99, Duration::minutes(5)), Some(Duration::minutes(10)));
    }
}
