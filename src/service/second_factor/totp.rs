//! The authenticator app (TOTP): set up with a QR code, confirmed with a code from it,
//! replaced or removed while another factor remains.

use qrcode::QrCode;
use qrcode::render::svg;

use crate::domain::security_event::EventKind;
use crate::domain::token::random_bytes;
use crate::domain::totp::{SECRET_BYTES, TotpSecret};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::FactorRef;

use super::super::{Caller, ClientContext, account, events};
use super::backup_codes::new_backup_codes;
use super::removed;

pub struct TotpSetup {
    pub secret: TotpSecret,
    pub otpauth_uri: String,
    pub qr_svg: String,
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

pub fn unix_seconds(t: chrono::DateTime<chrono::Utc>) -> u64 {
    t.timestamp().try_into().unwrap_or(0)
}
