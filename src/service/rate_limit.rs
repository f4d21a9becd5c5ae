//! Progressive delays and lockouts, kept in the database so every instance sees them.
//!
//! An attempt is counted *before* it is checked (`reserve`), and handed back when it
//! turns out right: counting after the check let a burst of parallel guesses all find
//! the key open and all be verified.

use chrono::Duration;

use crate::domain::rate_limit::Forgive;
pub use crate::domain::rate_limit::{
    ACCOUNT, CLIENT, DAILY_ALERT, DEVICE_START, FORGOT, MAILS_PER_RECIPIENT, OAUTH_START, PASSKEY_START,
    POLICY_NOTICES, Policy, REFUSAL_RECORDS, RESET, SIGNUP, USER_CODE, WORKSPACE_INVITATIONS,
};
use crate::error::{Error, Result};
use crate::state::AppState;

/// Attempts counted against their keys, waiting to learn whether they were right.
#[must_use = "a reservation is given back on success; on failure say so with `failed`"]
pub struct Reservation {
    keys: Vec<(String, Policy, u32)>,
}

impl Reservation {
    /// True when the attempt counted against `key` locked it (a lockout begins).
    pub fn locked(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, policy, count)| k == key && *count >= policy.threshold())
    }

    /// The attempt was right: a progressive key is cleared, a window gets its attempt back.
    pub async fn succeeded(self, state: &AppState) -> Result<()> {
        for (key, policy, _) in &self.keys {
            match policy.on_success() {
                Forgive::All => state.store.clear_failures(key).await?,
                Forgive::One => state.store.give_back_attempt(key, *policy).await?,
            }
            state.refusals.forget(key);
        }
        Ok(())
    }

    /// The attempt was wrong: it stays counted.
    pub fn failed(self) {}
}

/// Counts one attempt against each of `keys`, in order, before anything is checked;
/// 429 `rate_limited` (nothing counted) while any of them is locked, with the wait
/// until the last of their locks ends. A key this instance already saw locked is refused
/// without asking the database again (see [`crate::refusals`]).
pub async fn reserve(state: &AppState, keys: &[(&str, Policy)]) -> Result<Reservation> {
    let now = state.clock.now();
    let all: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    if let Some(until) = state.refusals.locked_until(&all, now) {
        return Err(Error::RateLimited { retry_after: seconds_until(until - now) });
    }
    let mut reserved = Reservation { keys: Vec::with_capacity(keys.len()) };
    for (key, policy) in keys {
        match state.store.reserve_attempt(key, *policy, now).await? {
            Some(count) => reserved.keys.push(((*key).to_owned(), *policy, count)),
            None => {
                for (key, policy, _) in &reserved.keys {
                    state.store.give_back_attempt(key, *policy).await?;
                }
                if let Some(until) = state.store.locked_until(&[key], now).await? {
                    state.refusals.remember(key, until, now);
                }
                return Err(limited(state, &all).await?);
            }
        }
    }
    Ok(reserved)
}

/// One attempt against one key (see [`reserve`]).
pub async fn reserve_one(state: &AppState, key: &str, policy: Policy) -> Result<Reservation> {
    reserve(state, &[(key, policy)]).await
}

/// The 429 for a refused attempt: the wait until the last lock on `keys` ends.
async fn limited(state: &AppState, keys: &[&str]) -> Result<Error> {
    let now = state.clock.now();
    // The lock may have ended between the refusal and this read: then wait a second.
    let wait = state.store.locked_until(keys, now).await?.map_or(Duration::seconds(1), |until| until - now);
    Ok(Error::RateLimited { retry_after: seconds_until(wait) })
}

/// Whole seconds, rounded up, at least 1: what `Retry-After` says.
fn seconds_until(d: Duration) -> u64 {
    let ms = d.num_milliseconds().max(1);
    u64::try_from((ms + 999) / 1000).unwrap_or(1)
}
