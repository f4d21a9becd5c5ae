//! What Latchkey does, one use case per function: the HTTP handlers and the command
//! line both call in here, so the rules are enforced the same way on every surface.

pub mod account;
pub mod api_tokens;
pub mod auth;
pub mod events;
pub mod history;
pub mod maintenance;
pub mod mfa;
pub mod oauth;
pub mod rate_limit;
pub mod sessions;
pub mod trusted_devices;
pub mod two_factor;
pub mod webauthn;
pub mod workspaces;

use std::net::IpAddr;

use crate::domain::location::Location;
use crate::store::AccountSummary;

/// Who is asking, as far as the network can tell.
#[derive(Debug, Clone)]
pub struct ClientContext {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub location: Location,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// A sign-in: browser, desktop app or CLI.
    Session,
    /// A personal access token: it reads and uses the account, but never manages its
    /// credentials (password, second factors, tokens, sessions).
    ApiToken,
}

/// A signed-in caller, as the authentication extractor found them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kind: CallerKind,
    pub user_id: String,
    /// The session's id, or the API token's.
    pub session_id: String,
    pub auth_at: chrono::DateTime<chrono::Utc>,
    /// The trusted device the session signed in from, if any.
    pub trusted_device_id: Option<String>,
    /// The account, as it was when this request was authenticated.
    pub account: AccountSummary,
}
