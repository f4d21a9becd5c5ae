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
