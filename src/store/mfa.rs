//! Second-step challenges: an `mfa_token` waiting for its code, its attempts counted
//! before each code is checked.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, flag, from_millis, new_id, to_millis};
use crate::domain::device::DeviceKind;
use crate::domain::token::TokenHash;

/// A password that was right, waiting for its second factor.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    pub id: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub failures: u32,
    pub consumed: bool,
    pub remember_device: bool,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<String>,
    /// How the first step was passed: `password` or `oauth:<provider>`.
    pub method: String,
}

pub struct NewMfaChallenge<'a> {
    pub token_hash: &'a TokenHash,
    pub user_id: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub remember_device: bool,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<&'a str>,
    pub method: &'a str,
}

impl Store {
    pub async fn create_mfa_challenge(&self, c: NewMfaChallenge<'_>) -> StoreResult<String> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO mfa_challenges (id, token_hash, user_id, created_at, expires_at, failures, remember_device, device_kind, device_name, method)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(c.token_hash.as_str())
        .bind(c.user_id)
        .bind(to_millis(c.now))
        .bind(to_millis(c.expires_at))
        .bind(i64::from(c.remember_device))
        .bind(c.device_kind.map(DeviceKind::as_str))
        .bind(c.device_name)
        .bind(c.method)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn mfa_challenge(&self, token_hash: &TokenHash) -> StoreResult<Option<MfaChallenge>> {
        let row = sqlx::query(
            "SELECT id, user_id, expires_at, failures, consumed_at, remember_device, device_kind, device_name, method
             FROM mfa_challenges WHERE token_hash = $1",
        )
        .bind(token_hash.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(MfaChallenge {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                expires_at: from_millis(r.try_get("expires_at")?)?,
                failures: r.try_get::<i64, _>("failures")?.try_into().unwrap_or(u32::MAX),
                consumed: r.try_get::<Option<i64>, _>("consumed_at")?.is_some(),
                remember_device: flag(r.try_get("remember_device")?)?,
                device_kind: r.try_get::<Option<&str>, _>("device_kind")?.map(DeviceKind::from_db),
                device_name: r.try_get("device_name")?,
                method: r.try_get("method")?,
            })
        })
        .transpose()
    }

    /// Counts one attempt at the challenge's code before it is checked; false when the
    /// challenge is used, expired or out of attempts (nothing counted).
    pub async fn reserve_mfa_attempt(&self, id: &str, max: u32, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE mfa_challenges SET failures = failures + 1
             WHERE id = $1 AND consumed_at IS NULL AND failures < $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(i64::from(max))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hands back an attempt that was refused before its code was checked.
    pub async fn give_back_mfa_attempt(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE mfa_challenges SET failures = failures - 1 WHERE id = $1 AND failures > 0")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Uses the challenge up; exactly one of several racing completions gets true.
    pub async fn consume_mfa_challenge(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE mfa_challenges SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn prune_mfa_challenges(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
