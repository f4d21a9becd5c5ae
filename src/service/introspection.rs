//! Token introspection (RFC 7662) for the apps made by `latchkey client add`: a backend
//! asks whether a bearer token it was given is live, whose it is and how it was proven.
//! Client secrets are stored only as hashes, compared in constant time, and wrong ones are
//! counted per client before they are compared.

use subtle::ConstantTimeEq;

use crate::domain::proof::Amr;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::IntrospectionClient;

use super::{Credential, rate_limit, sessions};

/// A client just made: its secret is shown once.
pub struct NewClient {
    pub client: IntrospectionClient,
    pub secret: SecretToken,
}

pub async fn add_client(state: &AppState, name: &str) -> Result<NewClient> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest("a client's name is 1 to 100 printable characters".into()));
    }
    let secret = SecretToken::mint(TokenKind::ClientSecret)?;
    let client = state.store.add_introspection_client(name, secret.hash().as_str(), state.clock.now()).await?;
    Ok(NewClient { client, secret })
}

pub async fn clients(state: &AppState) -> Result<Vec<IntrospectionClient>> {
    Ok(state.store.introspection_clients().await?)
}

/// Removes a client: its next request is refused.
pub async fn remove_client(state: &AppState, id: &str) -> Result<()> {
    if state.store.remove_introspection_client(id).await? { Ok(()) } else { Err(Error::NotFound) }
}

/// The client's HTTP Basic credentials: each try is counted against the client before
/// the secret is compared (a progressive lock, as for an account's password).
pub async fn authenticate_client(state: &AppState, id: &str, secret: &str) -> Result<()> {
    let key = format!("introspect-client:{id}");
    let attempt = rate_limit::reserve_one(state, &key, rate_limit::ACCOUNT).await?;
    let stored = state.store.introspection_secret_hash(id).await?;
    let presented = SecretToken::parse(secret).filter(|s| s.is(TokenKind::ClientSecret)).map(|s| s.hash());
    let right = match (stored, presented) {
        (Some(stored), Some(presented)) => bool::from(stored.as_bytes().ct_eq(presented.as_str().as_bytes())),
        _ => false,
    };
    if !right {
        attempt.failed();
        return Err(Error::Unauthenticated);
    }
    attempt.succeeded(state).await?;
    Ok(())
}

/// What introspection says of a token.
pub enum Introspection {
    /// Unknown, signed out, expired, revoked, or its account disabled: nothing more is said.
    Inactive,
    Active {
        user_id: String,
        email: String,
        /// `None` for an API token.
        session_id: Option<String>,
        amr: Amr,
        auth_time: Option<i64>,
        issued_at: i64,
        expires_at: Option<i64>,
    },
}

pub async fn introspect(state: &AppState, raw: &str) -> Result<Introspection> {
    let Some(token) = SecretToken::parse(raw) else { return Ok(Introspection::Inactive) };
    if token.is(TokenKind::ApiToken) {
        let Some(active) = state.store.api_token_identity_by_hash(&token.hash()).await? else {
            return Ok(Introspection::Inactive);
        };
        let t = active.token;
        if active.account.disabled || t.expires_at.is_some_and(|e| state.clock.now() >= e) {
            return Ok(Introspection::Inactive);
        }
        return Ok(Introspection::Active {
            user_id: t.user_id,
            email: active.account.email,
            session_id: None,
            amr: Amr::default(),
            auth_time: None,
            issued_at: t.created_at.timestamp(),
            expires_at: t.expires_at.map(|e| e.timestamp()),
        });
    }
    if !token.is(TokenKind::Session) {
        return Ok(Introspection::Inactive);
    }
    // The same checks as every request (idle and absolute lifetime, a disabled account).
    let caller = match sessions::identify(state, &token).await {
        Ok(caller) => caller,
        Err(Error::Unauthenticated) => return Ok(Introspection::Inactive),
        Err(e) => return Err(e),
    };
    let Credential::Session(session) = caller.credential else { return Ok(Introspection::Inactive) };
    let Some(created) = state.store.session_created_at(&session.id).await? else {
        return Ok(Introspection::Inactive);
    };
    Ok(Introspection::Active {
        user_id: caller.user_id,
        email: caller.account.email,
        session_id: Some(session.id),
        amr: session.amr,
        auth_time: Some(session.auth_at.timestamp()),
        issued_at: created.timestamp(),
        expires_at: Some(state.config.settings.session.expires_at(created).timestamp()),
    })
}
