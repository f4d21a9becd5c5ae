//! The account row lock that read-then-write rules take ("at least one factor", "five
//! links an hour", everything a lock voids).

use super::StoreResult;

/// Takes the account row's lock for the rest of `tx` (a write, so on SQLite the
/// transaction holds the database's write lock from here on): read-then-write rules such
/// as "at least one factor" run one at a time per account.
pub(super) async fn lock_account(tx: &mut sqlx::Transaction<'_, sqlx::Any>, user_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE users SET created_at = created_at WHERE id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(())
}

/// The credential a write on an account's behalf is made with.
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    /// A session's id.
    Session(&'a str),
    /// An API token's id.
    ApiToken(&'a str),
}

/// [`lock_account`], then the credential the write is made with must still be there. A
/// lock, reset or reclaim voids credentials under this same lock, so a request that was
/// authenticated just before it committed (a stolen session's, sent in a stream so that
/// one is always in flight) makes nothing that outlives it: it waits for the void and then
/// finds its credential gone (`CredentialGone`, answered as 401).
pub(super) async fn lock_account_as(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    acting: Acting<'_>,
) -> StoreResult<()> {
    lock_account(tx, user_id).await?;
    let (sql, id) = match acting {
        Acting::Session(id) => ("SELECT id FROM sessions WHERE id = $1 AND user_id = $2", id),
        Acting::ApiToken(id) => ("SELECT id FROM api_tokens WHERE id = $1 AND user_id = $2", id),
    };
    match sqlx::query(sql).bind(id).bind(user_id).fetch_optional(&mut **tx).await? {
        Some(_) => Ok(()),
        None => Err(super::StoreError::CredentialGone),
    }
}
