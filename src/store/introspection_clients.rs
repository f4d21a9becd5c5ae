//! The apps allowed to introspect tokens (RFC 7662), with their secrets as hashes.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, from_millis, new_id, to_millis};

#[derive(Debug, Clone)]
pub struct IntrospectionClient {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    pub async fn add_introspection_client(
        &self,
        name: &str,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<IntrospectionClient> {
        let id = new_id();
        sqlx::query("INSERT INTO introspection_clients (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(name)
            .bind(secret_hash)
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(IntrospectionClient { id, name: name.to_owned(), created_at: now })
    }

    pub async fn introspection_clients(&self) -> StoreResult<Vec<IntrospectionClient>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM introspection_clients ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(IntrospectionClient {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_at: from_millis(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    /// False when there was no such client.
    pub async fn remove_introspection_client(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM introspection_clients WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// The stored hash of a client's secret.
    pub async fn introspection_secret_hash(&self, id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT secret_hash FROM introspection_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("secret_hash")?)).transpose()
    }
}
