//! Validating bearer tokens and managing the account's sessions.

use crate::domain::account::{AccountIdentity, AccountView};
use crate::domain::security_event::EventKind;
use crate::domain::session::SessionRecord;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::ActiveSession;

use super::{Caller, ClientContext, Credential, SessionCredential, events};

/// The hot path: every authenticated request comes through here.
pub async fn authenticate(state: &AppState, token: &SecretToken) -> Result<Caller> {
    if token.is(TokenKind::ApiToken) {
        return super::api_tokens::authenticate(state, token).await;
    }
    let session = state.store.session_by_token(&token.hash()).await?;
    admit(state, session).await
}

/// [`authenticate`] without reading the account's factors: for a proxy's question, which
/// needs only who the caller is and how the session was proven.
pub async fn identify(state: &AppState, token: &SecretToken) -> Result<Caller<AccountIdentity>> {
    if token.is(TokenKind::ApiToken) {
        return super::api_tokens::identify(state, token).await;
    }
    let session = state.store.session_identity_by_token(&token.hash()).await?;
    admit(state, session).await
}

/// The session, if it is live and its account is not disabled, as the caller.
async fn admit<A: AccountView>(state: &AppState, session: Option<ActiveSession<A>>) -> Result<Caller<A>> {
    let Some(session) = session else {
        return Err(Error::Unauthenticated);
    };
    if session.account.disabled() {
        return Err(Error::Unauthenticated);
    }
    let now = state.clock.now();
    let policy = state.config.settings.session;
    if !policy.is_live(session.expires_at, session.last_activity_at, now) {
        state.store.delete_session(&session.user_id, &session.id).await?;
        return Err(Error::Unauthenticated);
    }
    if policy.needs_touch(session.last_activity_at, now) {
        // Off the request's critical path; losing one touch only costs resolution.
        let store = state.store.clone();
        let id = session.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_session(&id, now).await {
                tracing::warn!(error = %e, "could not record session activity");
            }
        });
    }
    Ok(Caller {
        user_id: session.user_id,
        credential: Credential::Session(SessionCredential {
            id: session.id,
            auth_at: session.auth_at,
            trusted_device_id: session.trusted_device_id,
            amr: session.amr,
        }),
        account: session.account,
    })
}

/// Ends the session a browser's old cookie names, whichever account it belongs to: a new
/// sign-in in that browser replaces it (ASVS 7.2.4), so a session fixed or left behind in
/// the browser does not outlive the sign-in. Nothing for a dead or malformed token.
pub async fn end_replaced(state: &AppState, raw: &str) -> Result<()> {
    let Some(token) = SecretToken::parse(raw).filter(|t| t.is(TokenKind::Session)) else {
        return Ok(());
    };
    if let Some(session) = state.store.session_by_token(&token.hash()).await? {
        state.store.delete_session(&session.user_id, &session.id).await?;
    }
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<SessionRecord>> {
    Ok(state.store.sessions_of(&caller.user_id).await?)
}

/// Signs out one session. Another session than the caller's own is a sensitive action
/// (ASVS 7.5.2): a stale stolen session must not sign the owner out of theirs.
pub async fn revoke(state: &AppState, caller: &Caller, ctx: &ClientContext, session_id: &str) -> Result<()> {
    if caller.session().map(|s| s.id.as_str()) != Some(session_id) {
        caller.require_recent_auth(state)?;
    }
    if !state.store.delete_session(&caller.user_id, session_id).await? {
        return Err(Error::NotFound);
    }
    let detail = format!("session {session_id}");
    events::record(state, &caller.user_id, EventKind::SessionRevoked, Some(ctx), Some(detail)).await
}

/// Signs out every other session: a sensitive action, as in [`revoke`].
pub async fn revoke_others(state: &AppState, caller: &Caller, ctx: &ClientContext) -> Result<u64> {
    caller.require_recent_auth(state)?;
    let revoked = state.store.delete_other_sessions(&caller.user_id, &caller.require_session()?.id).await?;
    if revoked > 0 {
        let detail = format!("{revoked} other sessions");
        events::record(state, &caller.user_id, EventKind::SessionRevoked, Some(ctx), Some(detail)).await?;
    }
    Ok(revoked)
}
