//! The account a provider's answer opens: by subject once linked; else by verified email,
//! linking it (and reclaiming an account whose email was never verified); else a new
//! account without a password. Refusals are recorded in the target account's history.

use crate::domain::account::Account;
use crate::domain::device::Device;
use crate::domain::oauth::{self, Decision, Failure, ProviderClaims, ProviderId, Refusal};
use crate::domain::security_event::EventKind;
use crate::domain::sign_in::{FailureReason, SignInMethod};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{IdentityRef, Linked, StoreError};

use super::super::sign_in::record_attempt;
use super::super::{ClientContext, events};

/// The account the provider's claims open: by subject once linked, else by verified
/// email (linking it), else a new account without a password.
pub(super) async fn account_for(
    state: &AppState,
    ctx: &ClientContext,
    provider: &ProviderId,
    name: &str,
    claims: &ProviderClaims,
    device: &Device,
) -> Result<Account> {
    let now = state.clock.now();
    let identity =
        IdentityRef { provider: provider.as_str(), subject: &claims.subject, email: claims.email.as_deref() };
    // Twice at most: a concurrent first sign-in of the same person may create or link
    // the account between this one's lookups; the second round then finds it.
    for _ in 0..2 {
        // A linked subject decides, whatever email the provider gives now.
        if let Some(user) = state.store.user_by_identity(provider.as_str(), &claims.subject).await? {
            if user.disabled_at.is_some() {
                return Err(refuse_disabled(state, ctx, provider, &user, device).await);
            }
            state.store.touch_identity(identity, now).await?;
            return Ok(user);
        }
        let email = match oauth::verified_email(claims) {
            Ok(email) => email,
            Err(refusal) => return Err(refuse(state, ctx, provider, name, claims, device, refusal).await),
        };
        let existing = state.store.user_by_email(&email).await?;
        // Never linked to, nor reclaimed: a disabled account stays as the operator left it.
        if let Some(user) = existing.as_ref().filter(|u| u.disabled_at.is_some()) {
            return Err(refuse_disabled(state, ctx, provider, user, device).await);
        }
        match oauth::by_email(email, existing.as_ref().map(|u| u.id.as_str()), state.config.settings.signup_open) {
            Decision::Link { user_id, .. } => match state.store.link_by_verified_email(&user_id, identity, now).await {
                Ok(linked) => {
                    if linked == Linked::Reclaimed {
                        let detail = format!(
                            "{name} verified this email: the password, sessions, API tokens, trusted devices, second factors, backup codes, provider links, pending links and device sign-ins set before, and the workspace members it brought in, were removed"
                        );
                        events::record(state, &user_id, EventKind::AccountReclaimed, Some(ctx), Some(detail)).await?;
                    }
                    let detail = format!("{name} linked by its verified email");
                    events::record(state, &user_id, EventKind::ProviderLinked, Some(ctx), Some(detail)).await?;
                    // Read again: a reclaimed account has lost its password.
                    return state
                        .store
                        .user_by_id(&user_id)
                        .await?
                        .ok_or_else(|| Error::internal(anyhow::anyhow!("account vanished")));
                }
                // Either this subject was just linked by a racing callback (found next
                // round), or the account has another subject of this provider.
                Err(StoreError::Conflict) => {
                    if state.store.user_by_identity(provider.as_str(), &claims.subject).await?.is_none() {
                        return Err(Failure::LinkedElsewhere { provider: name.to_owned() }.into());
                    }
                }
                Err(e) => return Err(e.into()),
            },
            Decision::Create { email } => match state.store.create_user_with_identity(&email, identity, now).await {
                Ok(user) => return Ok(user),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            },
            Decision::Refuse(_) => return Err(Error::SignupClosed),
        }
    }
    Err(Error::internal(anyhow::anyhow!("provider sign-in kept racing")))
}

/// A provider sign-in into a disabled account: recorded in its history, answered as
/// invalid credentials.
async fn refuse_disabled(
    state: &AppState,
    ctx: &ClientContext,
    provider: &ProviderId,
    user: &Account,
    device: &Device,
) -> Error {
    let method = SignInMethod::Provider(provider.clone());
    match record_attempt(state, ctx, &user.id, device, &method, false, Some(FailureReason::Disabled)).await {
        Ok(()) => Error::InvalidCredentials,
        Err(e) => e,
    }
}

/// A refused provider answer; when it names an existing account, that account's login
/// history shows the attempt (an unverified email aimed at it is worth knowing about).
async fn refuse(
    state: &AppState,
    ctx: &ClientContext,
    provider: &ProviderId,
    name: &str,
    claims: &ProviderClaims,
    device: &Device,
    refusal: Refusal,
) -> Error {
    if refusal == Refusal::EmailUnverified {
        let target = match claims.email.as_deref().map(crate::domain::email::Email::parse) {
            Some(Ok(email)) => state.store.user_by_email(&email).await.ok().flatten(),
            _ => None,
        };
        if let Some(user) = target {
            let method = SignInMethod::Provider(provider.clone());
            let failure = Some(FailureReason::EmailUnverified);
            if let Err(e) = record_attempt(state, ctx, &user.id, device, &method, false, failure).await {
                return e;
            }
        }
    }
    match refusal.failure(name) {
        Some(f) => f.into(),
        None => Error::SignupClosed,
    }
}
