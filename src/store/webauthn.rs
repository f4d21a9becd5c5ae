//! Security keys and the WebAuthn ceremonies in flight, each ceremony taken exactly once.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, from_millis, new_id, to_millis};

#[derive(Debug, Clone)]
pub struct WebauthnKeyRecord {
    pub id: String,
    pub name: String,
    /// The credential as webauthn-rs serialises it (public key, counter, ...).
    pub credential: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A started ceremony, taken back exactly once.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub user_id: String,
    pub state: String,
    pub name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    pub async fn webauthn_keys(&self, user_id: &str) -> StoreResult<Vec<WebauthnKeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, credential, created_at, last_used_at FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WebauthnKeyRecord {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    credential: r.try_get("credential")?,
                    created_at: from_millis(r.try_get("created_at")?)?,
                    last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(from_millis).transpose()?,
                })
            })
            .collect()
    }

    /// Stores a key and, when this turns 2FA on, the first backup codes, in one transaction.
    pub async fn add_webauthn_key(
        &self,
        user_id: &str,
        name: &str,
        credential_id: &str,
        credential: &str,
        backup_code_hashes: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        super::users::lock_account(&mut tx, user_id).await?;
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if held >= crate::domain::limits::MAX_WEBAUTHN_KEYS {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO webauthn_credentials (id, user_id, name, credential_id, credential, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(credential_id)
        .bind(credential)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if let Some(hashes) = backup_code_hashes {
            super::two_factor::replace_codes(&mut tx, user_id, hashes, now).await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    pub async fn update_webauthn_key(&self, id: &str, credential: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE webauthn_credentials SET credential = $1, last_used_at = $2 WHERE id = $3")
            .bind(credential)
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn put_ceremony(
        &self,
        id: &str,
        user_id: &str,
        kind: &str,
        state: &str,
        name: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO webauthn_ceremonies (id, user_id, kind, state, name, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(user_id)
            .bind(kind)
            .bind(state)
            .bind(name)
            .bind(to_millis(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes a ceremony out of the table: of two racing finishes only one gets it.
    pub async fn take_ceremony(&self, id: &str, kind: &str) -> StoreResult<Option<Ceremony>> {
        let row =
            sqlx::query("SELECT user_id, state, name, expires_at FROM webauthn_ceremonies WHERE id = $1 AND kind = $2")
                .bind(id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
        let Some(r) = row else { return Ok(None) };
        let taken = sqlx::query("DELETE FROM webauthn_ceremonies WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if taken != 1 {
            return Ok(None);
        }
        Ok(Some(Ceremony {
            user_id: r.try_get("user_id")?,
            state: r.try_get("state")?,
            name: r.try_get("name")?,
            expires_at: from_millis(r.try_get("expires_at")?)?,
        }))
    }

    pub async fn prune_ceremonies(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
