//! The occasions that void what is pending for an account (`domain::voiding`): a reset,
//! a lock, an operator's sign-out and disable. Each is one transaction that takes the
//! account row's lock, voids through `pending::void`, and then makes its own change.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::email_tokens::{NewLink, insert_link, lock_link_owner, use_link};
use super::pending::{SignedOut, void};
use super::{LinkPurpose, Store, StoreResult, flag, to_millis};
use crate::domain::mail::Letter;
use crate::domain::voiding::Occasion;

/// How a reset ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetDone {
    /// The address was verified: the owner's factors and tokens stay.
    Reset { user_id: String },
    /// The address was never verified: the mailbox is the first proof of ownership, and
    /// whatever was set up before is gone.
    Reclaimed { user_id: String },
}

impl Store {
    /// Uses a reset link: the new password, the address verified (the link reached it),
    /// and what the occasion voids, in one transaction. `expect_reclaim` is what the
    /// caller checked the second factor against (none asked for a reclaim); `None` when
    /// the link is no longer live, the account is disabled, or the address was verified
    /// meanwhile so that the check no longer fits (nothing is used then).
    pub async fn reset_password(
        &self,
        token_hash: &str,
        hash: &str,
        expect_reclaim: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ResetDone>> {
        let mut tx = self.pool.begin().await?;
        if !lock_link_owner(&mut tx, token_hash).await? {
            return Ok(None);
        }
        let Some(link) = use_link(&mut tx, token_hash, LinkPurpose::Reset, now).await? else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT email_verified FROM users WHERE id = $1 AND disabled_at IS NULL")
            .bind(&link.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let reclaim = !flag(row.try_get("email_verified")?)?;
        if reclaim != expect_reclaim {
            return Ok(None);
        }
        let occasion = if reclaim { Occasion::Reclaim } else { Occasion::Reset };
        void(&mut tx, &link.user_id, &occasion.voids(now), now).await?;
        sqlx::query("UPDATE users SET password_hash = $1, email_verified = 1 WHERE id = $2")
            .bind(hash)
            .bind(&link.user_id)
            .execute(&mut *tx)
            .await?;
        super::users::insert_history(&mut tx, &link.user_id, hash, now).await?;
        tx.commit().await?;
        Ok(Some(if reclaim {
            ResetDone::Reclaimed { user_id: link.user_id }
        } else {
            ResetDone::Reset { user_id: link.user_id }
        }))
    }

    /// Uses a "this wasn't me" link: what a lock voids goes (every session, trusted device,
    /// API token, pending link and device sign-in; factors and provider links of the last
    /// 7 days; the password, which whoever changed something may know); with `restore`,
    /// the address the link was sent to becomes the account's again (when no other
    /// account took it); then the reset link `reset` is issued with its message.
    pub async fn lock_with_link(
        &self,
        token_hash: &str,
        restore: Option<&str>,
        reset: NewLink<'_>,
        letter: &Letter,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.pool.begin().await?;
        if !lock_link_owner(&mut tx, token_hash).await? {
            return Ok(None);
        }
        let Some(link) = use_link(&mut tx, token_hash, LinkPurpose::Lock, reset.now).await? else {
            return Ok(None);
        };
        if link.user_id != reset.user_id {
            return Ok(None);
        }
        void(&mut tx, &link.user_id, &Occasion::Lock.voids(reset.now), reset.now).await?;
        if let Some(address) = restore {
            sqlx::query(
                "UPDATE users SET email = $1, email_verified = 1
                 WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM users other WHERE other.email = $1 AND other.id <> $2)",
            )
            .bind(address)
            .bind(&link.user_id)
            .execute(&mut *tx)
            .await?;
        }
        insert_link(&mut tx, &reset).await?;
        super::outbox::queue_mail(&mut tx, letter, reset.now).await?;
        tx.commit().await?;
        Ok(Some(link.user_id))
    }

    /// Disables (`Some(now)`) or enables (`None`) an account; `None` when there is no
    /// such account. Disabling also voids what a disable voids, in the same transaction.
    pub async fn set_disabled(&self, user_id: &str, at: Option<DateTime<Utc>>) -> StoreResult<Option<SignedOut>> {
        let mut tx = self.pool.begin().await?;
        let found = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(at.map(to_millis))
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if found == 0 {
            return Ok(None);
        }
        let signed_out = match at {
            Some(now) => void(&mut tx, user_id, &Occasion::Disable.voids(now), now).await?,
            None => SignedOut::default(),
        };
        tx.commit().await?;
        Ok(Some(signed_out))
    }

    /// The operator's sign-out: every session, trusted device, pending link and device
    /// sign-in of the account. API tokens stay: they are revoked one by one.
    pub async fn sign_out_everywhere(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<SignedOut> {
        let mut tx = self.pool.begin().await?;
        let signed_out = void(&mut tx, user_id, &Occasion::SignOut.voids(now), now).await?;
        tx.commit().await?;
        Ok(signed_out)
    }
}
