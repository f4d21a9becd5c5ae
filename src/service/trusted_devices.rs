//! "Remember this device": a token that skips the second factor for one account on one
//! device until it expires or is revoked. Password change, turning 2FA off and an admin
//! reset revoke every trusted device of the account.

use chrono::Duration;

use crate::domain::device::Device;
use crate::domain::security_event::EventKind;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{NewTrustedDevice, TrustedDeviceRecord};

use super::{Caller, ClientContext, events};

/// Issues a trusted-device token for `user_id` on this device.
pub async fn remember(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
) -> Result<(SecretToken, String)> {
    let token = SecretToken::mint(TokenKind::TrustedDevice)?;
    let now = state.clock.now();
    let id = state
        .store
        .create_trusted_device(NewTrustedDevice {
            user_id,
            token_hash: &token.hash(),
            device,
            ip: &ctx.ip.to_string(),
            location: &ctx.location,
            now,
            expires_at: now + Duration::days(state.config.settings.trusted_device_days.into()),
        })
        .await?;
    Ok((token, id))
}

/// The id of the live trusted device this token names, when it belongs to `user_id`.
pub async fn recognise(state: &AppState, user_id: &str, token: Option<&str>) -> Result<Option<String>> {
    let Some(token) = token.and_then(SecretToken::parse) else {
        return Ok(None);
    };
    Ok(state.store.use_trusted_device(user_id, &token.hash(), state.clock.now()).await?)
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<TrustedDeviceRecord>> {
    Ok(state.store.trusted_devices_of(&caller.user_id, state.clock.now()).await?)
}

pub async fn revoke(state: &AppState, caller: &Caller, ctx: &ClientContext, id: &str) -> Result<()> {
    if !state.store.delete_trusted_device(&caller.user_id, id).await? {
        return Err(Error::NotFound);
    }
    events::record(state, &caller.user_id, EventKind::TrustedDeviceRevoked, Some(ctx), Some(format!("device {id}")))
        .await
}

pub async fn revoke_all(state: &AppState, caller: &Caller, ctx: &ClientContext) -> Result<u64> {
    let n = state.store.delete_trusted_devices(&caller.user_id).await?;
    if n > 0 {
        events::record(
            state,
            &caller.user_id,
            EventKind::TrustedDeviceRevoked,
            Some(ctx),
            Some(format!("all {n} devices")),
        )
        .await?;
    }
    Ok(n)
}
