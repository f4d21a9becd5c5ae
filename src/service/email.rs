//! What reaches a person outside the page: links that confirm an address, reset a
//! password or lock the account, and alerts about changes to the account. Every message
//! is queued in the same transaction as the change that causes it (the outbox); the mail
//! worker delivers it.
//!
//! Nothing here tells a caller whether an address has an account: a reset request is
//! answered 202 before the account is even looked up, and the lookup runs after.

use chrono::Duration;

use crate::domain::backup_codes::BackupCode;
use crate::domain::client_ip;
use crate::domain::email::Email;
use crate::domain::mail::{self, Letter};
use crate::domain::password::Password;
use crate::domain::security_event::EventKind;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Issued, LinkPurpose, NewLink, StoreError};

use super::alerts::{LockLink, link};
use super::{Caller, ClientContext, account, events, mfa, rate_limit};

pub(super) const VERIFY_LIFETIME: Duration = Duration::hours(24);
const RESET_LIFETIME: Duration = Duration::minutes(30);
/// Links of one purpose per account and hour (reset links: the issue's five).
const LINKS_PER_HOUR: i64 = 5;

fn parse_link(token: &str, kind: TokenKind) -> Result<SecretToken> {
    SecretToken::parse(token).filter(|t| t.is(kind)).ok_or(Error::InvalidToken)
}

/// Issues a link of `purpose` to `to` with the letter `compose` writes around it; `false`
/// when the account had its hour's worth already.
async fn issue(
    state: &AppState,
    user_id: &str,
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
    let new = NewLink { token_hash: hash.as_str(), user_id, purpose, email: to, now, expires_at: now + lifetime };
    let issued = state.store.issue_link(new, &letter, LINKS_PER_HOUR, now - Duration::hours(1)).await?;
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
        issue(state, &user.id, LinkPurpose::Verify, &user.email, |l| mail::verify_email(&user.email, l)).await?;
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
    let sent =
        issue(state, &user.id, LinkPurpose::Verify, new.as_str(), |l| mail::verify_email(new.as_str(), l)).await?;
    if !sent {
        return Err(Error::RateLimited { retry_after: 3600 });
    }
    let lock = LockLink::mint(state, &user.id, &user.email)?;
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
        events::record(state, &confirmed.user_id, EventKind::EmailChanged, Some(ctx), detail).await?;
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
    issue(state, &user.id, LinkPurpose::Reset, &user.email, |l| mail::password_reset(&user.email, l, has_password))
        .await?;
    Ok(())
}

/// For the reset page: `Some(needs a second factor)` while the link works.
pub async fn reset_link(state: &AppState, token: &str) -> Result<Option<bool>> {
    let Ok(token) = parse_link(token, TokenKind::PasswordReset) else { return Ok(None) };
    let link = state.store.live_link(token.hash().as_str(), LinkPurpose::Reset, state.clock.now()).await?;
    match link {
        Some(link) => Ok(Some(state.store.factors(&link.user_id).await?.enabled())),
        None => Ok(None),
    }
}

pub struct ResetInput {
    pub token: String,
    pub new_password: Password,
    /// `totp` or `backup_code`, with `code`, when the account has 2FA.
    pub method: Option<String>,
    pub code: Option<String>,
}

/// `POST /auth/password/reset`: never around the second factor. Checked in this order:
/// the link, the second factor's presence, the password policy, the code; then the link
/// is used (exactly once) with the password set and everything signed out.
pub async fn reset(state: &AppState, ctx: &ClientContext, input: ResetInput) -> Result<()> {
    let token = parse_link(&input.token, TokenKind::PasswordReset)?;
    let now = state.clock.now();
    let link =
        state.store.live_link(token.hash().as_str(), LinkPurpose::Reset, now).await?.ok_or(Error::InvalidToken)?;
    let user = state.store.user_by_id(&link.user_id).await?.filter(|u| u.disabled_at.is_none());
    let user = user.ok_or(Error::InvalidToken)?;
    let factors = state.store.factors(&user.id).await?;
    let mut methods = Vec::new();
    if factors.totp_created_at.is_some() {
        methods.push("totp");
    }
    if factors.backup_codes_remaining > 0 {
        methods.push("backup_code");
    }
    let second = if factors.enabled() {
        match (input.method.as_deref(), input.code.as_deref()) {
            (Some(m @ ("totp" | "backup_code")), Some(code)) if methods.contains(&m) => Some((m, code)),
            _ => return Err(Error::MfaRequired { methods }),
        }
    } else {
        None
    };
    let hash = account::checked_new_password(state, &user, &input.new_password).await?;
    if let Some((method, code)) = second {
        let key = format!("mfa:{}", user.id);
        let attempt = rate_limit::reserve_one(state, &key, rate_limit::ACCOUNT).await?;
        let accepted = match method {
            "totp" => mfa::accept_totp(state, &user.id, code).await?,
            _ => BackupCode::parse(code).is_some() && mfa::accept_backup_code(state, ctx, &user.id, code).await?,
        };
        if !accepted {
            attempt.failed();
            return Err(Error::InvalidCode);
        }
        attempt.succeeded(state).await?;
    }
    state.store.reset_password(token.hash().as_str(), &hash, state.clock.now()).await?.ok_or(Error::InvalidToken)?;
    let what = if user.password_hash.is_some() { "password reset by email" } else { "first password set by email" };
    events::record(state, &user.id, EventKind::PasswordReset, Some(ctx), Some(what.into())).await
}

/// `POST /auth/lock`: the "this wasn't me" link. Every session, trusted device and API
/// token goes, the password stops working, and a reset link is sent, in one transaction.
pub async fn lock(state: &AppState, ctx: &ClientContext, token: &str) -> Result<()> {
    let token = parse_link(token, TokenKind::AccountLock)?;
    let now = state.clock.now();
    let link =
        state.store.live_link(token.hash().as_str(), LinkPurpose::Lock, now).await?.ok_or(Error::InvalidToken)?;
    let user = state.store.user_by_id(&link.user_id).await?.ok_or(Error::InvalidToken)?;
    let reset = SecretToken::mint(TokenKind::PasswordReset)?;
    let letter = mail::password_reset(&user.email, &self::link(state, "reset-password", &reset), true);
    let reset_hash = reset.hash();
    let new = NewLink {
        token_hash: reset_hash.as_str(),
        user_id: &user.id,
        purpose: LinkPurpose::Reset,
        email: &user.email,
        now,
        expires_at: now + RESET_LIFETIME,
    };
    state.store.lock_with_link(token.hash().as_str(), new, &letter).await?.ok_or(Error::InvalidToken)?;
    state.mail_wake.notify_one();
    let detail = Some("every session, trusted device and API token revoked from an alert's link".into());
    events::record(state, &user.id, EventKind::AccountLocked, Some(ctx), detail).await
}
