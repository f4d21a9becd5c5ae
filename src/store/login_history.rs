//! Login history: one row per sign-in attempt, listed newest first, pruned by age.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, flag, from_millis, location_from_row, new_id, to_millis};
use crate::domain::device::DeviceKind;
use crate::domain::sign_in::{SignInAttempt, SignInRecord};

impl Store {
    /// One attempt (a failure: a successful sign-in's row is written with its session);
    /// `device_label` ("Chrome on Linux") is kept for the record, and `network` (the
    /// address's /24 or /48) with the user agent tells a new device from a known one.
    pub async fn record_login(&self, e: &SignInAttempt, device_label: &str, network: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert(&mut tx, e, device_label, network).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` attempts on an account, newest first.
    pub async fn login_history(&self, user_id: &str, limit: u32) -> StoreResult<Vec<SignInRecord>> {
        let rows = sqlx::query(
            "SELECT id, user_id, at, success, ip, user_agent, device_kind, country, city, location_label, mfa_challenged, method, failure
             FROM login_history WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SignInRecord {
                    id: row.try_get("id")?,
                    event: SignInAttempt {
                        user_id: row.try_get("user_id")?,
                        at: from_millis(row.try_get("at")?)?,
                        success: flag(row.try_get("success")?)?,
                        ip: row.try_get("ip")?,
                        user_agent: row.try_get("user_agent")?,
                        device_kind: DeviceKind::from_db(row.try_get::<&str, _>("device_kind")?),
                        location: location_from_row(row)?,
                        mfa_challenged: flag(row.try_get("mfa_challenged")?)?,
                        method: row.try_get("method")?,
                        failure: row.try_get("failure")?,
                    },
                })
            })
            .collect()
    }

    /// Deletes history older than `before`, a batch per statement: one DELETE of
    /// millions of rows would hold SQLite's write lock for seconds and stall sign-ins.
    pub async fn prune_login_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.prune_login_history_by(before, super::PRUNE_BATCH).await
    }

    /// [`Self::prune_login_history`] with another batch size (tests use a small one).
    pub async fn prune_login_history_by(&self, before: DateTime<Utc>, batch: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM login_history WHERE id IN (SELECT id FROM login_history WHERE at < $1 LIMIT $2)";
        self.delete_in_batches(sql, batch, |q| q.bind(to_millis(before))).await
    }
}

pub(super) async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &SignInAttempt,
    device_label: &str,
    network: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO login_history (id, user_id, at, success, ip, user_agent, device_kind, country, city, location_label, mfa_challenged, method, failure, device_label, network)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(new_id())
    .bind(&e.user_id)
    .bind(to_millis(e.at))
    .bind(i64::from(e.success))
    .bind(&e.ip)
    .bind(e.user_agent.as_deref())
    .bind(e.device_kind.as_str())
    .bind(e.location.country.as_deref())
    .bind(e.location.city.as_deref())
    .bind(&e.location.label)
    .bind(i64::from(e.mfa_challenged))
    .bind(&e.method)
    .bind(e.failure.as_deref())
    .bind(device_label)
    .bind(network)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
