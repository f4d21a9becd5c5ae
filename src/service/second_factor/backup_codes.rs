//! Backup codes: ten single-use codes that stand in for a lost factor, shown once and
//! kept only as salted slow hashes.

use crate::domain::backup_codes::{self, BackupCode};
use crate::domain::security_event::EventKind;
use crate::domain::token::random_bytes;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::StoredCode;

use super::super::{Caller, ClientContext, events};

pub async fn regenerate_backup_codes(state: &AppState, caller: &Caller, ctx: &ClientContext) -> Result<Vec<String>> {
    caller.require_recent_auth(state)?;
    if !state.store.factors(&caller.user_id).await?.enabled() {
        return Err(Error::TwoFactorNotEnabled);
    }
    let (shown, hashes) = new_backup_codes(state).await?;
    state.store.replace_backup_codes(&caller.user_id, &hashes, state.clock.now()).await?;
    events::record(state, &caller.user_id, EventKind::BackupCodesRegenerated, Some(ctx), None).await?;
    Ok(shown)
}

/// Ten fresh codes: as shown (`xxxxx-xxxxx`) and as stored (salted Argon2id, with a hint
/// that no two of them share, so that checking a typed code costs one slow hash at most:
/// see `BackupCode::hint`).
pub(in crate::service) async fn new_backup_codes(state: &AppState) -> Result<(Vec<String>, Vec<StoredCode>)> {
    let mut shown = Vec::with_capacity(backup_codes::COUNT);
    let mut stored: Vec<StoredCode> = Vec::with_capacity(backup_codes::COUNT);
    while shown.len() < backup_codes::COUNT {
        let code = BackupCode::from_random(random_bytes()?);
        let hint = code.hint().to_owned();
        if stored.iter().any(|s| s.hint == hint) {
            continue;
        }
        let hash = state.hasher.hash_code(code.normalized()).await?;
        shown.push(code.display());
        stored.push(StoredCode { hint, hash });
    }
    Ok((shown, stored))
}
