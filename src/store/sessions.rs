//! Sessions: created at sign-in (under the password-hash guard and the per-account cap),
//! looked up on the hot path, touched, revoked.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::batch::Lookup;
use super::columns::Columns;
use super::factors::FACTOR_COLUMNS;
use super::users::{ACCOUNT_COLUMNS, AccountSummary};
use super::{Store, StoreError, StoreResult, device_from_row, from_millis, location_from_row, new_id, to_millis};
use crate::domain::device::Device;
use crate::domain::limits::MAX_SESSIONS;
use crate::domain::location::Location;
use crate::domain::token::TokenHash;

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a TokenHash,
    pub device: &'a Device,
    pub ip: &'a str,
    pub location: &'a Location,
    pub user_agent: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The trusted device this sign-in used or created, if any.
    pub trusted_device_id: Option<&'a str>,
    /// The password hash the sign-in was checked against: the session is created only if
    /// it is still the account's, so a sign-in racing a password change cannot outlive it.
    pub password_hash: Option<&'a str>,
    /// When the session's proof happened, if not now (a device sign-in carries the
    /// approving session's).
    pub auth_at: Option<DateTime<Utc>>,
    /// The approved device grant this session collects: it moves to `issued` in the same
    /// transaction, after the account row's lock, so a lock or sign-out that voided it
    /// first leaves no session behind.
    pub device_grant_id: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub device: Device,
    pub ip: String,
    pub location: Location,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub auth_at: DateTime<Utc>,
    pub trusted_device_id: Option<String>,
}

const SESSION_COLUMNS: &str = "id, user_id, device_kind, device_name, ip, country, city, location_label, created_at, last_activity_at, expires_at, auth_at, trusted_device_id";

impl SessionRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            device: device_from_row(row)?,
            ip: row.try_get("ip")?,
            location: location_from_row(row)?,
            created_at: from_millis(row.try_get("created_at")?)?,
            last_activity_at: from_millis(row.try_get("last_activity_at")?)?,
            expires_at: from_millis(row.try_get("expires_at")?)?,
            auth_at: from_millis(row.try_get("auth_at")?)?,
            trusted_device_id: row.try_get("trusted_device_id")?,
        })
    }
}

/// A live session as authentication reads it, with its account.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub id: String,
    pub user_id: String,
    pub last_activity_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub auth_at: DateTime<Utc>,
    pub trusted_device_id: Option<String>,
    pub account: AccountSummary,
}

/// Sessions by token hash, each with its account: one query answers a batch of requests.
impl Lookup for ActiveSession {
    const KEY: &'static str = "s.token_hash";

    fn select() -> String {
        format!(
            "SELECT s.token_hash AS batch_key, s.id, s.user_id, s.last_activity_at, s.expires_at, s.auth_at, s.trusted_device_id, {ACCOUNT_COLUMNS}, {FACTOR_COLUMNS}
             FROM sessions s JOIN users ON users.id = s.user_id"
        )
    }

    fn decode<R: Columns>(row: &R) -> StoreResult<Self> {
        Ok(Self {
            id: row.text("id")?,
            user_id: row.text("user_id")?,
            last_activity_at: from_millis(row.int("last_activity_at")?)?,
            expires_at: from_millis(row.int("expires_at")?)?,
            auth_at: from_millis(row.int("auth_at")?)?,
            trusted_device_id: row.opt_text("trusted_device_id")?,
            account: AccountSummary::from_row(row)?,
        })
    }
}

impl Store {
    /// Creates a session; `Conflict` when the account was disabled, or its password
    /// changed, since the sign-in was checked.
    pub async fn create_session(&self, s: NewSession<'_>) -> StoreResult<String> {
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        // Writing the account row first takes its lock: a password change or a disable in
        // flight (each writes the same row first) either commits before this, and the row
        // no longer matches, or waits for this, and then signs this session out.
        let sql = match s.password_hash {
            Some(_) => {
                "UPDATE users SET last_login_at = $1 WHERE id = $2 AND disabled_at IS NULL AND password_hash = $3"
            }
            None => "UPDATE users SET last_login_at = $1 WHERE id = $2 AND disabled_at IS NULL",
        };
        let mut update = sqlx::query(sql).bind(to_millis(s.now)).bind(s.user_id);
        if let Some(hash) = s.password_hash {
            update = update.bind(hash);
        }
        if update.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        if let Some(grant) = s.device_grant_id {
            let issued = sqlx::query(
                "UPDATE device_grants SET status = 'issued' WHERE id = $1 AND user_id = $2 AND status = 'approved' AND expires_at > $3",
            )
            .bind(grant)
            .bind(s.user_id)
            .bind(to_millis(s.now))
            .execute(&mut *tx)
            .await?;
            if issued.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
        }
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, device_kind, device_name, ip, country, city, location_label, user_agent, created_at, last_activity_at, expires_at, auth_at, trusted_device_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $14, $13)",
        )
        .bind(&id)
        .bind(s.user_id)
        .bind(s.token_hash.as_str())
        .bind(s.device.kind.as_str())
        .bind(&s.device.name)
        .bind(s.ip)
        .bind(s.location.country.as_deref())
        .bind(s.location.city.as_deref())
        .bind(&s.location.label)
        .bind(s.user_agent)
        .bind(to_millis(s.now))
        .bind(to_millis(s.expires_at))
        .bind(s.trusted_device_id)
        .bind(to_millis(s.auth_at.unwrap_or(s.now)))
        .execute(&mut *tx)
        .await?;
        // Past the cap, the oldest sessions are signed out.
        sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND id NOT IN
               (SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
        )
        .bind(s.user_id)
        .bind(MAX_SESSIONS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The hot path: an indexed lookup by token hash, coalesced with concurrent ones.
    pub async fn session_by_token(&self, token_hash: &TokenHash) -> StoreResult<Option<ActiveSession>> {
        self.hot.sessions.get(token_hash.as_str().to_owned()).await
    }

    pub async fn sessions_of(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY last_activity_at DESC, id DESC"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(SessionRecord::from_row).collect()
    }

    pub async fn touch_session(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_activity_at = $1 WHERE id = $2 AND last_activity_at < $1")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_session_authenticated(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET auth_at = $1 WHERE id = $2")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes one session of one account; false when there was no such session.
    pub async fn delete_session(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_other_sessions(&self, user_id: &str, keep: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Removes sessions past their absolute expiry or idle for longer than `idle_before`.
    pub async fn prune_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> StoreResult<u64> {
        let sql = "DELETE FROM sessions WHERE id IN \
                   (SELECT id FROM sessions WHERE expires_at <= $1 OR last_activity_at <= $2 LIMIT $3)";
        self.delete_in_batches(sql, super::PRUNE_BATCH, |q| q.bind(to_millis(now)).bind(to_millis(idle_before))).await
    }
}
