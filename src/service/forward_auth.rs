//! Forward auth: a reverse proxy asks, for each request to another app, whether the
//! caller's session (or API token) is live and proven as that app requires. It costs what
//! `GET /api/v1/me` costs (the same coalesced lookup, no cache that could let a revoked
//! token through); a `workspace` requirement adds one membership query.

use crate::domain::forward_auth::{Requirements, unmet};
use crate::domain::workspace::Access;
use crate::error::{Error, Result};
use crate::state::AppState;

use super::{Caller, Credential};

/// Who the proxy lets through, for the headers it passes on.
pub struct Verified<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    /// `None` for an API token.
    pub session_id: Option<&'a str>,
    pub amr: Vec<&'static str>,
    pub auth_time: Option<i64>,
}

/// `GET /auth/verify`: the caller as the proxy sees it, or 403
/// `insufficient_user_authentication` / `not_a_member` for a requirement not met, and
/// `2fa_enrolment_required` for an account the operator's 2FA requirement holds.
pub async fn verify<'a>(
    state: &AppState,
    caller: &'a Caller,
    req: &Requirements,
    workspace_id: Option<&str>,
) -> Result<Verified<'a>> {
    let proof = match &caller.credential {
        Credential::Session(s) => Some((&s.amr, s.auth_at)),
        Credential::ApiToken(_) => None,
    };
    caller.require_enrolment(state)?;
    if let Some(why) = unmet(req, proof, state.clock.now()) {
        return Err(Error::InsufficientUserAuthentication(why));
    }
    if let Some(id) = workspace_id {
        let member = state.store.membership(id, &caller.user_id).await?.ok_or(Error::NotAMember)?;
        if member.workspace.policy.access(&caller.account.factors, state.clock.now()) == Access::TwoFactorRequired {
            return Err(Error::InsufficientUserAuthentication("the workspace requires two-factor authentication"));
        }
    }
    Ok(Verified {
        user_id: &caller.user_id,
        email: &caller.account.email,
        session_id: caller.session().map(|s| s.id.as_str()),
        amr: proof.map(|(amr, _)| amr.values()).unwrap_or_default(),
        auth_time: proof.map(|(_, at)| at.timestamp()),
    })
}
