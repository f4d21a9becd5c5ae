//! Personal access tokens, stored as hashes, capped per account, looked up on the hot
//! path.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::batch::Lookup;
use super::columns::Columns;
use super::users::AccountColumns;
use super::{Store, StoreResult, from_millis, new_id, to_millis};
use crate::domain::account::{AccountIdentity, AccountSummary};
use crate::domain::api_token::ApiToken;
use crate::domain::token::TokenHash;

impl ApiToken {
    fn from_row<R: Columns>(r: &R) -> StoreResult<Self> {
        Ok(Self {
            id: r.text("id")?,
            user_id: r.text("user_id")?,
            name: r.text("name")?,
            created_at: from_millis(r.int("created_at")?)?,
            last_used_at: r.opt_int("last_used_at")?.map(from_millis).transpose()?,
            expires_at: r.opt_int("expires_at")?.map(from_millis).transpose()?,
        })
    }
}

/// A bot's token as authentication reads it, with its account (all of it, or only who it
/// is: see `ActiveSession`).
#[derive(Debug, Clone)]
pub struct ActiveApiToken<A = AccountSummary> {
    pub token: ApiToken,
    pub account: A,
}

/// API tokens by hash, each with its account: one query answers a batch of requests.
impl<A: AccountColumns> Lookup for ActiveApiToken<A> {
    const KEY: &'static str = "t.token_hash";

    fn select() -> String {
        format!(
            "SELECT t.token_hash AS batch_key, t.id, t.user_id, t.name, t.created_at, t.last_used_at, t.expires_at, {}
             FROM api_tokens t JOIN users ON users.id = t.user_id",
            A::columns()
        )
    }

    fn decode<R: Columns>(row: &R) -> StoreResult<Self> {
        Ok(Self { token: ApiToken::from_row(row)?, account: A::decode(row)? })
    }
}

impl Store {
    pub async fn create_api_token(
        &self,
        user_id: &str,
        acting: super::Acting<'_>,
        name: &str,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<ApiToken>> {
        let id = new_id();
        // Counted and inserted under the account's lock, so racing creations stop at the cap.
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account_as(&mut tx, user_id, acting).await?;
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if held >= crate::domain::limits::MAX_API_TOKENS {
            return Ok(None);
        }
        sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(user_id)
            .bind(name)
            .bind(token_hash.as_str())
            .bind(to_millis(now))
            .bind(expires_at.map(to_millis))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ApiToken {
            id,
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            created_at: now,
            last_used_at: None,
            expires_at,
        }))
    }

    /// A bot's every request: coalesced with concurrent lookups, like sessions.
    pub async fn api_token_by_hash(&self, token_hash: &TokenHash) -> StoreResult<Option<ActiveApiToken>> {
        self.hot.api_tokens.get(token_hash.as_str().to_owned()).await
    }

    /// The same lookup without the factor counts: a proxy's question about a token.
    pub async fn api_token_identity_by_hash(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<ActiveApiToken<AccountIdentity>>> {
        self.hot.api_token_identities.get(token_hash.as_str().to_owned()).await
    }

    pub async fn api_tokens_of(&self, user_id: &str) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ApiToken::from_row).collect()
    }

    pub async fn touch_api_token(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_api_token(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
