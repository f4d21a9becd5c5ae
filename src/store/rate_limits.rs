use chrono::{DateTime, Duration, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreResult, from_millis, to_millis};

impl Store {
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
        Ok(row.try_get::<Option<i64>, _>("locked_until")?.map(from_millis))
    }

    /// Counts one failure, atomically, starting a new window when the last one is over.
    /// Returns the failures in the window and when it began.
    pub async fn count_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<(u32, DateTime<Utc>)> {
        let row = sqlx::query(
            "INSERT INTO rate_limits (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0)
             ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.failures + 1 END,
               window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
             RETURNING failures, window_start",
        )
        .bind(key)
        .bind(to_millis(now))
        .bind(to_millis(now - window))
        .fetch_one(&self.pool)
        .await?;
        let failures = row.try_get::<i64, _>("failures")?.try_into().unwrap_or(u32::MAX);
        Ok((failures, from_millis(row.try_get("window_start")?)))
    }

    pub async fn lock(&self, key: &str, until: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE rate_limits SET locked_until = $1 WHERE key = $2")
            .bind(to_millis(until))
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
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
