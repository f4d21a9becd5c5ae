//! Sessions: created at sign-in (under the password-hash guard and the per-account cap),
//! looked up on the hot path, touched, revoked.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::batch::Lookup;
use super::columns::Columns;
use super::email_tokens::{NewLink, insert_link};
use super::users::AccountColumns;
use super::{
    LinkPurpose, Store, StoreError, StoreResult, device_from_row, flag, from_millis, location_from_row, new_id,
    to_millis,
};
use crate::domain::account::{AccountIdentity, AccountSummary};
use crate::domain::device::Device;
use crate::domain::limits::MAX_SESSIONS;
use crate::domain::location::Location;
use crate::domain::mail::Letter;
use crate::domain::proof::Amr;
use crate::domain::session::SessionRecord;
use crate::domain::sign_in::{SignInAttempt, is_new_device};
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
    /// How the session was proven.
    pub amr: &'a Amr,
    /// The sign-in's row of login history, written in the same transaction.
    pub history: Option<HistoryRow<'a>>,
    /// The new-sign-in alert, queued in the same transaction when the sign-in turns out to
    /// be from a device not seen before.
    pub alert: Option<NewDeviceAlert<'a>>,
}

/// A successful sign-in's row of login history.
pub struct HistoryRow<'a> {
    pub attempt: &'a SignInAttempt,
    pub device_label: &'a str,
    /// The address's /24 or /48: with the user agent, what tells a known device.
    pub network: &'a str,
}

/// What the new-sign-in alert needs, prepared before the transaction: its lock link (only
/// the hash) and a letter written for whatever address the account has.
pub struct NewDeviceAlert<'a> {
    /// A trusted-device token issued to the account vouched for the device.
    pub recognised: bool,
    pub lock_hash: &'a str,
    pub lock_expires_at: DateTime<Utc>,
    pub compose: &'a (dyn Fn(&str) -> Letter + Sync),
}

/// A session just created.
#[derive(Debug, Clone)]
pub struct Started {
    pub id: String,
    /// The new-sign-in alert was queued.
    pub alerted: bool,
}

const SESSION_COLUMNS: &str = "id, user_id, device_kind, device_name, ip, country, city, location_label, created_at, last_activity_at, expires_at, auth_at, trusted_device_id, amr";

fn amr_from(stored: String) -> StoreResult<Amr> {
    Amr::parse_stored(&stored).ok_or_else(|| super::corrupt(format!("an amr of {stored:?}")))
}

fn session_record(row: &sqlx::any::AnyRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
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
        amr: amr_from(row.try_get("amr")?)?,
    })
}

/// A live session as authentication reads it, with its account: all of it
/// (`AccountSummary`), or only who it is (`AccountIdentity`) for a proxy's question.
#[derive(Debug, Clone)]
pub struct ActiveSession<A = AccountSummary> {
    pub id: String,
    pub user_id: String,
    pub last_activity_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub auth_at: DateTime<Utc>,
    pub trusted_device_id: Option<String>,
    pub amr: Amr,
    pub account: A,
}

/// Sessions by token hash, each with its account: one query answers a batch of requests.
impl<A: AccountColumns> Lookup for ActiveSession<A> {
    const KEY: &'static str = "s.token_hash";

    fn select() -> String {
        format!(
            "SELECT s.token_hash AS batch_key, s.id, s.user_id, s.last_activity_at, s.expires_at, s.auth_at, s.trusted_device_id, s.amr, {}
             FROM sessions s JOIN users ON users.id = s.user_id",
            A::columns()
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
            amr: amr_from(row.text("amr")?)?,
            account: A::decode(row)?,
        })
    }
}

impl Store {
    /// Creates a session, and with it the sign-in's row of login history and (for a device
    /// not seen before) the new-sign-in alert, in one transaction: how every sign-in ends.
    /// `Conflict` when the account was disabled, or its password changed, since the
    /// sign-in was checked (or the device grant it collects was voided).
    pub async fn create_session(&self, s: NewSession<'_>) -> StoreResult<Started> {
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
        // Decided before this sign-in's own row is written: is the device news?
        let alert_to = match &s.alert {
            Some(alert) => new_device_alert_to(&mut tx, s.user_id, alert, s.history.as_ref()).await?,
            None => None,
        };
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, device_kind, device_name, ip, country, city, location_label, user_agent, created_at, last_activity_at, expires_at, auth_at, trusted_device_id, amr)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $14, $13, $15)",
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
        .bind(s.amr.stored())
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
        if let Some(h) = &s.history {
            super::login_history::insert(&mut tx, h.attempt, h.device_label, h.network).await?;
        }
        let alerted = match (alert_to, &s.alert) {
            (Some(email), Some(alert)) => {
                let link = NewLink {
                    token_hash: alert.lock_hash,
                    user_id: s.user_id,
                    purpose: LinkPurpose::Lock,
                    email: &email,
                    now: s.now,
                    expires_at: alert.lock_expires_at,
                    restores_email: false,
                };
                insert_link(&mut tx, &link).await?;
                super::outbox::queue_mail(&mut tx, &(alert.compose)(&email), s.now).await?;
                true
            }
            _ => false,
        };
        tx.commit().await?;
        Ok(Started { id, alerted })
    }

    /// The hot path: an indexed lookup by token hash, coalesced with concurrent ones.
    pub async fn session_by_token(&self, token_hash: &TokenHash) -> StoreResult<Option<ActiveSession>> {
        self.hot.sessions.get(token_hash.as_str().to_owned()).await
    }

    /// The same lookup without the factor counts: a proxy's question about a session.
    pub async fn session_identity_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<ActiveSession<AccountIdentity>>> {
        self.hot.session_identities.get(token_hash.as_str().to_owned()).await
    }

    pub async fn sessions_of(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY last_activity_at DESC, id DESC"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_record).collect()
    }

    /// When a session was issued (RFC 7662 `iat`).
    pub async fn session_created_at(&self, id: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let row =
            sqlx::query("SELECT created_at FROM sessions WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| from_millis(r.try_get("created_at")?)).transpose()
    }

    pub async fn touch_session(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_activity_at = $1 WHERE id = $2 AND last_activity_at < $1")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A re-authentication or step-up: the proof moves to `now` and `amr` (what the
    /// session had, with what was just proven) is the session's.
    pub async fn mark_session_authenticated(&self, id: &str, now: DateTime<Utc>, amr: &Amr) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET auth_at = $1, amr = $3 WHERE id = $2")
            .bind(to_millis(now))
            .bind(id)
            .bind(amr.stored())
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

/// The address to alert about this sign-in, or `None` when it is not news (see
/// `domain::sign_in::is_new_device`) or the account turned the alert off. Read in the
/// session's transaction, before the sign-in's own history row is written.
async fn new_device_alert_to(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    alert: &NewDeviceAlert<'_>,
    history: Option<&HistoryRow<'_>>,
) -> StoreResult<Option<String>> {
    let Some(h) = history else { return Ok(None) };
    let row = sqlx::query(
        "SELECT email, notify_new_sign_in,
           CAST(CASE WHEN EXISTS (SELECT 1 FROM login_history WHERE user_id = $1 AND success = 1) THEN 1 ELSE 0 END AS BIGINT) AS signed_in_before,
           CAST(CASE WHEN EXISTS (SELECT 1 FROM login_history WHERE user_id = $1 AND success = 1
                          AND network = $3 AND user_agent IS NOT DISTINCT FROM $2) THEN 1 ELSE 0 END AS BIGINT) AS seen
         FROM users WHERE id = $1",
    )
    .bind(user_id)
    .bind(h.attempt.user_agent.as_deref())
    .bind(h.network)
    .fetch_one(&mut **tx)
    .await?;
    let news = is_new_device(alert.recognised, flag(row.try_get("signed_in_before")?)?, flag(row.try_get("seen")?)?);
    Ok((news && flag(row.try_get("notify_new_sign_in")?)?).then(|| row.try_get("email")).transpose()?)
}
