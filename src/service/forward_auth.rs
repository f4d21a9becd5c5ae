//! Forward auth: a reverse proxy asks, for each request to another app, whether the
//! caller's session (or API token) is live and proven as that app requires. It costs less
//! than `GET /api/v1/me` (the same coalesced lookup without the factor counts, no cache
//! that could let a revoked token through); a `workspace` requirement adds the counts and
//! one membership query.

use crate::domain::account::AccountView;
use crate::domain::enrolment::RequiredEnrolment;
use crate::domain::forward_auth::{Requirements, unmet};
use crate::domain::token::SecretToken;
use crate::domain::workspace::Access;
use crate::error::{Error, Result};
use crate::state::AppState;

use super::{Caller, sessions};

/// Who the proxy lets through, for the headers it passes on.
pub struct Verified {
    pub user_id: String,
    pub email: String,
    /// `None` for an API token.
    pub session_id: Option<String>,
    pub amr: Vec<&'static str>,
    pub auth_time: Option<i64>,
}

/// `GET /auth/verify`: the caller as the proxy sees it, or 403
/// `insufficient_user_authentication` / `not_a_member` for a requirement not met, and
/// `2fa_enrolment_required` for an account the operator's 2FA requirement holds.
///
/// Only a `workspace` requirement or the operator's 2FA requirement asks about the
/// account's factors; without either, the lookup leaves them out (`sessions::identify`).
pub async fn verify(
    state: &AppState,
    token: &SecretToken,
    req: &Requirements,
    workspace_id: Option<&str>,
) -> Result<Verified> {
    if workspace_id.is_none() && state.config.settings.required_enrolment == RequiredEnrolment::Off {
        return proven(state, sessions::identify(state, token).await?, req);
    }
    let caller = sessions::authenticate(state, token).await?;
    caller.require_enrolment(state)?;
    let factors = caller.account.factors.clone();
    let verified = proven(state, caller, req)?;
    if let Some(id) = workspace_id {
        let member = state.store.membership(id, &verified.user_id).await?.ok_or(Error::NotAMember)?;
        if member.workspace.policy.access(&factors, state.clock.now()) == Access::TwoFactorRequired {
            return Err(Error::InsufficientUserAuthentication("the workspace requires two-factor authentication"));
        }
    }
    Ok(verified)
}

/// The caller, if its session's proof meets the requirements.
fn proven<A: AccountView>(state: &AppState, caller: Caller<A>, req: &Requirements) -> Result<Verified> {
    let proof = caller.session().map(|s| (&s.amr, s.auth_at));
    if let Some(why) = unmet(req, proof, state.clock.now()) {
        return Err(Error::InsufficientUserAuthentication(why));
    }
    Ok(Verified {
        amr: proof.map(|(amr, _)| amr.values()).unwrap_or_default(),
        auth_time: proof.map(|(_, at)| at.timestamp()),
        email: caller.account.email().to_owned(),
        session_id: caller.session().map(|s| s.id.clone()),
        user_id: caller.user_id,
    })
}
