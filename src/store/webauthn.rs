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
    /// Registered as a passkey (discoverable, user verification): it can sign in alone.
    pub passkey: bool,
}

/// A credential to store; `credential_id` is hex, unique across all accounts.
pub struct NewWebauthnKey<'a> {
    pub user_id: &'a str,
    /// The registering credential: it must still be live under the account's lock (the
    /// ceremony it finishes was taken before).
    pub acting: super::Acting<'a>,
    pub name: &'a str,
    pub credential_id: &'a str,
    pub credential: &'a str,
    pub passkey: bool,
    pub backup_code_hashes: Option<&'a [super::StoredCode]>,
    pub now: DateTime<Utc>,
}

/// A passkey and the account it signs in to.
#[derive(Debug, Clone)]
pub struct PasskeyOwner {
    pub user_id: String,
    pub key: WebauthnKeyRecord,
}

/// A started ceremony, taken back exactly once.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub user_id: String,
    pub kind: String,
    pub state: String,
    pub name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    pub async fn webauthn_keys(&self, user_id: &str) -> StoreResult<Vec<WebauthnKeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, credential, created_at, last_used_at, passkey FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// The passkey with this credential id (hex), with its account; `None` for an unknown
    /// id and for a security key that was not registered as a passkey.
    pub async fn passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyOwner>> {
        let row = sqlx::query(
            "SELECT id, user_id, name, credential, created_at, last_used_at, passkey FROM webauthn_credentials
             WHERE credential_id = $1 AND passkey = 1",
        )
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(PasskeyOwner { user_id: r.try_get("user_id")?, key: key_from_row(&r)? })).transpose()
    }

    /// Stores a key and, when this turns 2FA on, the first backup codes, in one transaction.
    pub async fn add_webauthn_key(&self, key: NewWebauthnKey<'_>) -> StoreResult<Option<String>> {
        let NewWebauthnKey { user_id, acting, name, credential_id, credential, passkey, backup_code_hashes, now } = key;
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account_as(&mut tx, user_id, acting).await?;
        let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if held >= crate::domain::limits::MAX_WEBAUTHN_KEYS {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO webauthn_credentials (id, user_id, name, credential_id, credential, created_at, passkey) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(credential_id)
        .bind(credential)
        .bind(to_millis(now))
        .bind(i64::from(passkey))
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

    /// Takes a ceremony of one of `kinds` out of the table: of two racing finishes only
    /// one gets it.
    pub async fn take_ceremony(&self, id: &str, kinds: &[&str]) -> StoreResult<Option<Ceremony>> {
        let row = sqlx::query("SELECT user_id, kind, state, name, expires_at FROM webauthn_ceremonies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let kind: String = r.try_get("kind")?;
        if !kinds.contains(&kind.as_str()) {
            return Ok(None);
        }
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
            kind,
            state: r.try_get("state")?,
            name: r.try_get("name")?,
            expires_at: from_millis(r.try_get("expires_at")?)?,
        }))
    }

    pub async fn prune_ceremonies(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut pruned = 0;
        for table in ["webauthn_ceremonies", "passkey_challenges"] {
            let sql = format!("DELETE FROM {table} WHERE expires_at <= $1");
            pruned +=
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(now)).execute(&self.pool).await?.rows_affected();
        }
        Ok(pruned)
    }

    /// A passkey sign-in's challenge, before anyone is known.
    pub async fn put_passkey_challenge(&self, id: &str, state: &str, expires_at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("INSERT INTO passkey_challenges (id, state, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(state)
            .bind(to_millis(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes a passkey challenge that has not expired; of two racing finishes only one gets it.
    pub async fn take_passkey_challenge(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<String>> {
        let row = sqlx::query("DELETE FROM passkey_challenges WHERE id = $1 RETURNING state, expires_at")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        if from_millis(r.try_get("expires_at")?)? <= now {
            return Ok(None);
        }
        Ok(Some(r.try_get("state")?))
    }
}

fn key_from_row<R: super::columns::Columns>(r: &R) -> StoreResult<WebauthnKeyRecord> {
    Ok(WebauthnKeyRecord {
        id: r.text("id")?,
        name: r.text("name")?,
        credential: r.text("credential")?,
        created_at: from_millis(r.int("created_at")?)?,
        last_used_at: r.opt_int("last_used_at")?.map(from_millis).transpose()?,
        passkey: r.int("passkey")? == 1,
    })
}
