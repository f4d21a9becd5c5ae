//! Invitations by email. Sending one never looks the address up, so the answer (status,
//! body and time) is the same whether or not it has an account or is a member already;
//! only an account whose verified email is the invited address can accept.

use crate::domain::email::Email;
use crate::domain::mail;
use crate::domain::token::{SecretToken, TokenKind};
use crate::domain::workspace::{INVITATION_LIFETIME, Invitation, Membership, Role};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::NewInvitation;

use super::super::Caller;
use super::super::events::alerts;
use super::super::rate_limit::{self, MAILS_PER_RECIPIENT, WORKSPACE_INVITATIONS};
use super::require_manager;

pub async fn send(state: &AppState, caller: &Caller, by: &Membership, email: &str, role: Role) -> Result<String> {
    require_manager(by)?;
    if !by.role.may_grant(role) {
        return Err(Error::Forbidden);
    }
    let email = Email::parse(email).map_err(Error::InvalidRequest)?;
    let per_workspace = format!("invitations:{}", by.workspace.id);
    rate_limit::reserve_one(state, &per_workspace, WORKSPACE_INVITATIONS).await?.failed();
    let token = SecretToken::mint(TokenKind::Invitation)?;
    // Past the address's hourly cap the invitation is still made (the owner sees it
    // pending) but not mailed; the answer is the same.
    let letter = match rate_limit::reserve_one(state, &mail_key(email.as_str()), MAILS_PER_RECIPIENT).await {
        Ok(counted) => {
            counted.failed();
            let link = alerts::link(state, "invite", &token);
            Some(mail::invitation(email.as_str(), &by.workspace.name, role.as_str(), &link))
        }
        Err(Error::RateLimited { .. }) => None,
        Err(e) => return Err(e),
    };
    let now = state.clock.now();
    let hash = token.hash();
    let new = NewInvitation {
        workspace_id: &by.workspace.id,
        email: email.as_str(),
        role,
        token_hash: hash.as_str(),
        invited_by: &caller.user_id,
        acting: caller.acting(),
        now,
        expires_at: now + INVITATION_LIFETIME,
    };
    let id = state.store.create_invitation(new, letter.as_ref()).await?;
    state.mail_wake.notify_one();
    Ok(id)
}

/// The rate-limit key of invitation mails to one address, across every workspace.
fn mail_key(email: &str) -> String {
    format!("mail:invitation:{email}")
}

pub async fn pending(state: &AppState, by: &Membership) -> Result<Vec<Invitation>> {
    require_manager(by)?;
    Ok(state.store.pending_invitations(&by.workspace.id, state.clock.now()).await?)
}

pub async fn revoke(state: &AppState, caller: &Caller, by: &Membership, invitation_id: &str) -> Result<()> {
    require_manager(by)?;
    if !state.store.revoke_invitation(&by.workspace.id, invitation_id, &caller.user_id, state.clock.now()).await? {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// The open invitation a link names and its workspace's name, for the `/invite` page.
pub async fn preview(state: &AppState, token: &str) -> Result<(Invitation, String)> {
    let token = SecretToken::parse(token).filter(|t| t.is(TokenKind::Invitation)).ok_or(Error::InvalidToken)?;
    state.store.live_invitation(token.hash().as_str(), state.clock.now()).await?.ok_or(Error::InvalidToken)
}

/// `POST /invitations/accept`: the caller joins, if their verified email is the one
/// invited. The workspace's policy applies from then on like for any member.
pub async fn accept(state: &AppState, caller: &Caller, token: &str) -> Result<(String, Role)> {
    let (invite, _) = preview(state, token).await?;
    let account = &caller.account;
    if !account.email_verified || account.email != invite.email {
        return Err(Error::InvitationMismatch);
    }
    let role =
        state.store.accept_invitation(&invite, &caller.user_id, state.clock.now()).await?.ok_or(Error::InvalidToken)?;
    Ok((invite.workspace_id, role))
}
