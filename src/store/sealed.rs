//! The values sealed with the secret key that outlive a few minutes, listed and replaced
//! for `latchkey secret-key reencrypt`.

use sqlx::Row;

use super::{Store, StoreResult};

/// Where a sealed value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedSource {
    KeyCheck,
    Totp,
    PendingTotp,
}

/// A value sealed with the secret key, as stored: `owner` is the row's key (the account
/// id for authenticator secrets, which is also what they were sealed for).
#[derive(Debug, Clone)]
pub struct SealedValue {
    pub source: SealedSource,
    pub owner: String,
    pub sealed: String,
}

impl Store {
    /// Every value sealed with the secret key that outlives a few minutes: the key-check
    /// sample and the authenticator secrets, confirmed and pending, with the context each
    /// was sealed for. (A provider sign-in's sealed PKCE verifier lives 10 minutes.)
    pub async fn sealed_values(&self) -> StoreResult<Vec<SealedValue>> {
        let rows = sqlx::query(
            "SELECT 'key_check' AS source, CAST(id AS TEXT) AS owner, sealed FROM key_check
             UNION ALL SELECT 'totp_credentials', user_id, secret_sealed FROM totp_credentials
             UNION ALL SELECT 'totp_pending', user_id, secret_sealed FROM totp_pending",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let source = match r.try_get::<String, _>("source")?.as_str() {
                    "key_check" => SealedSource::KeyCheck,
                    "totp_credentials" => SealedSource::Totp,
                    _ => SealedSource::PendingTotp,
                };
                Ok(SealedValue { source, owner: r.try_get("owner")?, sealed: r.try_get("sealed")? })
            })
            .collect()
    }

    /// Puts `resealed` in place of `value`, unless the row changed meanwhile (a server
    /// re-enrolled it with the current key): safe while serving.
    pub async fn reseal(&self, value: &SealedValue, resealed: &str) -> StoreResult<bool> {
        let sql = match value.source {
            SealedSource::KeyCheck => "UPDATE key_check SET sealed = $1 WHERE CAST(id AS TEXT) = $2 AND sealed = $3",
            SealedSource::Totp => {
                "UPDATE totp_credentials SET secret_sealed = $1 WHERE user_id = $2 AND secret_sealed = $3"
            }
            SealedSource::PendingTotp => {
                "UPDATE totp_pending SET secret_sealed = $1 WHERE user_id = $2 AND secret_sealed = $3"
            }
        };
        let done = sqlx::query(sql).bind(resealed).bind(&value.owner).bind(&value.sealed).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }
}
