//! Voiding what is pending for an account, as `domain::voiding` decides per occasion. A
//! lock, a reset, a reclaim, an operator's sign-out and a disable each run this inside
//! their own transaction, after the account row's lock.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{StoreResult, to_millis};
use crate::domain::voiding::{Removal, Voids};

/// Every table that holds something of an account's that a voiding may remove or void.
/// `tests/api/takeover/devices.rs` checks that every table of the schema with a `user_id`
/// (or another column naming an account) is named here or in `KEPT_TABLES`: a new kind of
/// pending thing cannot be forgotten.
pub const VOIDED_TABLES: &[&str] = &[
    "sessions",
    "trusted_devices",
    "mfa_challenges",
    "webauthn_ceremonies",
    "totp_pending",
    "oauth_flows",
    "email_tokens",
    "device_grants",
    "api_tokens",
    "totp_credentials",
    "webauthn_credentials",
    "backup_codes",
    "oauth_identities",
    "password_history",
    "workspace_invitations",
    // The members the account brought in (`added_by`); its own memberships stay.
    "workspace_members",
];

/// The account's record, which no voiding touches: what happened stays on file.
pub const KEPT_TABLES: &[&str] = &["login_history", "security_events", "workspace_events"];

/// What signing an account out everywhere removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SignedOut {
    pub sessions: u64,
    pub trusted_devices: u64,
}

type Tx<'t, 'c> = &'t mut sqlx::Transaction<'c, sqlx::Any>;

async fn run(tx: Tx<'_, '_>, sql: &str, user_id: &str) -> StoreResult<u64> {
    let done = sqlx::query(AssertSqlSafe(sql.to_owned())).bind(user_id).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

async fn run_since(tx: Tx<'_, '_>, sql: &str, user_id: &str, since: DateTime<Utc>) -> StoreResult<u64> {
    let done =
        sqlx::query(AssertSqlSafe(sql.to_owned())).bind(user_id).bind(to_millis(since)).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// Voids what `voids` says, in `tx`, under the account row's lock.
pub(super) async fn void(tx: Tx<'_, '_>, user_id: &str, voids: &Voids, now: DateTime<Utc>) -> StoreResult<SignedOut> {
    super::account_lock::lock_account(tx, user_id).await?;
    // Always: every way the account is in use right now, and every step half-way.
    let sessions = run(tx, "DELETE FROM sessions WHERE user_id = $1", user_id).await?;
    let trusted_devices = run(tx, "DELETE FROM trusted_devices WHERE user_id = $1", user_id).await?;
    for table in ["mfa_challenges", "webauthn_ceremonies", "totp_pending"] {
        run(tx, &format!("DELETE FROM {table} WHERE user_id = $1"), user_id).await?;
    }
    run(tx, "DELETE FROM oauth_flows WHERE link_user_id = $1", user_id).await?;
    // Always: links and codes still out there (lock links stay: they serve only the owner).
    sqlx::query(
        "UPDATE email_tokens SET used_at = $2 WHERE user_id = $1 AND purpose IN ('verify', 'reset') AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(to_millis(now))
    .execute(&mut **tx)
    .await?;
    // The workspaces whose invitations and members this touches, locked first and in one
    // order: an accept takes its workspace's lock before its invitation, so a void that
    // ended the invitation first and then waited for the workspace would deadlock with it.
    super::workspace_members::lock_workspaces_touched_by(tx, user_id, voids.members_added).await?;
    // Invitations the account sent: a stolen session could have invited its thief.
    let sent = "UPDATE workspace_invitations SET ended_at = $2 WHERE invited_by = $1 AND ended_at IS NULL";
    run_since(tx, sent, user_id, now).await?;
    // Members the account brought in, in the lock's window: a stolen session could have
    // brought in its thief (added directly, or by an invitation the thief accepted).
    super::workspace_members::remove_members_added_by(tx, user_id, voids.members_added, now).await?;
    // A pending grant names no account yet; an approved one not yet collected does.
    run(tx, "UPDATE device_grants SET status = 'denied' WHERE user_id = $1 AND status = 'approved'", user_id).await?;
    if voids.api_tokens {
        run(tx, "DELETE FROM api_tokens WHERE user_id = $1", user_id).await?;
    }
    match voids.factors {
        Removal::Keep => {}
        Removal::All => {
            for table in ["totp_credentials", "webauthn_credentials", "backup_codes"] {
                run(tx, &format!("DELETE FROM {table} WHERE user_id = $1"), user_id).await?;
            }
        }
        Removal::AddedSince(since) => {
            for table in ["totp_credentials", "webauthn_credentials", "backup_codes"] {
                run_since(tx, &format!("DELETE FROM {table} WHERE user_id = $1 AND created_at >= $2"), user_id, since)
                    .await?;
            }
            // Backup codes are a second factor only beside a first one.
            let left: i64 = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM totp_credentials WHERE user_id = $1)
                      + (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = $1) AS n",
            )
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
            if left == 0 {
                run(tx, "DELETE FROM backup_codes WHERE user_id = $1", user_id).await?;
            }
        }
    }
    match voids.provider_links {
        Removal::Keep => {}
        Removal::All => {
            run(tx, "DELETE FROM oauth_identities WHERE user_id = $1", user_id).await?;
        }
        Removal::AddedSince(since) => {
            run_since(tx, "DELETE FROM oauth_identities WHERE user_id = $1 AND linked_at >= $2", user_id, since)
                .await?;
        }
    }
    if voids.password {
        run(tx, "UPDATE users SET password_hash = NULL WHERE id = $1", user_id).await?;
    }
    if voids.factors == Removal::All {
        // Whoever claimed the address chose these; they must not block the owner's choice.
        run(tx, "DELETE FROM password_history WHERE user_id = $1", user_id).await?;
    }
    Ok(SignedOut { sessions, trusted_devices })
}
