//! A workspace's activity: who changed what, newest first.

use sqlx::Row;

use super::{Store, StoreResult, corrupt, from_millis, new_id, to_millis};
use crate::domain::workspace::events::{Event, NewEvent};

/// Written in the transaction of the change it records.
pub(super) async fn insert_event(tx: &mut sqlx::Transaction<'_, sqlx::Any>, e: &NewEvent<'_>) -> StoreResult<()> {
    let detail = serde_json::to_string(&e.detail).map_err(|err| corrupt(err.to_string()))?;
    sqlx::query(
        "INSERT INTO workspace_events (id, workspace_id, at, actor_id, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(e.workspace_id)
    .bind(to_millis(e.at))
    .bind(e.actor_id)
    .bind(e.kind.as_str())
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Newest first; `before` is the id of the last event of the previous page.
    pub async fn workspace_events(
        &self,
        workspace_id: &str,
        limit: u32,
        before: Option<&str>,
    ) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT e.id, e.at, e.kind, e.detail, u.email AS actor_email FROM workspace_events e
             LEFT JOIN users u ON u.id = e.actor_id
             WHERE e.workspace_id = $1 AND ($2 = '' OR e.id < $2) ORDER BY e.id DESC LIMIT $3",
        )
        .bind(workspace_id)
        .bind(before.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get("detail")?;
                Ok(Event {
                    id: r.try_get("id")?,
                    at: from_millis(r.try_get("at")?)?,
                    actor_email: r.try_get("actor_email")?,
                    kind: r.try_get("kind")?,
                    detail: serde_json::from_str(&detail).map_err(|e| corrupt(format!("an event detail: {e}")))?,
                })
            })
            .collect()
    }
}
