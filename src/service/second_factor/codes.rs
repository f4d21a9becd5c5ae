//! Authentication codes (TOTP and backup codes) wherever they are typed — the second
//! sign-in step, a password reset, a re-authentication — and the one counter that wrong
//! codes share across all three.

use crate::domain::backup_codes::BackupCode;
use crate::domain::security_event::{EventKind, WRONG_CODES};
use crate::error::{Error, Result};
use crate::state::AppState;

use super::super::{ClientContext, events, rate_limit};
use super::totp::unix_seconds;

/// The key wrong second-factor codes count under, together across sign-in, password reset
/// and re-authentication (one progressive lock per account).
pub(in crate::service) fn code_limit_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// A wrong code, counted (`attempt` was reserved under [`code_limit_key`]). When it locks
/// the account, the lockout is recorded; the first of a UTC day mails the owner the lock
/// link, since whoever sends codes got past the password.
pub(in crate::service) async fn wrong_code(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    attempt: rate_limit::Reservation,
) -> Result<()> {
    let locked = attempt.locked(&code_limit_key(user_id));
    attempt.failed();
    if !locked {
        return Ok(());
    }
    let detail = Some(WRONG_CODES.to_owned());
    let day = format!("lockout-alert:{user_id}:{}", state.clock.now().date_naive());
    match rate_limit::reserve_one(state, &day, rate_limit::DAILY_ALERT).await {
        Ok(first) => {
            first.failed();
            events::record(state, user_id, EventKind::LockedOut, Some(ctx), detail).await
        }
        Err(Error::RateLimited { .. }) => {
            events::record_quietly(state, user_id, EventKind::LockedOut, Some(ctx), detail).await
        }
        Err(e) => Err(e),
    }
}

/// A TOTP code of the account's authenticator, never one already used.
pub async fn accept_totp(state: &AppState, user_id: &str, code: &str) -> Result<bool> {
    let Some(totp) = state.store.totp(user_id).await? else {
        return Ok(false);
    };
    let secret = state.secrets.open_totp(&totp.secret_sealed, user_id).map_err(Error::Internal)?;
    let Some(step) = secret.verify(code, unix_seconds(state.clock.now()), Some(totp.last_used_step)) else {
        return Ok(false);
    };
    Ok(state.store.claim_totp_step(user_id, step).await?)
}

pub(in crate::service) async fn accept_backup_code(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    code: &str,
) -> Result<bool> {
    let Some(code) = BackupCode::parse(code) else {
        return Ok(false);
    };
    let now = state.clock.now();
    // Codes from before they were slow-hashed match by their keyed hash (under any key).
    let mut legacy = false;
    for hash in state.secrets.code_hashes(user_id, code.normalized()) {
        if state.store.use_backup_code(user_id, &hash, now).await? {
            legacy = true;
            break;
        }
    }
    if !legacy {
        let Some((id, phc)) = state.store.backup_code_by_hint(user_id, code.hint()).await? else {
            return Ok(false);
        };
        if !state.hasher.verify_code(code.normalized(), &phc).await? {
            return Ok(false);
        }
        // Of two requests racing with one code, both may verify it; one burns it.
        if !state.store.use_backup_code_id(user_id, &id, now).await? {
            return Ok(false);
        }
    }
    let left = state.store.factors(user_id).await?.backup_codes_remaining;
    events::record(state, user_id, EventKind::BackupCodeUsed, Some(ctx), Some(format!("{left} left"))).await?;
    Ok(true)
}
