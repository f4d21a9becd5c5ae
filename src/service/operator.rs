//! The operator's side of an incident: disable or enable an account, sign it out
//! everywhere, and see one account at a glance. Called from the command line only.

use crate::domain::account::Account;
use crate::domain::api_token::ApiToken;
use crate::domain::email::Email;
use crate::domain::factors::Factors;
use crate::domain::security_event::EventKind;
use crate::domain::session::SessionRecord;
use crate::domain::sign_in::SignInRecord;
use crate::domain::workspace::Membership;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{LinkedIdentity, SecurityEventRecord, SignedOut, WebauthnKeyRecord};

use super::events;

/// How many of the latest security events and sign-ins an overview shows.
const RECENT: u32 = 10;

/// Who ran the command, for the security event ("disabled by operator alice").
#[derive(Debug, Clone)]
pub struct Operator(pub String);

impl Operator {
    /// The login name of whoever runs the command line.
    pub fn from_environment() -> Self {
        let name =
            std::env::var("LATCHKEY_OPERATOR").or_else(|_| std::env::var("USER")).ok().filter(|n| !n.trim().is_empty());
        Self(name.unwrap_or_else(|| "unknown".to_owned()))
    }
}

/// Stops an account at once: its sessions, trusted devices, API tokens, half-finished
/// sign-ins, pending links and device sign-ins go in the same transaction
/// (`Occasion::Disable`), and every instance refuses it from the next request.
pub async fn disable(state: &AppState, email: &Email, by: &Operator) -> Result<SignedOut> {
    let user = super::account::by_email(state, email).await?;
    let signed_out = state.store.set_disabled(&user.id, Some(state.clock.now())).await?.ok_or(Error::NotFound)?;
    let detail = format!(
        "disabled by operator {} from the command line; {} sessions and {} trusted devices signed out, API tokens, pending links and device sign-ins revoked",
        by.0, signed_out.sessions, signed_out.trusted_devices
    );
    events::record(state, &user.id, EventKind::AccountDisabled, None, Some(detail)).await?;
    Ok(signed_out)
}

/// Lets a disabled account sign in again (with its password and factors as they were; its
/// sessions and API tokens are not coming back).
pub async fn enable(state: &AppState, email: &Email, by: &Operator) -> Result<()> {
    let user = super::account::by_email(state, email).await?;
    state.store.set_disabled(&user.id, None).await?.ok_or(Error::NotFound)?;
    let detail = format!("enabled by operator {} from the command line", by.0);
    events::record(state, &user.id, EventKind::AccountEnabled, None, Some(detail)).await
}

/// Revokes every session, trusted device, pending link and device sign-in
/// (`Occasion::SignOut`); API tokens stay (the owner or the operator disables the account
/// to stop those too).
pub async fn sign_out_everywhere(state: &AppState, email: &Email, by: &Operator) -> Result<SignedOut> {
    let user = super::account::by_email(state, email).await?;
    let signed_out = state.store.sign_out_everywhere(&user.id, state.clock.now()).await?;
    let detail = format!(
        "operator {} signed out {} sessions and {} trusted devices from the command line",
        by.0, signed_out.sessions, signed_out.trusted_devices
    );
    events::record(state, &user.id, EventKind::SessionRevoked, None, Some(detail)).await?;
    Ok(signed_out)
}

/// One account at a glance (`latchkey user show`).
#[derive(Debug, Clone)]
pub struct AccountOverview {
    pub account: Account,
    pub factors: Factors,
    pub security_keys: Vec<WebauthnKeyRecord>,
    pub providers: Vec<LinkedIdentity>,
    pub sessions: Vec<SessionRecord>,
    pub api_tokens: Vec<ApiToken>,
    pub workspaces: Vec<Membership>,
    pub sign_ins: Vec<SignInRecord>,
    pub events: Vec<SecurityEventRecord>,
}

pub async fn overview(state: &AppState, email: &Email) -> Result<AccountOverview> {
    let account = super::account::by_email(state, email).await?;
    let id = account.id.as_str();
    let store = &state.store;
    Ok(AccountOverview {
        factors: store.factors(id).await?,
        security_keys: store.webauthn_keys(id).await?,
        providers: store.linked_identities(id).await?,
        sessions: store.sessions_of(id).await?,
        api_tokens: store.api_tokens_of(id).await?,
        workspaces: store.memberships_of(id).await?,
        sign_ins: store.login_history(id, RECENT).await?,
        events: store.security_events(id, RECENT, None).await?,
        account,
    })
}
