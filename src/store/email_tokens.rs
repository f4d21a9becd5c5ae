//! Single-use links sent by mail (confirm an address, reset a password, lock the account),
//! kept only as hashes, each issued together with the message that carries it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, flag, to_millis};
use crate::domain::limits::RESET_LINK_TRIES;
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
    /// A lock link sent to the old address when it was changed: using it puts it back.
    pub restores_email: bool,
}

/// A link that is live or was just used.
#[derive(Debug, Clone)]
pub struct UsedLink {
    pub user_id: String,
    pub email: String,
    pub restores_email: bool,
}

impl UsedLink {
    fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Self> {
        Ok(Self {
            user_id: r.try_get("user_id")?,
            email: r.try_get("email")?,
            restores_email: flag(r.try_get("restores_email")?)?,
        })
    }
}

/// How issuing a link went.
#[derive(Debug, PartialEq, Eq)]
pub enum Issued {
    Sent,
    /// The address had `max` such messages within the window: nothing was sent.
    TooMany,
}

/// Stores a link in the caller's transaction.
pub(super) async fn insert_link(tx: &mut sqlx::Transaction<'_, sqlx::Any>, link: &NewLink<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at, restores_email) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(link.token_hash)
    .bind(link.user_id)
    .bind(link.purpose.as_str())
    .bind(link.email)
    .bind(to_millis(link.now))
    .bind(to_millis(link.expires_at))
    .bind(i64::from(link.restores_email))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the lock of the account a link belongs to, before the link is used: the account
/// row first, then its links, in every transaction (a lock or reset voids links under the
/// same order), so that two of them can never wait on each other. `false` for no link.
pub(super) async fn lock_link_owner(tx: &mut sqlx::Transaction<'_, sqlx::Any>, token_hash: &str) -> StoreResult<bool> {
    // One write, not a read then a write: on SQLite a transaction that reads first cannot
    // take the write lock while another one waits for it (SQLITE_BUSY at once).
    let done = sqlx::query(
        "UPDATE users SET created_at = created_at WHERE id = (SELECT user_id FROM email_tokens WHERE token_hash = $1)",
    )
    .bind(token_hash)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
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
         RETURNING user_id, email, restores_email",
    )
    .bind(to_millis(now))
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(UsedLink::from_row).transpose()
}

impl Store {
    /// Issues a confirmation or reset link and queues the message that carries it, in one
    /// transaction, unless its address got `max` messages of this kind since
    /// `window_start`. Counted under the account's lock, so parallel requests cannot each
    /// see room for one more. Links already sent stay good: a flood of requests never
    /// costs the owner the link in their mailbox (using one voids the others).
    /// `acting`: the credential of a signed-in request (a change of address, another
    /// confirmation link), which must still be live under the lock.
    pub async fn issue_link(
        &self,
        link: NewLink<'_>,
        acting: Option<super::Acting<'_>>,
        letter: &Letter,
        max: i64,
        window_start: DateTime<Utc>,
    ) -> StoreResult<Issued> {
        let mut tx = self.pool.begin().await?;
        match acting {
            Some(acting) => super::account_lock::lock_account_as(&mut tx, link.user_id, acting).await?,
            None => super::account_lock::lock_account(&mut tx, link.user_id).await?,
        }
        let issued: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM email_tokens WHERE email = $1 AND purpose = $2 AND created_at > $3")
                .bind(link.email)
                .bind(link.purpose.as_str())
                .bind(to_millis(window_start))
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if issued >= max {
            return Ok(Issued::TooMany);
        }
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

    /// A link that is still good, without using it (to show its page, or to refuse a dead
    /// one with a read before anything writes); a reset link out of tries is not.
    pub async fn live_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UsedLink>> {
        let row = sqlx::query(
            "SELECT user_id, email, restores_email FROM email_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 AND tries < $4",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(to_millis(now))
        .bind(RESET_LINK_TRIES)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(UsedLink::from_row).transpose()
    }

    /// Counts one try of a reset link before anything is checked (no password is hashed
    /// for a link that is not live); `None` when the link is unknown, used, expired or
    /// has had its `RESET_LINK_TRIES` tries.
    pub async fn claim_reset_try(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<UsedLink>> {
        let row = sqlx::query(
            "UPDATE email_tokens SET tries = tries + 1
             WHERE token_hash = $1 AND purpose = 'reset' AND used_at IS NULL AND expires_at > $2 AND tries < $3
             RETURNING user_id, email, restores_email",
        )
        .bind(token_hash)
        .bind(to_millis(now))
        .bind(RESET_LINK_TRIES)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(UsedLink::from_row).transpose()
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
    /// is verified; the account's other confirmation links are void. `None` for a link
    /// that is not live or an account that is disabled; `Conflict` when another account
    /// took that address meanwhile.
    pub async fn confirm_email(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Confirmed>> {
        let mut tx = self.pool.begin().await?;
        if !lock_link_owner(&mut tx, token_hash).await? {
            return Ok(None);
        }
        let Some(link) = use_link(&mut tx, token_hash, LinkPurpose::Verify, now).await? else {
            return Ok(None);
        };
        let old = sqlx::query("SELECT email FROM users WHERE id = $1 AND disabled_at IS NULL")
            .bind(&link.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        // Dropping the transaction puts the link back: it works again once enabled.
        let Some(old) = old else { return Ok(None) };
        let old: String = old.try_get("email")?;
        sqlx::query("UPDATE users SET email = $1, email_verified = 1 WHERE id = $2")
            .bind(&link.email)
            .bind(&link.user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'verify' AND used_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(&link.user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Confirmed { user_id: link.user_id, old_email: old, email: link.email }))
    }
}

/// An address confirmed through its link.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub user_id: String,
    pub old_email: String,
    pub email: String,
}
