//! What reaches a person outside the page: links that confirm an address, reset a
//! password or lock the account, and alerts about changes to the account. Every message
//! is queued in the same transaction as the change that causes it (the outbox); the mail
//! worker delivers it.
//!
//! Nothing here tells a caller whether an address has an account: a reset request is
//! answered 202 before the account is even looked up, and the lookup runs after.

use chrono::Duration;

use crate::domain::account::Account;
use crate::domain::backup_codes::BackupCode;
use crate::domain::client_ip;
use crate::domain::email::Email;
use crate::domain::mail::{self, Letter};
use crate::domain::password::Password;
use crate::domain::security_event::EventKind;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Acting, Issued, LinkPurpose, NewLink, ResetDone, StoreError};

use super::events::alerts::{LockLink, link};
use super::second_factor::codes;
use super::{Caller, ClientContext, account, events, rate_limit};

pub(super) const VERIFY_LIFETIME: Duration = Duration::hours(24);
const RESET_LIFETIME: Duration = Duration::minutes(30);
/// Messages of one kind (confirmation, reset) an address gets per hour.
const MESSAGES_PER_HOUR: i64 = 5;

fn parse_link(token: &str, kind: TokenKind) -> Result<SecretToken> {
    SecretToken::parse(token).filter(|t| t.is(kind)).ok_or(Error::InvalidToken)
}

/// Issues a link of `purpose` to `to` with the letter `compose` writes around it; `false`
/// when the address had its hour's worth of such messages already.
async fn issue(
    state: &AppState,
    user_id: &str,
    acting: Option<Acting<'_>>,
    purpose: LinkPurpose,
    to: &str,
    compose: impl FnOnce(&str) -> Letter,
) -> Result<bool> {
    let (kind, page, lifetime) = match purpose {
        LinkPurpose::Verify => (TokenKind::EmailVerification, "verify-email", VERIFY_LIFETIME),
        LinkPurpose::Reset => (TokenKind::PasswordReset, "reset-password", RESET_LIFETIME),
        // A lock link goes out with its alert (`LockLink`): no limit, no voiding.
        LinkPurpose::Lock => return Err(Error::internal(anyhow::anyhow!("lock links are queued with their alert"))),
    };
    let token = SecretToken::mint(kind)?;
    let letter = compose(&link(state, page, &token));
    let now = state.clock.now();
    let hash = token.hash();
    let new = NewLink {
        token_hash: hash.as_str(),
        user_id,
        purpose,
        email: to,
        now,
        expires_at: now + lifetime,
        restores_email: false,
    };
    let issued = state.store.issue_link(new, acting, &letter, MESSAGES_PER_HOUR, now - Duration::hours(1)).await?;
    state.mail_wake.notify_one();
    Ok(issued == Issued::Sent)
}

/// A confirmation link for `to` and its message, for a sign-up to store with the account.
pub(super) fn verification(state: &AppState, to: &str) -> Result<(SecretToken, Letter)> {
    let token = SecretToken::mint(TokenKind::EmailVerification)?;
    let letter = mail::verify_email(to, &link(state, "verify-email", &token));
    Ok((token, letter))
}

/// `POST /me/email/verify/resend`: another link, unless the address is confirmed already.
pub async fn resend_verification(state: &AppState, caller: &Caller) -> Result<()> {
    let user = account::me(state, caller).await?;
    if !user.email_verified {
        let acting = Some(caller.acting());
        issue(state, &user.id, acting, LinkPurpose::Verify, &user.email, |l| mail::verify_email(&user.email, l))
            .await?;
    }
    Ok(())
}

/// `POST /me/email`: a link to the new address (the change happens when it is used), and a
/// notice with a lock link to the old one.
pub async fn request_change(state: &AppState, caller: &Caller, new: &str) -> Result<()> {
    caller.require_recent_auth(state)?;
    let new = Email::parse(new).map_err(Error::InvalidRequest)?;
    let user = account::me(state, caller).await?;
    if new.as_str() == user.email {
        return Err(Error::InvalidRequest("that is the account's address already".into()));
    }
    let acting = Some(caller.acting());
    let sent =
        issue(state, &user.id, acting, LinkPurpose::Verify, new.as_str(), |l| mail::verify_email(new.as_str(), l))
            .await?;
    if !sent {
        return Err(Error::RateLimited { retry_after: 3600 });
    }
    // Used after the change, this lock link puts the old address back.
    let lock = LockLink::mint(state, &user.id, &user.email, true)?;
    let notice = mail::email_change_notice(&user.email, new.as_str(), &lock.url);
    state.store.queue_link(lock.new_link(state), &notice).await?;
    state.mail_wake.notify_one();
    Ok(())
}

/// `POST /auth/email/verify`: the address of the link is confirmed (and becomes the
/// account's, for a change).
pub async fn confirm(state: &AppState, ctx: &ClientContext, token: &str) -> Result<()> {
    let token = parse_link(token, TokenKind::EmailVerification)?;
    let confirmed = match state.store.confirm_email(token.hash().as_str(), state.clock.now()).await {
        Err(StoreError::Conflict) => return Err(Error::EmailTaken),
        other => other?.ok_or(Error::InvalidToken)?,
    };
    if confirmed.old_email != confirmed.email {
        let detail = Some(format!("from {} to {}", confirmed.old_email, confirmed.email));
        let old = Some(confirmed.old_email.as_str());
        events::record_alerting(state, &confirmed.user_id, EventKind::EmailChanged, Some(ctx), detail, old).await?;
    }
    Ok(())
}

/// `POST /auth/password/forgot`. Counted per client address before anything else; the
/// account is looked up (and the link sent) after the answer, so known and unknown
/// addresses answer alike and in the same time.
pub async fn forgot(state: &AppState, ctx: &ClientContext, email: &str) -> Result<()> {
    let key = format!("forgot-ip:{}", client_ip::limit_key(ctx.ip));
    rate_limit::reserve_one(state, &key, rate_limit::FORGOT).await?.failed();
    let Ok(email) = Email::parse(email) else { return Ok(()) };
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset(&state, &email).await {
            tracing::warn!(error = %e, "a password reset link could not be queued");
        }
    });
    Ok(())
}

async fn send_reset(state: &AppState, email: &Email) -> Result<()> {
    let Some(user) = state.store.user_by_email(email).await? else { return Ok(()) };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let has_password = user.password_hash.is_some();
    issue(state, &user.id, None, LinkPurpose::Reset, &user.email, |l| {
        mail::password_reset(&user.email, l, has_password)
    })
    .await?;
    Ok(())
}

/// For the reset page: what the link's account must prove while the link works.
pub async fn reset_link(state: &AppState, token: &str) -> Result<Option<Vec<&'static str>>> {
    let Ok(token) = parse_link(token, TokenKind::PasswordReset) else { return Ok(None) };
    let link = state.store.live_link(token.hash().as_str(), LinkPurpose::Reset, state.clock.now()).await?;
    let Some(link) = link else { return Ok(None) };
    let Some(user) = state.store.user_by_id(&link.user_id).await?.filter(|u| u.disabled_at.is_none()) else {
        return Ok(None);
    };
    Ok(Some(second_factors_asked(state, &user).await?))
}

/// The second factors a reset of `user` asks for: none for a reclaim (an address never
/// verified), else every method the account has.
async fn second_factors_asked(state: &AppState, user: &Account) -> Result<Vec<&'static str>> {
    if !user.email_verified {
        return Ok(Vec::new());
    }
    Ok(state.store.factors(&user.id).await?.second_step_methods())
}

pub struct ResetInput {
    pub token: String,
    pub new_password: Password,
    /// `totp`, `backup_code` (with `code`) or `webauthn` (with `challenge_id` and
    /// `credential`), when the account has 2FA and a verified address.
    pub method: Option<String>,
    pub code: Option<String>,
    pub challenge_id: Option<String>,
    pub credential: Option<serde_json::Value>,
}

/// The link of a reset request, with one of its tries counted: the cheap checks come
/// before anything costly (the token's shape, the client address's limit, the link).
async fn claim_reset_try(state: &AppState, ctx: &ClientContext, token: &str) -> Result<(SecretToken, Account)> {
    let token = parse_link(token, TokenKind::PasswordReset)?;
    let hash = token.hash();
    let now = state.clock.now();
    // A link this instance saw refused is refused again without asking: it cannot come
    // back (a link is never unused, unexpired or given tries back), and a new one is a
    // fresh random token that no one held before it was mailed.
    if state.dead_links.locked_until(&[hash.as_str()], now).is_some() {
        return Err(Error::InvalidToken);
    }
    let dead = |state: &AppState| {
        state.dead_links.remember(hash.as_str(), now + RESET_LIFETIME, now);
        Error::InvalidToken
    };
    // A read first: a flood of dead or spent links writes nothing at all.
    if state.store.live_link(hash.as_str(), LinkPurpose::Reset, now).await?.is_none() {
        return Err(dead(state));
    }
    let key = format!("reset-ip:{}", client_ip::limit_key(ctx.ip));
    rate_limit::reserve_one(state, &key, rate_limit::RESET).await?.failed();
    let Some(link) = state.store.claim_reset_try(hash.as_str(), now).await? else { return Err(dead(state)) };
    let user = state.store.user_by_id(&link.user_id).await?.filter(|u| u.disabled_at.is_none());
    Ok((token, user.ok_or(Error::InvalidToken)?))
}

/// `POST /auth/password/reset/webauthn`: the security-key or passkey request of a reset,
/// for an account whose factor is a key. Counts a try of the link like the reset itself.
pub async fn start_reset_webauthn(
    state: &AppState,
    ctx: &ClientContext,
    token: &str,
) -> Result<(String, webauthn_rs::prelude::RequestChallengeResponse)> {
    let (_, user) = claim_reset_try(state, ctx, token).await?;
    if !second_factors_asked(state, &user).await?.contains(&"webauthn") {
        return Err(Error::InvalidRequest("this account has no security key or passkey to confirm with".into()));
    }
    let id = crate::store::new_ceremony_id();
    let options = super::second_factor::security_keys::start_authentication(state, &user.id, &id).await?;
    let options = options.ok_or_else(|| Error::InvalidRequest("security keys are not available here".into()))?;
    Ok((id, options))
}

/// `POST /auth/password/reset`: never around the second factor. Checked in this order:
/// the link (one of its 5 tries counted first), the second factor's presence, the
/// password policy, the factor; then the link is used (exactly once) with the password
/// set and what a reset voids voided. An address that was never verified is a reclaim:
/// no factor is asked, and whatever was set up before goes.
pub async fn reset(state: &AppState, ctx: &ClientContext, input: ResetInput) -> Result<()> {
    let (token, user) = claim_reset_try(state, ctx, &input.token).await?;
    let methods = second_factors_asked(state, &user).await?;
    let reclaim = !user.email_verified;
    let method = match input.method.as_deref() {
        Some(m) if methods.contains(&m) => Some(m),
        _ if methods.is_empty() => None,
        _ => return Err(Error::MfaRequired { methods }),
    };
    let hash = account::checked_new_password(state, &user, &input.new_password).await?;
    if let Some(method) = method {
        // Wrong codes count with those of sign-in and re-authentication.
        let key = codes::code_limit_key(&user.id);
        let attempt = rate_limit::reserve_one(state, &key, rate_limit::ACCOUNT).await?;
        let code = input.code.as_deref().unwrap_or_default();
        let accepted = match method {
            "totp" => codes::accept_totp(state, &user.id, code).await?,
            "backup_code" => {
                BackupCode::parse(code).is_some() && codes::accept_backup_code(state, ctx, &user.id, code).await?
            }
            _ => match input.challenge_id.as_deref() {
                Some(id) => {
                    super::second_factor::security_keys::accept_assertion(
                        state,
                        ctx,
                        &user.id,
                        id,
                        input.credential.as_ref(),
                    )
                    .await?
                }
                None => false,
            },
        };
        if !accepted {
            codes::wrong_code(state, ctx, &user.id, attempt).await?;
            return Err(Error::InvalidCode);
        }
        attempt.succeeded(state).await?;
    }
    let now = state.clock.now();
    let done = state.store.reset_password(token.hash().as_str(), &hash, reclaim, now).await?;
    match done.ok_or(Error::InvalidToken)? {
        ResetDone::Reset { user_id } => {
            let what =
                if user.password_hash.is_some() { "password reset by email" } else { "first password set by email" };
            events::record(state, &user_id, EventKind::PasswordReset, Some(ctx), Some(what.into())).await
        }
        ResetDone::Reclaimed { user_id } => {
            let detail = "a reset link proved the mailbox of an address never verified: the password, sessions, API tokens, trusted devices, second factors, provider links and pending links set before, and the workspace members it brought in, were removed";
            events::record(state, &user_id, EventKind::AccountReclaimed, Some(ctx), Some(detail.into())).await?;
            events::record(state, &user_id, EventKind::PasswordReset, Some(ctx), Some("password set by email".into()))
                .await
        }
    }
}

/// `POST /auth/lock`: the "this wasn't me" link. What a lock voids goes (every session,
/// trusted device, API token, pending link and device sign-in, the factors, provider
/// links and workspace members brought in of the last 7 days, the password), the old address comes back when the link was
/// sent to it after a change, and a reset link is sent there, in one transaction.
pub async fn lock(state: &AppState, ctx: &ClientContext, token: &str) -> Result<()> {
    let token = parse_link(token, TokenKind::AccountLock)?;
    let now = state.clock.now();
    let link =
        state.store.live_link(token.hash().as_str(), LinkPurpose::Lock, now).await?.ok_or(Error::InvalidToken)?;
    let user = state.store.user_by_id(&link.user_id).await?.ok_or(Error::InvalidToken)?;
    let mut restore = None;
    if link.restores_email && link.email != user.email {
        let old = Email::parse(&link.email).map_err(|e| Error::internal(anyhow::anyhow!("a stored address: {e}")))?;
        if state.store.user_by_email(&old).await?.is_none() {
            restore = Some(link.email.as_str());
        }
    }
    let to = restore.unwrap_or(&user.email);
    let reset = SecretToken::mint(TokenKind::PasswordReset)?;
    let letter = mail::password_reset(to, &self::link(state, "reset-password", &reset), true);
    let reset_hash = reset.hash();
    let new = NewLink {
        token_hash: reset_hash.as_str(),
        user_id: &user.id,
        purpose: LinkPurpose::Reset,
        email: to,
        now,
        expires_at: now + RESET_LIFETIME,
        restores_email: false,
    };
    state.store.lock_with_link(token.hash().as_str(), restore, new, &letter).await?.ok_or(Error::InvalidToken)?;
    state.mail_wake.notify_one();
    let mut detail = "every session, trusted device, API token, pending link and device sign-in revoked, and the factors, providers and workspace members added in the last 7 days removed, from an alert's link".to_owned();
    if let Some(old) = restore {
        detail.push_str(&format!("; the address is {old} again"));
    }
    events::record(state, &user.id, EventKind::AccountLocked, Some(ctx), Some(detail)).await
}
