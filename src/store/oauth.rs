//! Accounts linked to OpenID providers, and sign-ins waiting for the provider's callback.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::users::{USER_COLUMNS, insert_user};
use super::{Store, StoreResult, flag, from_millis, to_millis};
use crate::domain::account::Account;
use crate::domain::email::Email;
use crate::domain::voiding::Occasion;

#[derive(Debug, Clone)]
pub struct LinkedIdentity {
    pub provider: String,
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who the provider says the user is, as stored on the link.
#[derive(Debug, Clone, Copy)]
pub struct IdentityRef<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
}

/// A started sign-in, as the callback needs it back.
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    pub provider: String,
    pub nonce: String,
    /// Sealed: it is the proof that the code is ours to redeem.
    pub pkce_verifier_sealed: String,
    /// Set when the flow links the provider to this signed-in account, not a sign-in.
    pub link_user_id: Option<String>,
}

pub struct NewOAuthFlow<'a> {
    pub state_hash: &'a str,
    pub provider: &'a str,
    pub browser_hash: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier_sealed: &'a str,
    pub expires_at: DateTime<Utc>,
    pub link_user_id: Option<&'a str>,
}

#[derive(Debug)]
pub enum TakenFlow {
    Taken(OAuthFlow),
    /// The state is real and pending, but this browser did not start it; it stays for its own.
    OtherBrowser,
    /// Unknown, used already, or expired.
    Missing,
}

/// How a provider's verified email joined an existing account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The account's email was verified: linked as it is.
    Linked,
    /// It was not: taken over from whoever registered the address (see `link_by_verified_email`).
    Reclaimed,
}

/// Why an unlink did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    NotLinked,
    /// It is the account's only way to sign in.
    LastMethod,
}

impl Store {
    pub async fn user_by_identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Account>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = (SELECT user_id FROM oauth_identities WHERE provider = $1 AND subject = $2)"
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(provider).bind(subject).fetch_optional(&self.pool).await?;
        row.as_ref().map(Account::from_row).transpose()
    }

    /// Links an existing account; `Conflict` when the subject is linked elsewhere or the
    /// account already has a link with this provider.
    pub async fn link_identity(&self, user_id: &str, identity: IdentityRef<'_>, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_identity(&mut tx, user_id, identity, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links the account that a provider's verified email matched. When the account's own
    /// email was never verified, whoever registered it may not be its owner: it is
    /// reclaimed (`Occasion::Reclaim`, the same list a reset of such an account removes:
    /// password, sessions, API tokens, trusted devices, second factors, provider links,
    /// pending links, device sign-ins) and the email is marked verified, in the same
    /// transaction as the link, under the account row's lock. `Conflict` as for
    /// `link_identity`.
    pub async fn link_by_verified_email(
        &self,
        user_id: &str,
        identity: IdentityRef<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Linked> {
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account(&mut tx, user_id).await?;
        let row =
            sqlx::query("SELECT email_verified FROM users WHERE id = $1").bind(user_id).fetch_one(&mut *tx).await?;
        let verified = flag(row.try_get("email_verified")?)?;
        let outcome = if verified {
            Linked::Linked
        } else {
            super::pending::void(&mut tx, user_id, &Occasion::Reclaim.voids(now), now).await?;
            sqlx::query("UPDATE users SET email_verified = 1 WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
            Linked::Reclaimed
        };
        insert_identity(&mut tx, user_id, identity, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A new account without a password, linked from the start: both or neither.
    pub async fn create_user_with_identity(
        &self,
        email: &Email,
        identity: IdentityRef<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Account> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, email, None, true, now).await?;
        insert_identity(&mut tx, &user.id, identity, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Notes a sign-in through the link, and the email the provider gives now.
    pub async fn touch_identity(&self, identity: IdentityRef<'_>, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE oauth_identities SET last_used_at = $1, email = COALESCE($2, email) WHERE provider = $3 AND subject = $4",
        )
        .bind(to_millis(now))
        .bind(identity.email)
        .bind(identity.provider)
        .bind(identity.subject)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn linked_identities(&self, user_id: &str) -> StoreResult<Vec<LinkedIdentity>> {
        let rows = sqlx::query(
            "SELECT provider, email, linked_at, last_used_at FROM oauth_identities WHERE user_id = $1 ORDER BY linked_at, provider",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LinkedIdentity {
                    provider: r.try_get("provider")?,
                    email: r.try_get("email")?,
                    linked_at: from_millis(r.try_get("linked_at")?)?,
                    last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(from_millis).transpose()?,
                })
            })
            .collect()
    }

    /// Unlinks a provider unless it is the account's last way in (no password, no other link,
    /// no passkey).
    pub async fn unlink_identity(&self, user_id: &str, provider: &str) -> StoreResult<Unlinked> {
        let mut tx = self.pool.begin().await?;
        // The account row's lock first, so two unlinks (or an unlink and a password
        // removal) cannot each see the other's method still there.
        let account = sqlx::query("UPDATE users SET id = id WHERE id = $1 RETURNING password_hash")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(account) = account else { return Ok(Unlinked::NotLinked) };
        let has_password = account.try_get::<Option<String>, _>("password_hash")?.is_some();
        let links: Vec<String> = sqlx::query("SELECT provider FROM oauth_identities WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("provider"))
            .collect::<Result<_, _>>()?;
        if !links.iter().any(|p| p == provider) {
            return Ok(Unlinked::NotLinked);
        }
        let passkeys: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM webauthn_credentials WHERE user_id = $1 AND passkey = 1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if !has_password && links.len() == 1 && passkeys == 0 {
            return Ok(Unlinked::LastMethod);
        }
        sqlx::query("DELETE FROM oauth_identities WHERE user_id = $1 AND provider = $2")
            .bind(user_id)
            .bind(provider)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Unlinked::Done)
    }

    pub async fn put_oauth_flow(&self, flow: NewOAuthFlow<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oauth_flows (state_hash, provider, browser_hash, nonce, pkce_verifier, expires_at, link_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(flow.state_hash)
        .bind(flow.provider)
        .bind(flow.browser_hash)
        .bind(flow.nonce)
        .bind(flow.pkce_verifier_sealed)
        .bind(to_millis(flow.expires_at))
        .bind(flow.link_user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a pending sign-in for the browser that started it: of two callbacks with the
    /// same `state` only one gets it.
    pub async fn take_oauth_flow(
        &self,
        state_hash: &str,
        browser_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<TakenFlow> {
        if let Some(browser_hash) = browser_hash {
            let row = sqlx::query(
                "DELETE FROM oauth_flows WHERE state_hash = $1 AND browser_hash = $2 AND expires_at > $3 RETURNING provider, nonce, pkce_verifier, link_user_id",
            )
            .bind(state_hash)
            .bind(browser_hash)
            .bind(to_millis(now))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(r) = row {
                return Ok(TakenFlow::Taken(OAuthFlow {
                    provider: r.try_get("provider")?,
                    nonce: r.try_get("nonce")?,
                    pkce_verifier_sealed: r.try_get("pkce_verifier")?,
                    link_user_id: r.try_get("link_user_id")?,
                }));
            }
        }
        let pending = sqlx::query("SELECT 1 AS one FROM oauth_flows WHERE state_hash = $1 AND expires_at > $2")
            .bind(state_hash)
            .bind(to_millis(now))
            .fetch_optional(&self.pool)
            .await?;
        Ok(if pending.is_some() { TakenFlow::OtherBrowser } else { TakenFlow::Missing })
    }

    pub async fn prune_oauth_flows(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM oauth_flows WHERE expires_at <= $1")
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

async fn insert_identity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    identity: IdentityRef<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO oauth_identities (provider, subject, user_id, email, linked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(identity.provider)
    .bind(identity.subject)
    .bind(user_id)
    .bind(identity.email)
    .bind(to_millis(now))
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
