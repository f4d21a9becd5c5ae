//! Progressive delays and lockouts, kept in the database so every instance sees them.

use chrono::Duration;

pub use crate::domain::rate_limit::{ACCOUNT, CLIENT, OAUTH_START, Policy, SIGNUP};
use crate::error::{Error, Result};
use crate::state::AppState;

/// 429 `rate_limited` while `key` is locked.
pub async fn check(state: &AppState, key: &str) -> Result<()> {
    check_all(state, &[key]).await
}

/// 429 `rate_limited` while any of `keys` is locked, with the wait until the last lock ends.
pub async fn check_all(state: &AppState, keys: &[&str]) -> Result<()> {
    let now = state.clock.now();
    match state.store.locked_until(keys, now).await? {
        Some(until) => Err(Error::RateLimited { retry_after: seconds_until(until - now) }),
        None => Ok(()),
    }
}

/// Counts a failure against `key`; true when this failure locked it.
pub async fn fail(state: &AppState, key: &str, policy: Policy) -> Result<bool> {
    let now = state.clock.now();
    let (failures, since) = state.store.count_failure(key, now, policy.window()).await?;
    match policy.lock_after(failures, now - since) {
        Some(wait) if wait > Duration::zero() => {
            state.store.lock(key, now + wait).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub async fn clear(state: &AppState, key: &str) -> Result<()> {
    Ok(state.store.clear_failures(key).await?)
}

/// Whole seconds, rounded up, at least 1: what `Retry-After` says.
fn seconds_until(d: Duration) -> u64 {
    let ms = d.num_milliseconds().max(1);
    u64::try_from((ms + 999) / 1000).unwrap_or(1)
}
