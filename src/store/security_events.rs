//! Security events: what changed an account's protection, newest first.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, from_millis, location_from_row, new_id, to_millis};
use crate::domain::location::Location;

/// Something that changed the account's security, as it is written.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub user_id: String,
    pub at: DateTime<Utc>,
    pub kind: &'static str,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub location: Location,
    pub detail: Option<String>,
}

/// A stored event, as read back.
#[derive(Debug, Clone)]
pub struct SecurityEventRecord {
    pub id: String,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub location: Location,
    pub detail: Option<String>,
}

impl Store {
    /// Records an event and, for one that alerts, its lock link and mail, in one transaction.
    pub async fn record_security_event(
        &self,
        e: &SecurityEvent,
        alert: Option<(super::NewLink<'_>, &crate::domain::mail::Letter)>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO security_events (id, user_id, at, kind, ip, user_agent, country, city, location_label, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id())
        .bind(&e.user_id)
        .bind(to_millis(e.at))
        .bind(e.kind)
        .bind(e.ip.as_deref())
        .bind(e.user_agent.as_deref())
        .bind(e.location.country.as_deref())
        .bind(e.location.city.as_deref())
        .bind(&e.location.label)
        .bind(e.detail.as_deref())
        .execute(&mut *tx)
        .await?;
        if let Some((link, letter)) = alert {
            super::email_tokens::insert_link(&mut tx, &link).await?;
            super::outbox::queue_mail(&mut tx, letter, e.at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Newest first; `before` is the id of the last event of the previous page.
    pub async fn security_events(
        &self,
        user_id: &str,
        limit: u32,
        before: Option<&str>,
    ) -> StoreResult<Vec<SecurityEventRecord>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, ip, user_agent, country, city, location_label, detail FROM security_events
             WHERE user_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(user_id)
        .bind(before.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SecurityEventRecord {
                    id: r.try_get("id")?,
                    at: from_millis(r.try_get("at")?)?,
                    kind: r.try_get("kind")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    location: location_from_row(r)?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
