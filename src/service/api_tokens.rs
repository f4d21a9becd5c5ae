//! Personal access tokens for bots and scripts: shown once, stored hashed, optionally
//! expiring, and bound by the same workspace policy as a sign-in.

use chrono::Duration;

use crate::domain::account::{AccountIdentity, AccountView};
use crate::domain::api_token::ApiToken;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::ActiveApiToken;

use super::{Caller, ClientContext, Credential, events};
use crate::domain::security_event::EventKind;

const MAX_NAME: usize = 100;

pub async fn create(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<(SecretToken, ApiToken)> {
    caller.require_recent_auth(state)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(format!("name must be 1 to {MAX_NAME} printable characters")));
    }
    let s = &state.config.settings;
    let days = expires_in_days.unwrap_or(s.api_token_default_days);
    if days == 0 || days > s.api_token_max_days {
        return Err(Error::InvalidRequest(format!("expires_in_days must be between 1 and {}", s.api_token_max_days)));
    }
    let token = SecretToken::mint(TokenKind::ApiToken)?;
    let now = state.clock.now();
    let record = state
        .store
        .create_api_token(
            &caller.user_id,
            caller.acting(),
            name,
            &token.hash(),
            now,
            Some(now + Duration::days(days.into())),
        )
        .await?
        .ok_or(Error::TooMany("50 API tokens; delete one first"))?;
    let detail = Some(format!("\"{name}\", expires in {days} days"));
    events::record(state, &caller.user_id, EventKind::ApiTokenCreated, Some(ctx), detail).await?;
    Ok((token, record))
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<ApiToken>> {
    Ok(state.store.api_tokens_of(&caller.user_id).await?)
}

pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<()> {
    if state.store.delete_api_token(&caller.user_id, id).await? { Ok(()) } else { Err(Error::NotFound) }
}

/// Bearer authentication with an `lk_pat_` token.
pub async fn authenticate(state: &AppState, token: &SecretToken) -> Result<Caller> {
    admit(state, state.store.api_token_by_hash(&token.hash()).await?)
}

/// [`authenticate`] without reading the account's factors (see `sessions::identify`).
pub async fn identify(state: &AppState, token: &SecretToken) -> Result<Caller<AccountIdentity>> {
    admit(state, state.store.api_token_identity_by_hash(&token.hash()).await?)
}

/// The token, if it has not expired and its account is not disabled, as the caller.
fn admit<A: AccountView>(state: &AppState, active: Option<ActiveApiToken<A>>) -> Result<Caller<A>> {
    let active = active.ok_or(Error::Unauthenticated)?;
    let record = active.token;
    let now = state.clock.now();
    if active.account.disabled() || record.expires_at.is_some_and(|e| now >= e) {
        return Err(Error::Unauthenticated);
    }
    let resolution = state.config.settings.session.activity_resolution;
    if record.last_used_at.is_none_or(|t| now - t >= resolution) {
        let store = state.store.clone();
        let id = record.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_token(&id, now).await {
                tracing::warn!(error = %e, "could not record API token use");
            }
        });
    }
    Ok(Caller { user_id: record.user_id, credential: Credential::ApiToken(record.id), account: active.account })
}
