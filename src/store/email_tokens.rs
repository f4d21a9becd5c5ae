//! Single-use links sent by mail (confirm an address, reset a password, lock the account),
//! kept only as hashes, each issued together with the message that carries it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, to_millis};
use crate::domain::mail::Letter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Verify,
    Reset,
    Lock,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::Lock => "lock",
        }
    }
}

pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a str,
    pub purpose: LinkPurpose,
    /// The address the link confirms (for `Verify`), or the one it was sent to.
    pub email: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A link that was just used.
#[derive(Debug, Clone)]
pub struct UsedLink {
    pub user_id: String,
    pub email: String,
}

/// How issuing a link went.
#[derive(Debug, PartialEq, Eq)]
pub enum Issued {
    Sent,
    /// The account had `max` such links within the window: nothing was sent.
    TooMany,
}

/// Stores a link in the caller's transaction.
pub(super) async fn insert_link(tx: &mut sqlx::Transaction<'_, sqlx::Any>, link: &NewLink<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(link.token_hash)
    .bind(link.user_id)
    .bind(link.purpose.as_str())
    .bind(link.email)
    .bind(to_millis(link.now))
    .bind(to_millis(link.expires_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Issues a confirmation or reset link and queues the message that carries it, in one
    /// transaction. Older unused links of the same purpose are voided (the newest one
    /// works), and at most
    /// `max` are issued per account since `window_start`: counted under the account's lock,
    /// so parallel requests cannot each see room for one more.
    pub async fn issue_link(
        &self,
        link: NewLink<'_>,
        letter: &Letter,
        max: i64,
        window_start: DateTime<Utc>,
    ) -> StoreResult<Issued> {
        let mut tx = self.pool.begin().await?;
        super::users::lock_account(&mut tx, link.user_id).await?;
        let issued: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > $3",
        )
        .bind(link.user_id)
        .bind(link.purpose.as_str())
        .bind(to_millis(window_start))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if issued >= max {
            return Ok(Issued::TooMany);
        }
        sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(to_millis(link.now))
            .bind(link.user_id)
            .bind(link.purpose.as_str())
            .execute(&mut *tx)
            .await?;
        insert_link(&mut tx, &link).await?;
        super::outbox::queue_mail(&mut tx, letter, link.now).await?;
        tx.commit().await?;
        Ok(Issued::Sent)
    }

    /// Stores a link that needs no limit or voiding (an alert's lock link) and queues its
    /// message, in one transaction.
    pub async fn queue_link(&self, link: NewLink<'_>, letter: &Letter) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_link(&mut tx, &link).await?;
        super::outbox::queue_mail(&mut tx, letter, link.now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A link that is still good, without using it (to show its page).
    pub async fn live_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UsedLink>> {
        let row = sqlx::query(
            "SELECT user_id, email FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(to_millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(UsedLink { user_id: r.try_get("user_id")?, email: r.try_get("email")? })).transpose()
    }

    /// Uses a link: of two racing requests exactly one gets it.
    pub(super) async fn use_link(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UsedLink>> {
        let row = sqlx::query(
            "UPDATE email_tokens SET used_at = $1
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING user_id, email",
        )
        .bind(to_millis(now))
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| Ok(UsedLink { user_id: r.try_get("user_id")?, email: r.try_get("email")? })).transpose()
    }

    pub async fn prune_links(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        // Used and expired links are kept a day past expiry: the per-hour count reads them.
        let before = now - chrono::Duration::days(1);
        let done = sqlx::query("DELETE FROM email_tokens WHERE expires_at < $1")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Uses a confirmation link: the account's address becomes the one it confirms, and
    /// is verified. `Conflict` when another account took that address meanwhile.
    pub async fn confirm_email(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Confirmed>> {
        let mut tx = self.pool.begin().await?;
        let Some(link) = Self::use_link(&mut tx, token_hash, LinkPurpose::Verify, now).await? else {
            return Ok(None);
        };
        let old: String = sqlx::query("SELECT email FROM users WHERE id = $1")
            .bind(&link.user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("email")?;
        sqlx::query("UPDATE users SET email = $1, email_verified = 1 WHERE id = $2")
            .bind(&link.email)
            .bind(&link.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Confirmed { user_id: link.user_id, old_email: old, email: link.email }))
    }

    /// Uses a reset link: the new password, every session, trusted device and second step
    /// in flight signed out, the address verified (the link reached it), in one transaction.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.pool.begin().await?;
        let Some(link) = Self::use_link(&mut tx, token_hash, LinkPurpose::Reset, now).await? else {
            return Ok(None);
        };
        sqlx::query("UPDATE users SET password_hash = $1, email_verified = 1 WHERE id = $2")
            .bind(hash)
            .bind(&link.user_id)
            .execute(&mut *tx)
            .await?;
        super::users::insert_history(&mut tx, &link.user_id, hash, now).await?;
        super::users::sign_out(&mut tx, &link.user_id).await?;
        tx.commit().await?;
        Ok(Some(link.user_id))
    }

    /// Uses a "this wasn't me" link: every session, trusted device and API token goes, the
    /// password stops working (whoever knows it may be the intruder), and the reset link
    /// `reset` is issued with its message, in one transaction.
    pub async fn lock_with_link(
        &self,
        token_hash: &str,
        reset: NewLink<'_>,
        letter: &Letter,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.pool.begin().await?;
        let Some(link) = Self::use_link(&mut tx, token_hash, LinkPurpose::Lock, reset.now).await? else {
            return Ok(None);
        };
        if link.user_id != reset.user_id {
            return Ok(None);
        }
        super::users::sign_out(&mut tx, &link.user_id).await?;
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(&link.user_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE users SET password_hash = NULL WHERE id = $1")
            .bind(&link.user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'reset' AND used_at IS NULL",
        )
        .bind(to_millis(reset.now))
        .bind(&link.user_id)
        .execute(&mut *tx)
        .await?;
        insert_link(&mut tx, &reset).await?;
        super::outbox::queue_mail(&mut tx, letter, reset.now).await?;
        tx.commit().await?;
        Ok(Some(link.user_id))
    }
}

/// An address confirmed through its link.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub user_id: String,
    pub old_email: String,
    pub email: String,
}
