//! Device sign-ins (RFC 8628): grants waiting for approval, polled by their device code.
//! Each change of state is one conditional UPDATE, so racing polls and approvals cannot
//! both win.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, corrupt, device_from_row, flag, from_millis, location_from_row, new_id, to_millis};
use crate::domain::device::Device;
use crate::domain::device_grant::{GrantStatus, UserCode};
use crate::domain::location::Location;
use crate::domain::proof::Amr;
use crate::domain::token::TokenHash;

/// The approving session's proof, which the device's session carries.
pub struct Approval<'a> {
    pub mfa_passed: bool,
    pub auth_at: DateTime<Utc>,
    pub amr: &'a Amr,
}

/// A grant as it is written when a device asks.
pub struct NewDeviceGrant<'a> {
    pub device_code_hash: &'a TokenHash,
    pub user_code: &'a UserCode,
    pub client_name: &'a str,
    pub device: &'a Device,
    pub ip: &'a str,
    pub location: &'a Location,
    pub user_agent: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub interval_secs: i64,
}

#[derive(Debug, Clone)]
pub struct DeviceGrant {
    pub id: String,
    pub user_code: UserCode,
    pub client_name: String,
    pub device: Device,
    pub ip: String,
    pub location: Location,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub interval_secs: i64,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub status: GrantStatus,
    pub user_id: Option<String>,
    pub mfa_passed: bool,
    /// When the approving session last proved a factor: the device's session is no fresher.
    pub approved_auth_at: Option<DateTime<Utc>>,
    /// ...and what it had proven.
    pub approved_amr: Option<Amr>,
    pub user_agent: Option<String>,
}

const COLUMNS: &str = "id, user_code, client_name, device_kind, device_name, ip, country, city, location_label, created_at, expires_at, interval_secs, last_polled_at, status, user_id, mfa_passed, approved_auth_at, approved_amr, user_agent";

impl DeviceGrant {
    fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Self> {
        let status: String = r.try_get("status")?;
        let user_code: String = r.try_get("user_code")?;
        Ok(Self {
            id: r.try_get("id")?,
            user_code: UserCode::parse(&user_code).ok_or_else(|| corrupt(format!("a user code of {user_code:?}")))?,
            client_name: r.try_get("client_name")?,
            device: device_from_row(r)?,
            ip: r.try_get("ip")?,
            location: location_from_row(r)?,
            created_at: from_millis(r.try_get("created_at")?)?,
            expires_at: from_millis(r.try_get("expires_at")?)?,
            interval_secs: r.try_get("interval_secs")?,
            last_polled_at: r.try_get::<Option<i64>, _>("last_polled_at")?.map(from_millis).transpose()?,
            status: GrantStatus::parse(&status).ok_or_else(|| corrupt(format!("a grant status of {status:?}")))?,
            user_id: r.try_get("user_id")?,
            mfa_passed: r.try_get::<Option<i64>, _>("mfa_passed")?.map(flag).transpose()?.unwrap_or(false),
            approved_auth_at: r.try_get::<Option<i64>, _>("approved_auth_at")?.map(from_millis).transpose()?,
            approved_amr: r
                .try_get::<Option<String>, _>("approved_amr")?
                .map(|s| Amr::parse_stored(&s).ok_or_else(|| corrupt(format!("an amr of {s:?}"))))
                .transpose()?,
            user_agent: r.try_get("user_agent")?,
        })
    }
}

impl Store {
    /// `Conflict` when the user code is taken (the caller draws another).
    pub async fn create_device_grant(&self, g: NewDeviceGrant<'_>) -> StoreResult<String> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO device_grants (id, device_code_hash, user_code, client_name, device_kind, device_name, ip, country, city, location_label, user_agent, created_at, expires_at, interval_secs, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending')",
        )
        .bind(&id)
        .bind(g.device_code_hash.as_str())
        .bind(g.user_code.as_str())
        .bind(g.client_name)
        .bind(g.device.kind.as_str())
        .bind(&g.device.name)
        .bind(g.ip)
        .bind(g.location.country.as_deref())
        .bind(g.location.city.as_deref())
        .bind(&g.location.label)
        .bind(g.user_agent)
        .bind(to_millis(g.now))
        .bind(to_millis(g.expires_at))
        .bind(g.interval_secs)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn device_grant_by_device_code(&self, hash: &TokenHash) -> StoreResult<Option<DeviceGrant>> {
        self.device_grant_where("device_code_hash", hash.as_str()).await
    }

    pub async fn device_grant_by_user_code(&self, code: &UserCode) -> StoreResult<Option<DeviceGrant>> {
        self.device_grant_where("user_code", code.as_str()).await
    }

    async fn device_grant_where(&self, column: &'static str, value: &str) -> StoreResult<Option<DeviceGrant>> {
        let sql = format!("SELECT {COLUMNS} FROM device_grants WHERE {column} = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(&self.pool).await?;
        row.as_ref().map(DeviceGrant::from_row).transpose()
    }

    /// Takes the grant's poll slot: false when the last poll was under the interval ago
    /// (or a racing poll just took it).
    pub async fn claim_device_poll(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE device_grants SET last_polled_at = $1
             WHERE id = $2 AND (last_polled_at IS NULL OR last_polled_at + interval_secs * 1000 <= $1)",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A poll came too soon: the interval grows by `step` seconds from now on (RFC 8628 §3.5).
    pub async fn slow_device_down(&self, id: &str, step: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE device_grants SET interval_secs = interval_secs + $1, last_polled_at = $2 WHERE id = $3")
            .bind(step)
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Approves or denies a pending, unexpired grant for `user_id`; false when it was
    /// decided already (a code is bound to one approval) or has expired.
    /// `approval` is the approving session's proof, `None` to deny.
    /// `acting`: the deciding credential, which must still be live under the account's
    /// lock (a lock denies approved grants under it; an approval made after would stand).
    pub async fn decide_device_grant(
        &self,
        id: &str,
        user_id: &str,
        acting: super::Acting<'_>,
        approval: Option<Approval<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account_as(&mut tx, user_id, acting).await?;
        let status = if approval.is_some() { GrantStatus::Approved } else { GrantStatus::Denied };
        let done = sqlx::query(
            "UPDATE device_grants SET status = $1, user_id = $2, mfa_passed = $3, approved_auth_at = $6, approved_amr = $7
             WHERE id = $4 AND status = 'pending' AND expires_at > $5",
        )
        .bind(status.as_str())
        .bind(user_id)
        .bind(i64::from(approval.as_ref().is_some_and(|a| a.mfa_passed)))
        .bind(id)
        .bind(to_millis(now))
        .bind(approval.as_ref().map(|a| to_millis(a.auth_at)))
        .bind(approval.as_ref().map(|a| a.amr.stored()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Grants past their lifetime go (their user codes become free again).
    pub async fn prune_device_grants(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM device_grants WHERE expires_at <= $1")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
