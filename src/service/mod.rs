//! What Latchkey does, one use case per function: the HTTP handlers and the command
//! line both call in here, so the rules are enforced the same way on every surface.

pub mod account;
pub mod api_tokens;
pub mod auth;
pub mod breached;
pub mod device_grant;
pub mod email;
pub mod events;
pub mod forward_auth;
pub mod history;
pub mod introspection;
pub mod key_rotation;
pub mod mail_delivery;
pub mod maintenance;
pub mod oauth;
pub mod operator;
pub mod passkeys;
pub mod rate_limit;
pub mod second_factor;
pub mod sessions;
pub mod sign_in;
pub mod trusted_devices;
pub mod workspaces;

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::domain::account::AccountSummary;
use crate::domain::location::Location;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Who is asking, as far as the network can tell.
#[derive(Debug, Clone)]
pub struct ClientContext {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub location: Location,
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A sign-in: browser, desktop app or CLI.
    Session(SessionCredential),
    /// A personal access token (its id): it reads and uses the account, but never manages
    /// its credentials (password, second factors, tokens, sessions), and is never "recent".
    ApiToken(String),
}

#[derive(Debug, Clone)]
pub struct SessionCredential {
    pub id: String,
    /// When the session last proved a password or second factor (sign-in or re-auth).
    pub auth_at: DateTime<Utc>,
    /// The trusted device the session signed in from, if any.
    pub trusted_device_id: Option<String>,
    /// How the session was proven (RFC 8176).
    pub amr: crate::domain::proof::Amr,
}

/// A signed-in caller, as the authentication extractor found them: with the whole account
/// (`AccountSummary`), or only who it is (`AccountIdentity`) for a proxy's question.
#[derive(Debug, Clone)]
pub struct Caller<A = AccountSummary> {
    pub user_id: String,
    pub credential: Credential,
    /// The account, as it was when this request was authenticated.
    pub account: A,
}

impl<A> Caller<A> {
    /// The session, when the caller signed in (not an API token).
    pub fn session(&self) -> Option<&SessionCredential> {
        match &self.credential {
            Credential::Session(s) => Some(s),
            Credential::ApiToken(_) => None,
        }
    }

    /// The session's id, or the API token's: what CSRF tokens and "current" markers key on.
    pub fn credential_id(&self) -> &str {
        match &self.credential {
            Credential::Session(s) => &s.id,
            Credential::ApiToken(id) => id,
        }
    }

    /// The credential, as a write made with it names it (`store::Acting`).
    pub fn acting(&self) -> crate::store::Acting<'_> {
        match &self.credential {
            Credential::Session(s) => crate::store::Acting::Session(&s.id),
            Credential::ApiToken(id) => crate::store::Acting::ApiToken(id),
        }
    }

    /// The session, or 403 `session_required` for an API token.
    pub fn require_session(&self) -> Result<&SessionCredential> {
        self.session().ok_or(Error::SessionRequired)
    }

    /// 403 `reauth_required` unless the caller is a session that proved a password or a
    /// second factor within the re-auth window (an API token never has).
    pub fn require_recent_auth(&self, state: &AppState) -> Result<&SessionCredential> {
        let session = self.require_session()?;
        if state.clock.now() - session.auth_at > state.config.settings.reauth_window {
            return Err(Error::ReauthRequired);
        }
        Ok(session)
    }
}

impl Caller {
    /// 403 `2fa_enrolment_required` while the operator requires a second factor that the
    /// account has not enrolled (`LATCHKEY_REQUIRE_2FA`): everything but the personal
    /// pages (`/me/*`, `/auth/*`, the Security page) asks this.
    pub fn require_enrolment(&self, state: &AppState) -> Result<()> {
        let required = state.config.settings.required_enrolment;
        if required.holds(self.account.factors.enabled(), state.clock.now()) {
            return Err(Error::EnrolmentRequired);
        }
        Ok(())
    }
}
