//! The account itself: who it is, and its password.

use crate::domain::account::Account;
use crate::domain::email::Email;
use crate::domain::factors::Factors;
use crate::domain::password::{self, HISTORY_DEPTH, Password, Violation};
use crate::domain::security_event::EventKind;
use crate::error::{Error, Result};
use crate::state::AppState;

use super::{Caller, ClientContext, events, rate_limit};

pub async fn me(state: &AppState, caller: &Caller) -> Result<Account> {
    // A session outliving its account is impossible (ON DELETE CASCADE), so a missing
    // row means the account went away mid-request.
    state.store.user_by_id(&caller.user_id).await?.ok_or(Error::Unauthenticated)
}

/// The account with this email, for the command line; `NotFound` when there is none.
pub async fn by_email(state: &AppState, email: &Email) -> Result<Account> {
    state.store.user_by_email(email).await?.ok_or(Error::NotFound)
}

/// Every account with its second factors (`latchkey user list`).
pub async fn list_all(state: &AppState) -> Result<Vec<(Account, Factors)>> {
    Ok(state.store.list_users().await?)
}

/// Checks the account's current password (rate limited), for changes that ask for it
/// again. An account without a password (made through OAuth) has nothing to confirm.
pub async fn confirm_password(state: &AppState, user: &Account, presented: Option<&Password>) -> Result<()> {
    let Some(existing) = user.password_hash.as_deref() else {
        return Ok(());
    };
    let key = format!("password:{}", user.id);
    let attempt = rate_limit::reserve_one(state, &key, rate_limit::ACCOUNT).await?;
    let verified = match presented {
        Some(p) => state.hasher.verify(p, Some(existing)).await?,
        None => false,
    };
    if !verified {
        attempt.failed();
        return Err(Error::InvalidPassword);
    }
    attempt.succeeded(state).await
}

/// The hash of `new` when it meets the policy (history included), else `password_policy`.
pub(super) async fn checked_new_password(state: &AppState, user: &Account, new: &Password) -> Result<String> {
    let email =
        Email::parse(&user.email).map_err(|e| Error::internal(anyhow::anyhow!("stored email is invalid: {e}")))?;
    let mut violations = password::check(new, &email, state.config.settings.password_rules);
    violations.extend(super::breached::violation(state, new));
    let recent = state.store.recent_password_hashes(&user.id, HISTORY_DEPTH).await?;
    if state.hasher.matches_any(new, &recent).await? {
        violations.push(Violation::Reused);
    }
    if !violations.is_empty() {
        return Err(Error::PasswordPolicy(violations));
    }
    state.hasher.hash(new).await
}

/// Whether a sign-in from a device not seen before mails the account (the one alert that
/// can be turned off).
pub async fn new_sign_in_alerts(state: &AppState, caller: &Caller) -> Result<bool> {
    Ok(state.store.new_sign_in_alerts(&caller.user_id).await?)
}

/// Turning the alert off is what an intruder would do first: it needs a recent sign-in,
/// and the change itself is alerted (that alert cannot be turned off).
pub async fn set_new_sign_in_alerts(state: &AppState, caller: &Caller, ctx: &ClientContext, on: bool) -> Result<()> {
    if on {
        caller.require_session()?;
    } else {
        caller.require_recent_auth(state)?;
    }
    state.store.set_new_sign_in_alerts(&caller.user_id, on).await?;
    let detail = if on { "new-sign-in alerts turned on" } else { "new-sign-in alerts turned off" };
    super::events::record(state, &caller.user_id, EventKind::NotificationsChanged, Some(ctx), Some(detail.into())).await
}

/// Changes the password and signs out every other session of the account.
///
/// `current` may be left out only while the account has no password (it was made
/// through OAuth); the re-auth window applies either way.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    current: Option<Password>,
    new: Password,
) -> Result<()> {
    let session = caller.require_recent_auth(state)?;
    let user = me(state, caller).await?;
    confirm_password(state, &user, current.as_ref()).await?;
    let hash = checked_new_password(state, &user, &new).await?;
    let now = state.clock.now();
    let signed_out = state.store.change_password(&user.id, &hash, Some(&session.id), now).await?;
    let detail = format!("{signed_out} other sessions signed out");
    events::record(state, &user.id, EventKind::PasswordChanged, Some(ctx), Some(detail)).await
}
