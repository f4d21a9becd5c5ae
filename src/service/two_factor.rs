//! Enrolling and removing second factors; backup codes.

use qrcode::QrCode;
use qrcode::render::svg;

use crate::domain::backup_codes::{self, BackupCode};
use crate::domain::factors::Factors;
use crate::domain::password::Password;
use crate::domain::security_event::EventKind;
use crate::domain::token::random_bytes;
use crate::domain::totp::{SECRET_BYTES, TotpSecret};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{FactorRef, Removal, StoredCode};

use super::{Caller, ClientContext, account, events};

pub struct TotpSetup {
    pub secret: TotpSecret,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

pub async fn status(state: &AppState, caller: &Caller) -> Result<Factors> {
    Ok(state.store.factors(&caller.user_id).await?)
}

/// A new pending secret; the account's current authenticator (if any) keeps working
/// until this one is confirmed.
pub async fn setup_totp(state: &AppState, caller: &Caller) -> Result<TotpSetup> {
    caller.require_recent_auth(state)?;
    let user = account::me(state, caller).await?;
    let secret = TotpSecret::from_random(random_bytes::<SECRET_BYTES>()?);
    let sealed = state.secrets.seal_totp(&secret, &user.id).map_err(Error::Internal)?;
    state.store.put_pending_totp(&user.id, &sealed, state.clock.now()).await?;
    present(state, secret, &user.email)
}

/// The setup waiting for confirmation, shown again (after a mistyped code, say).
pub async fn pending_setup(state: &AppState, caller: &Caller) -> Result<Option<TotpSetup>> {
    let Some((sealed, _)) = state.store.pending_totp(&caller.user_id).await? else {
        return Ok(None);
    };
    let user = account::me(state, caller).await?;
    let secret = state.secrets.open_totp(&sealed, &user.id).map_err(Error::Internal)?;
    present(state, secret, &user.email).map(Some)
}

fn present(state: &AppState, secret: TotpSecret, email: &str) -> Result<TotpSetup> {
    let otpauth_uri = secret
        .otpauth_uri(&state.config.settings.totp_issuer, email)
        .map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .map_err(Error::internal)?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(TotpSetup { secret, otpauth_uri, qr_svg })
}

/// Confirms the pending secret with a code from it. Returns the first backup codes when
/// this turned 2FA on; `None` when it replaced an earlier authenticator.
pub async fn confirm_totp(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    code: &str,
) -> Result<Option<Vec<String>>> {
    // Without this, a stolen session older than the window could swap in its own
    // authenticator and then pass re-auth with it.
    caller.require_recent_auth(state)?;
    let user_id = &caller.user_id;
    let (sealed, _) = state.store.pending_totp(user_id).await?.ok_or(Error::SetupRequired)?;
    let secret = state.secrets.open_totp(&sealed, user_id).map_err(Error::Internal)?;
    let now = state.clock.now();
    let step = secret.verify(code, unix_seconds(now), None).ok_or(Error::CodeRejected)?;
    let turning_on = !state.store.factors(user_id).await?.enabled();
    let codes = if turning_on { Some(new_backup_codes(state).await?) } else { None };
    let hashes = codes.as_ref().map(|(_, h)| h.as_slice());
    if !state.store.confirm_totp(user_id, &sealed, step, hashes, now).await? {
        return Err(Error::SetupRequired);
    }
    if turning_on {
        events::record(state, user_id, EventKind::TwoFactorEnabled, Some(ctx), Some("totp".into())).await?;
    } else {
        events::record(
            state,
            user_id,
            EventKind::FactorAdded,
            Some(ctx),
            Some("totp (replaced the previous authenticator)".into()),
        )
        .await?;
    }
    Ok(codes.map(|(shown, _)| shown))
}

/// Removes the authenticator app while a security key remains.
pub async fn delete_totp(state: &AppState, caller: &Caller, ctx: &ClientContext) -> Result<()> {
    caller.require_recent_auth(state)?;
    removed(state.store.remove_factor(&caller.user_id, FactorRef::Totp).await?)?;
    events::record(state, &caller.user_id, EventKind::FactorRemoved, Some(ctx), Some("totp".into())).await
}

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

/// Turns 2FA off: every factor, backup code and pending setup goes, in one transaction.
pub async fn disable(state: &AppState, caller: &Caller, ctx: &ClientContext, password: Option<Password>) -> Result<()> {
    caller.require_recent_auth(state)?;
    let user = account::me(state, caller).await?;
    account::confirm_password(state, &user, password.as_ref()).await?;
    if !state.store.factors(&user.id).await?.enabled() {
        return Err(Error::TwoFactorNotEnabled);
    }
    removed(state.store.remove_second_factors(&user.id, false).await?)?;
    events::record(state, &user.id, EventKind::TwoFactorDisabled, Some(ctx), None).await
}

/// `latchkey user reset-2fa`: an administrator's recovery for someone locked out.
pub async fn admin_reset(state: &AppState, user_id: &str) -> Result<()> {
    removed(state.store.remove_second_factors(user_id, true).await?)?;
    events::record(state, user_id, EventKind::TwoFactorDisabled, None, Some("reset by an administrator".into())).await
}

/// The answer for a factor removal refused by the store.
pub(super) fn removed(removal: Removal) -> Result<()> {
    match removal {
        Removal::Removed => Ok(()),
        Removal::NotFound => Err(Error::NotFound),
        Removal::LastFactor => Err(Error::LastFactor),
        Removal::LastSignInMethod => Err(Error::LastSignInMethod),
    }
}

/// Ten fresh codes: as shown (`xxxxx-xxxxx`) and as stored (salted Argon2id, with a hint
/// that no two of them share, so that checking a typed code costs one slow hash at most:
/// see `BackupCode::hint`).
pub(super) async fn new_backup_codes(state: &AppState) -> Result<(Vec<String>, Vec<StoredCode>)> {
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

pub fn unix_seconds(t: chrono::DateTime<chrono::Utc>) -> u64 {
    t.timestamp().try_into().unwrap_or(0)
}
