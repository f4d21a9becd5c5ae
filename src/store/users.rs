//! Accounts, their passwords and password history.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::columns::Columns;
use super::factors::FACTOR_COLUMNS;
use super::factors::factors_from_row;
use super::{Store, StoreResult, flag, from_millis, new_id, to_millis};
use crate::domain::account::{Account, AccountIdentity, AccountSummary, AccountView};
use crate::domain::email::Email;
use crate::domain::factors::Factors;

impl Account {
    pub(super) fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            email_verified: flag(row.try_get("email_verified")?)?,
            created_at: from_millis(row.try_get("created_at")?)?,
            last_login_at: row.try_get::<Option<i64>, _>("last_login_at")?.map(from_millis).transpose()?,
            disabled_at: row.try_get::<Option<i64>, _>("disabled_at")?.map(from_millis).transpose()?,
        })
    }
}

pub(super) const USER_COLUMNS: &str =
    "id, email, password_hash, email_verified, created_at, last_login_at, disabled_at";

/// The `users` columns of an `AccountSummary`, for a query that joins `users`; it also
/// selects `FACTOR_COLUMNS`.
pub(super) const ACCOUNT_COLUMNS: &str = "users.email, CAST(CASE WHEN users.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, users.email_verified, CAST(CASE WHEN users.disabled_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS disabled, users.created_at AS account_created_at";

/// The `AccountSummary` of a row that selected `ACCOUNT_COLUMNS` and `FACTOR_COLUMNS`.
pub(super) fn account_summary<R: Columns>(row: &R) -> StoreResult<AccountSummary> {
    Ok(AccountSummary {
        email: row.text("email")?,
        has_password: flag(row.int("has_password")?)?,
        email_verified: flag(row.int("email_verified")?)?,
        disabled: flag(row.int("disabled")?)?,
        created_at: from_millis(row.int("account_created_at")?)?,
        factors: factors_from_row(row)?,
    })
}

/// A reading of the account that the hot path's lookups join in (`users` by that name).
pub(super) trait AccountColumns: AccountView {
    /// Select-list expressions.
    fn columns() -> String;
    fn decode<R: Columns>(row: &R) -> StoreResult<Self>;
}

impl AccountColumns for AccountSummary {
    fn columns() -> String {
        format!("{ACCOUNT_COLUMNS}, {FACTOR_COLUMNS}")
    }
    fn decode<R: Columns>(row: &R) -> StoreResult<Self> {
        account_summary(row)
    }
}

impl AccountColumns for AccountIdentity {
    fn columns() -> String {
        "users.email, CAST(CASE WHEN users.disabled_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS disabled".to_owned()
    }
    fn decode<R: Columns>(row: &R) -> StoreResult<Self> {
        Ok(Self { email: row.text("email")?, disabled: flag(row.int("disabled")?)? })
    }
}

impl Store {
    /// Creates an account; its first password (if any) also opens its password history.
    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Account> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, email, password_hash, false, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Creates an account and, in the same transaction, its address's confirmation link
    /// and the message that carries it: a sign-up is never left without its mail.
    pub async fn create_user_with_welcome(
        &self,
        email: &Email,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
        welcome: Welcome<'_>,
    ) -> StoreResult<Account> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, email, password_hash, false, now).await?;
        let link = super::NewLink {
            token_hash: welcome.token_hash,
            user_id: &user.id,
            purpose: super::LinkPurpose::Verify,
            email: &user.email,
            now,
            expires_at: welcome.expires_at,
            restores_email: false,
        };
        super::email_tokens::insert_link(&mut tx, &link).await?;
        super::outbox::queue_mail(&mut tx, welcome.letter, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user_by_email(&self, email: &Email) -> StoreResult<Option<Account>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Account::from_row).transpose()
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<Account>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Account::from_row).transpose()
    }

    /// Every account with its second factors, in one query (`latchkey user list`).
    pub async fn list_users(&self) -> StoreResult<Vec<(Account, Factors)>> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS}, {FACTOR_COLUMNS} FROM users ORDER BY email")))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok((Account::from_row(r)?, factors_from_row(r)?))).collect()
    }

    /// The newest `limit` password hashes of an account, newest first.
    pub async fn recent_password_hashes(&self, user_id: &str, limit: usize) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("hash")?)).collect()
    }

    /// Sets a new password and signs out every session but `keep_session`, in one
    /// transaction: a crash leaves either the old password and sessions or neither.
    pub async fn change_password(
        &self,
        user_id: &str,
        hash: &str,
        keep_session: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        insert_history(&mut tx, user_id, hash, now).await?;
        let revoked = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // A new password means a fresh start: no device skips 2FA on the old one's say-so.
        sqlx::query("DELETE FROM trusted_devices WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        // Sign-ins half-way through their second step were started with the old password.
        sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    pub async fn new_sign_in_alerts(&self, user_id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT notify_new_sign_in FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("notify_new_sign_in")? == 1)
    }

    pub async fn set_new_sign_in_alerts(&self, user_id: &str, on: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET notify_new_sign_in = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub(super) async fn insert_history(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO password_history (id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(new_id())
        .bind(user_id)
        .bind(hash)
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account row and, with a password, the start of its password history.
pub(super) async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &Email,
    password_hash: Option<&str>,
    email_verified: bool,
    now: DateTime<Utc>,
) -> StoreResult<Account> {
    let id = new_id();
    sqlx::query("INSERT INTO users (id, email, password_hash, email_verified, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(email.as_str())
        .bind(password_hash)
        .bind(i64::from(email_verified))
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
    if let Some(hash) = password_hash {
        insert_history(tx, &id, hash, now).await?;
    }
    Ok(Account {
        id,
        email: email.as_str().to_owned(),
        password_hash: password_hash.map(str::to_owned),
        email_verified,
        created_at: now,
        last_login_at: None,
        disabled_at: None,
    })
}

/// A new account's confirmation link (its hash) and the message carrying it.
pub struct Welcome<'a> {
    pub token_hash: &'a str,
    pub letter: &'a crate::domain::mail::Letter,
    pub expires_at: DateTime<Utc>,
}
