//! The mail outbox: rows written with the change that causes them, claimed by one worker
//! at a time on a lease, sent, then blanked.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Backend, Store, StoreResult, new_id, to_millis};
use crate::domain::mail::Letter;

/// A message claimed for sending.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: String,
    pub letter: Letter,
    /// Including this one.
    pub attempts: i64,
}

/// Queues `letter` inside the caller's transaction: it is sent if and only if that commits.
pub(super) async fn queue_mail(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    letter: &Letter,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, recipient, subject, text_body, html_body, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(new_id())
    .bind(&letter.to)
    .bind(&letter.subject)
    .bind(&letter.text)
    .bind(&letter.html)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Queues a message on its own (one that no change goes with).
    pub async fn queue_mail(&self, letter: &Letter, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        queue_mail(&mut tx, letter, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` due messages for `lease`: no other worker takes them meanwhile,
    /// and a worker that dies with them loses nothing, as the lease runs out.
    pub async fn claim_mail(&self, now: DateTime<Utc>, lease: Duration, limit: i64) -> StoreResult<Vec<QueuedMail>> {
        // PostgreSQL: rows another instance is claiming are skipped, not waited for. The
        // outer conditions are checked again on the locked row either way.
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE sent_at IS NULL AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2)
                          ORDER BY next_attempt_at LIMIT $3 {lock})
               AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $2)
             RETURNING id, recipient, subject, text_body, html_body, attempts"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_millis(now + lease))
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedMail {
                    id: r.try_get("id")?,
                    letter: Letter {
                        to: r.try_get("recipient")?,
                        subject: r.try_get("subject")?,
                        text: r.try_get("text_body")?,
                        html: r.try_get("html_body")?,
                    },
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Sent: the bodies go (they may hold single-use links); the row stays as a record.
    pub async fn mail_sent(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET sent_at = $1, claimed_until = NULL, text_body = '', html_body = '', last_error = NULL WHERE id = $2",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Not sent this time: released for another try at `retry_at`.
    pub async fn mail_failed(&self, id: &str, error: &str, retry_at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET claimed_until = NULL, next_attempt_at = $1, last_error = $2 WHERE id = $3")
            .bind(to_millis(retry_at))
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Messages not sent yet.
    pub async fn mail_waiting(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// Forgets sent messages older than `before`.
    pub async fn prune_sent_mail(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
