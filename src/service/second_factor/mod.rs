//! Second factors: enrolling them (`totp`, `backup_codes`, `security_keys`), the second
//! step of a sign-in (`challenge`), and checking typed codes under one counter (`codes`).
//! What concerns 2FA as a whole — its status, turning it off — is here.

pub mod backup_codes;
pub mod challenge;
pub mod codes;
pub mod security_keys;
pub mod totp;

use crate::domain::factors::Factors;
use crate::domain::password::Password;
use crate::domain::security_event::EventKind;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::Removal;

use super::{Caller, ClientContext, account, events};

pub async fn status(state: &AppState, caller: &Caller) -> Result<Factors> {
    Ok(state.store.factors(&caller.user_id).await?)
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
pub(in crate::service) fn removed(removal: Removal) -> Result<()> {
    match removal {
        Removal::Removed => Ok(()),
        Removal::NotFound => Err(Error::NotFound),
        Removal::LastFactor => Err(Error::LastFactor),
        Removal::LastSignInMethod => Err(Error::LastSignInMethod),
    }
}
