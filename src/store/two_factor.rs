//! TOTP secrets (sealed), pending setups, backup codes, and removing a factor while
//! another remains.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::factors::FACTOR_COLUMNS;
use super::factors::factors_from_row;
use super::{Store, StoreResult, from_millis, new_id, to_millis};
use crate::domain::factors::Factors;

#[derive(Debug, Clone)]
pub struct TotpRecord {
    pub secret_sealed: String,
    pub created_at: DateTime<Utc>,
    pub last_used_step: u64,
}

/// A backup code as stored: its Argon2id PHC string and its hint (see `BackupCode::hint`).
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub hint: String,
    pub hash: String,
}

impl Store {
    pub async fn factors(&self, user_id: &str) -> StoreResult<Factors> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {FACTOR_COLUMNS} FROM users WHERE id = $1")))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        // An account deleted meanwhile has no factors.
        row.as_ref().map(factors_from_row).transpose().map(Option::unwrap_or_default)
    }

    /// Stores (or replaces) the setup waiting for confirmation.
    pub async fn put_pending_totp(&self, user_id: &str, secret_sealed: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO totp_pending (user_id, secret_sealed, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(secret_sealed)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn pending_totp(&self, user_id: &str) -> StoreResult<Option<(String, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT secret_sealed, created_at FROM totp_pending WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("secret_sealed")?, from_millis(r.try_get("created_at")?)?))).transpose()
    }

    pub async fn totp(&self, user_id: &str) -> StoreResult<Option<TotpRecord>> {
        let row =
            sqlx::query("SELECT secret_sealed, created_at, last_used_step FROM totp_credentials WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(TotpRecord {
                secret_sealed: r.try_get("secret_sealed")?,
                created_at: from_millis(r.try_get("created_at")?)?,
                last_used_step: r.try_get::<i64, _>("last_used_step")?.try_into().unwrap_or(0),
            })
        })
        .transpose()
    }

    /// Makes the pending secret the account's authenticator, consuming the step of the
    /// confirming code, and — when this turns 2FA on — issues the first backup codes, all
    /// in one transaction. False when the pending setup was gone (confirmed by a racing
    /// request, or replaced).
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        secret_sealed: &str,
        step: u64,
        backup_code_hashes: Option<&[StoredCode]>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query("DELETE FROM totp_pending WHERE user_id = $1 AND secret_sealed = $2")
            .bind(user_id)
            .bind(secret_sealed)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if taken == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        // A new authenticator is a new start: no device skips it on the old one's say-so.
        forget_trusted_devices(&mut tx, user_id).await?;
        sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret_sealed, created_at, last_used_step) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(secret_sealed)
        .bind(to_millis(now))
        .bind(step as i64)
        .execute(&mut *tx)
        .await?;
        if let Some(hashes) = backup_code_hashes {
            replace_codes(&mut tx, user_id, hashes, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records `step` as used if it is newer than the last one; exactly one of several
    /// racing requests with the same code gets true.
    pub async fn claim_totp_step(&self, user_id: &str, step: u64) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE totp_credentials SET last_used_step = $1 WHERE user_id = $2 AND last_used_step < $1")
                .bind(step as i64)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes one second factor under the account row's lock, and only while another
    /// factor remains: of two removals racing for the last two factors, one is refused.
    /// The account's trusted devices are forgotten with it.
    pub async fn remove_factor(&self, user_id: &str, factor: FactorRef<'_>) -> StoreResult<Removal> {
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account(&mut tx, user_id).await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM totp_credentials WHERE user_id = $1) AS totp,
                    (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = $1) AS keys",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        let (totp, keys): (i64, i64) = (row.try_get("totp")?, row.try_get("keys")?);
        let deleted = match factor {
            FactorRef::Totp => {
                if totp == 0 {
                    return Ok(Removal::NotFound);
                }
                if keys == 0 {
                    return Ok(Removal::LastFactor);
                }
                sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?
            }
            FactorRef::WebauthnKey(id) => {
                let row = sqlx::query("SELECT passkey FROM webauthn_credentials WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(Removal::NotFound) };
                let passkey: i64 = row.try_get("passkey")?;
                if !keeps_a_way_in(&mut tx, user_id, passkey).await? {
                    return Ok(Removal::LastSignInMethod);
                }
                if totp == 0 && keys == 1 {
                    return Ok(Removal::LastFactor);
                }
                sqlx::query("DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
            }
        };
        if deleted.rows_affected() == 0 {
            return Ok(Removal::NotFound);
        }
        forget_trusted_devices(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(Removal::Removed)
    }

    /// New backup codes void the old ones and the account's trusted devices.
    pub async fn replace_backup_codes(
        &self,
        user_id: &str,
        hashes: &[StoredCode],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        replace_codes(&mut tx, user_id, hashes, now).await?;
        forget_trusted_devices(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unused code of `user_id` with `hint`: its id and Argon2 PHC string.
    pub async fn backup_code_by_hint(&self, user_id: &str, hint: &str) -> StoreResult<Option<(String, String)>> {
        let row =
            sqlx::query("SELECT id, code_hash FROM backup_codes WHERE user_id = $1 AND hint = $2 AND used_at IS NULL")
                .bind(user_id)
                .bind(hint)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("code_hash")?))).transpose()
    }

    /// Burns the code `id` once its hash matched; exactly one of several racing requests
    /// gets true.
    pub async fn use_backup_code_id(&self, user_id: &str, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND id = $3 AND used_at IS NULL")
                .bind(to_millis(now))
                .bind(user_id)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Burns one backup code stored before codes were slow-hashed (by its keyed hash);
    /// exactly one of several racing requests gets true.
    pub async fn use_backup_code(&self, user_id: &str, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(user_id)
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes every second factor, backup code, pending setup and trusted device of an account; with
    /// `sessions` also every session (admin recovery). One transaction. Refused with
    /// `LastSignInMethod` (unless `sessions`, the administrator's reset) when the account's
    /// passkeys are its only way in.
    pub async fn remove_second_factors(&self, user_id: &str, sessions: bool) -> StoreResult<Removal> {
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account(&mut tx, user_id).await?;
        if !sessions && !keeps_a_way_in(&mut tx, user_id, i64::MAX).await? {
            return Ok(Removal::LastSignInMethod);
        }
        let mut tables = vec![
            "totp_credentials",
            "totp_pending",
            "backup_codes",
            "mfa_challenges",
            "trusted_devices",
            "webauthn_credentials",
            "webauthn_ceremonies",
        ];
        if sessions {
            tables.push("sessions");
        }
        for table in tables {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE user_id = $1")))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Removal::Removed)
    }

    /// Seals a sample on first start; afterwards returns the stored sample to check.
    pub async fn key_check(&self, sealed_if_new: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(sealed_if_new)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT sealed FROM key_check WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(row.try_get("sealed")?)
    }
}

/// Which second factor to remove.
#[derive(Debug, Clone, Copy)]
pub enum FactorRef<'a> {
    Totp,
    WebauthnKey(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// It is the account's only second factor (turning 2FA off is its own action).
    LastFactor,
    /// It is the last passkey of an account with no password and no provider: its last way in.
    LastSignInMethod,
}

/// Whether an account that loses `passkeys_going` of its passkeys still has a way in.
/// Runs under the account's lock, so two removals cannot each count the other's.
async fn keeps_a_way_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    passkeys_going: i64,
) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM users WHERE id = $1 AND password_hash IS NOT NULL) AS password,
                (SELECT COUNT(*) FROM oauth_identities WHERE user_id = $1) AS links,
                (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = $1 AND passkey = 1) AS passkeys",
    )
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    let (password, links, passkeys): (i64, i64, i64) =
        (row.try_get("password")?, row.try_get("links")?, row.try_get("passkeys")?);
    Ok(password > 0 || links > 0 || passkeys > passkeys_going)
}

async fn forget_trusted_devices(tx: &mut sqlx::Transaction<'_, sqlx::Any>, user_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM trusted_devices WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(())
}

pub(super) async fn replace_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    hashes: &[StoredCode],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM backup_codes WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    for code in hashes {
        sqlx::query("INSERT INTO backup_codes (id, user_id, code_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id())
            .bind(user_id)
            .bind(&code.hash)
            .bind(&code.hint)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
