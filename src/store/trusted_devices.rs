//! Trusted devices: remembered browsers that skip the second factor until they expire (20
//! per account at most).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, device_from_row, from_millis, location_from_row, new_id, to_millis};
use crate::domain::device::Device;
use crate::domain::location::Location;
use crate::domain::token::TokenHash;

#[derive(Debug, Clone)]
pub struct TrustedDeviceRecord {
    pub id: String,
    pub user_id: String,
    pub device: Device,
    pub ip: String,
    pub location: Location,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewTrustedDevice<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a TokenHash,
    pub device: &'a Device,
    pub ip: &'a str,
    pub location: &'a Location,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, user_id, device_kind, device_name, ip, country, city, location_label, created_at, last_used_at, expires_at";

impl TrustedDeviceRecord {
    fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            device: device_from_row(r)?,
            ip: r.try_get("ip")?,
            location: location_from_row(r)?,
            created_at: from_millis(r.try_get("created_at")?)?,
            last_used_at: from_millis(r.try_get("last_used_at")?)?,
            expires_at: from_millis(r.try_get("expires_at")?)?,
        })
    }
}

impl Store {
    pub async fn create_trusted_device(&self, d: NewTrustedDevice<'_>) -> StoreResult<String> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO trusted_devices (id, user_id, token_hash, device_kind, device_name, ip, country, city, location_label, created_at, last_used_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
        )
        .bind(&id)
        .bind(d.user_id)
        .bind(d.token_hash.as_str())
        .bind(d.device.kind.as_str())
        .bind(&d.device.name)
        .bind(d.ip)
        .bind(d.location.country.as_deref())
        .bind(d.location.city.as_deref())
        .bind(&d.location.label)
        .bind(to_millis(d.now))
        .bind(to_millis(d.expires_at))
        .execute(&self.pool)
        .await?;
        // Past the cap, the oldest are forgotten.
        sqlx::query(
            "DELETE FROM trusted_devices WHERE user_id = $1 AND id NOT IN
               (SELECT id FROM trusted_devices WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
        )
        .bind(d.user_id)
        .bind(crate::domain::limits::MAX_TRUSTED_DEVICES)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The live trusted device of `user_id` with this token, if any; marks it used.
    pub async fn use_trusted_device(
        &self,
        user_id: &str,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let row =
            sqlx::query("SELECT id FROM trusted_devices WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3")
                .bind(token_hash.as_str())
                .bind(user_id)
                .bind(to_millis(now))
                .fetch_optional(&self.pool)
                .await?;
        let Some(id) = row.map(|r| r.try_get::<String, _>("id")).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE trusted_devices SET last_used_at = $1 WHERE id = $2")
            .bind(to_millis(now))
            .bind(&id)
            .execute(&self.pool)
            .await?;
        Ok(Some(id))
    }

    pub async fn trusted_devices_of(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<TrustedDeviceRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM trusted_devices WHERE user_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, id DESC"
        )))
        .bind(user_id)
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(TrustedDeviceRecord::from_row).collect()
    }

    pub async fn delete_trusted_device(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM trusted_devices WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_trusted_devices(&self, user_id: &str) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM trusted_devices WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub async fn prune_trusted_devices(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM trusted_devices WHERE expires_at <= $1")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
