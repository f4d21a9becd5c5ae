//! Rate-limit counters: an attempt is counted, and the key locked when due, in one
//! statement, before anything is checked.

use chrono::{DateTime, Duration, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreResult, from_millis, to_millis};
use crate::domain::rate_limit::{PROGRESSIVE_CAP, PROGRESSIVE_DELAYS, Policy};

/// The failures of the window after this attempt, from the row as it was ($3: the
/// oldest window start still running).
const NEW_FAILURES: &str = "(CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.failures + 1 END)";
const NEW_WINDOW_START: &str = "(CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END)";

/// `policy`'s lock after the attempt that makes the count `failures` (an SQL expression),
/// in Unix milliseconds, 0 for none. The numbers come from the policy's constants.
fn lock_sql(policy: Policy, failures: &str, window_start: &str) -> String {
    let threshold = policy.threshold();
    match policy {
        Policy::Progressive { .. } => {
            let steps = PROGRESSIVE_DELAYS
                .iter()
                .enumerate()
                .map(|(i, s)| format!("WHEN {} THEN {}", i, s * 1000))
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "CASE WHEN {failures} >= {threshold} THEN $2 + (CASE {failures} - {threshold} {steps} ELSE {} END) ELSE 0 END",
                PROGRESSIVE_CAP * 1000
            )
        }
        Policy::Window { window, .. } => {
            format!(
                "CASE WHEN {failures} >= {threshold} THEN {window_start} + {} ELSE 0 END",
                window.num_milliseconds()
            )
        }
    }
}

impl Store {
    /// Counts one attempt against `key` before it is checked, and locks the key when the
    /// count calls for it, in one statement: of any number of parallel attempts, only as
    /// many as the policy allows find the key open. `None` when the key is locked (nothing
    /// is counted); else the attempt's place in the window.
    pub async fn reserve_attempt(&self, key: &str, policy: Policy, now: DateTime<Utc>) -> StoreResult<Option<u32>> {
        let first_lock = policy.lock_after(1, Duration::zero()).map_or(0, |d| to_millis(now + d));
        let lock = lock_sql(policy, NEW_FAILURES, NEW_WINDOW_START);
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO rate_limits (key, failures, window_start, locked_until) VALUES ($1, 1, $2, $4)
             ON CONFLICT (key) DO UPDATE SET
               failures = {NEW_FAILURES}, window_start = {NEW_WINDOW_START}, locked_until = {lock}
             WHERE rate_limits.locked_until <= $2
             RETURNING failures"
        )))
        .bind(key)
        .bind(to_millis(now))
        .bind(to_millis(now - policy.window()))
        .bind(first_lock)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(r.try_get::<i64, _>("failures")?.try_into().unwrap_or(u32::MAX))).transpose()
    }

    /// Hands one reserved attempt back (it was right, or another key refused it), and
    /// lifts the lock it set if the count is below the policy's threshold again.
    pub async fn give_back_attempt(&self, key: &str, policy: Policy) -> StoreResult<()> {
        sqlx::query(
            "UPDATE rate_limits SET
               failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
               locked_until = CASE WHEN failures - 1 < $2 THEN 0 ELSE locked_until END
             WHERE key = $1",
        )
        .bind(key)
        .bind(i64::from(policy.threshold()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest lock still running on any of `keys`: one query for a sign-in's two.
    pub async fn locked_until(&self, keys: &[&str], now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        if keys.is_empty() {
            return Ok(None);
        }
        let list = (2..keys.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let mut query = sqlx::query(AssertSqlSafe(format!(
            "SELECT MAX(locked_until) AS locked_until FROM rate_limits WHERE locked_until > $1 AND key IN ({list})"
        )))
        .bind(to_millis(now));
        for key in keys {
            query = query.bind(*key);
        }
        let row = query.fetch_one(&self.pool).await?;
        row.try_get::<Option<i64>, _>("locked_until")?.map(from_millis).transpose()
    }

    pub async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM rate_limits WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn prune_rate_limits(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1 AND locked_until < $1")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
