//! What every alert mail carries: a "this wasn't me" link, and where and from what the
//! change came. Used by `events` (which sends the alerts), `email` and `sign_in` (the
//! new-sign-in alert, queued with its session).

use chrono::Duration;

use crate::domain::device::Device;
use crate::domain::mail::Circumstances;
use crate::domain::token::{SecretToken, TokenHash, TokenKind};
use crate::error::Result;
use crate::state::AppState;
use crate::store::{LinkPurpose, NewLink};

use super::super::ClientContext;

pub(in crate::service) const LOCK_LIFETIME: Duration = Duration::days(7);

/// `{public_url}/{page}?token=…`.
pub(in crate::service) fn link(state: &AppState, page: &str, token: &SecretToken) -> String {
    format!("{}/{page}?token={}", state.config.public_url, token.expose())
}

/// A lock link for an alert, minted but not stored yet (it goes in with the alert).
pub(in crate::service) struct LockLink {
    hash: TokenHash,
    user_id: String,
    email: String,
    restores_email: bool,
    pub url: String,
}

impl LockLink {
    /// `restores_email`: `email` is the account's old address, which the lock puts back.
    pub(in crate::service) fn mint(state: &AppState, user_id: &str, email: &str, restores_email: bool) -> Result<Self> {
        let token = SecretToken::mint(TokenKind::AccountLock)?;
        let url = link(state, "lock", &token);
        Ok(Self { hash: token.hash(), user_id: user_id.to_owned(), email: email.to_owned(), restores_email, url })
    }

    pub(in crate::service) fn new_link(&self, state: &AppState) -> NewLink<'_> {
        let now = state.clock.now();
        NewLink {
            token_hash: self.hash.as_str(),
            user_id: &self.user_id,
            purpose: LinkPurpose::Lock,
            email: &self.email,
            now,
            expires_at: now + LOCK_LIFETIME,
            restores_email: self.restores_email,
        }
    }
}

/// Where and from what, for an alert.
pub(in crate::service) fn circumstances(state: &AppState, ctx: Option<&ClientContext>) -> Circumstances {
    Circumstances {
        when: state.clock.now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ip: ctx.map(|c| c.ip.to_string()),
        place: ctx.map(|c| c.location.label.clone()),
        device: ctx.map(|c| Device::identify(None, None, c.user_agent.as_deref()).name),
    }
}
