//! Sign-up, sign-in, re-authentication and sign-out.

use crate::domain::account::Account;
use crate::domain::backup_codes::BackupCode;
use crate::domain::client_ip;
use crate::domain::device::{Device, DeviceKind};
use crate::domain::email::Email;
use crate::domain::password::{self, Password};
use crate::domain::proof;
use crate::domain::security_event::EventKind;
use crate::domain::sign_in::{FailureReason, SignInMethod};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{StoreError, Welcome};

use super::second_factor::challenge::{self, FirstFactor};
use super::second_factor::codes;
use super::sign_in::{LoginOutcome, record_attempt};
use super::{Caller, ClientContext, events, rate_limit};

pub struct LoginInput {
    pub email: String,
    pub password: Password,
    pub remember_device: bool,
    pub trusted_device_token: Option<String>,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<String>,
}

pub async fn signup(state: &AppState, ctx: &ClientContext, email: &str, password: Password) -> Result<Account> {
    if !state.config.settings.signup_open {
        return Err(Error::SignupClosed);
    }
    let key = format!("signup-ip:{}", client_ip::limit_key(ctx.ip));
    // Every sign-up counts, right or wrong: nothing is given back.
    rate_limit::reserve_one(state, &key, rate_limit::SIGNUP).await?.failed();
    let email = Email::parse(email).map_err(Error::InvalidRequest)?;
    let hash = checked_hash(state, &email, &password).await?;
    let (token, letter) = super::email::verification(state, email.as_str())?;
    let token_hash = token.hash();
    let welcome = Welcome {
        token_hash: token_hash.as_str(),
        letter: &letter,
        expires_at: state.clock.now() + super::email::VERIFY_LIFETIME,
    };
    let created = state.store.create_user_with_welcome(&email, Some(&hash), state.clock.now(), welcome).await;
    let account = match created {
        Err(StoreError::Conflict) => return Err(Error::EmailTaken),
        other => other?,
    };
    state.mail_wake.notify_one();
    Ok(account)
}

async fn checked_hash(state: &AppState, email: &Email, password: &Password) -> Result<String> {
    let mut violations = password::check(password, email, state.config.settings.password_rules);
    violations.extend(super::breached::violation(state, password));
    if !violations.is_empty() {
        return Err(Error::PasswordPolicy(violations));
    }
    state.hasher.hash(password).await
}

/// Creates an account; without a password it can sign in only through OAuth until it sets one.
pub async fn create_account(state: &AppState, email: &Email, password: Option<Password>) -> Result<Account> {
    let hash = match &password {
        Some(p) => Some(checked_hash(state, email, p).await?),
        None => None,
    };
    match state.store.create_user(email, hash.as_deref(), state.clock.now()).await {
        Err(StoreError::Conflict) => Err(Error::EmailTaken),
        other => Ok(other?),
    }
}

/// Password sign-in. Unknown emails, malformed emails and wrong passwords all cost one
/// Argon2 verification and end in the same `invalid_credentials`.
pub async fn login(state: &AppState, ctx: &ClientContext, input: LoginInput) -> Result<LoginOutcome> {
    let user = match Email::parse(&input.email) {
        Ok(email) => state.store.user_by_email(&email).await?,
        Err(_) => None,
    };
    let device = Device::identify(input.device_kind, input.device_name.as_deref(), ctx.user_agent.as_deref());
    // Keyed by the email as typed, known or not, so a lock says nothing about existence.
    let account_key = format!("login:{}", input.email.trim().to_lowercase());
    let client_key = format!("login-ip:{}", client_ip::limit_key(ctx.ip));
    let keys = [(client_key.as_str(), rate_limit::CLIENT), (account_key.as_str(), rate_limit::ACCOUNT)];
    let attempt = match rate_limit::reserve(state, &keys).await {
        Ok(attempt) => attempt,
        Err(limited) => {
            // The same work for an unknown email as for an account (one count keyed by the
            // email as typed), so that the 429 takes the same time; only an account gets
            // the history row, one a window.
            let key = format!("history-refused:{}", input.email.trim().to_lowercase());
            match rate_limit::reserve_one(state, &key, rate_limit::REFUSAL_RECORDS).await {
                Ok(first) => {
                    first.failed();
                    if let Some(u) = &user {
                        let refused = Some(FailureReason::RateLimited);
                        record_attempt(state, ctx, &u.id, &device, &SignInMethod::Password, false, refused).await?;
                    }
                }
                Err(Error::RateLimited { .. }) => {}
                Err(e) => return Err(e),
            }
            state.metrics.login(false);
            return Err(limited);
        }
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let verified = state.hasher.verify(&input.password, hash).await?;
    // A disabled account answers as a wrong password would (and counts as one), so the
    // answer says nothing; its history says which it was.
    let failure = match &user {
        _ if !verified => Some(FailureReason::InvalidPassword),
        Some(u) if u.disabled_at.is_some() => Some(FailureReason::Disabled),
        _ => None,
    };

    if let Some(failure) = failure {
        state.metrics.login(false);
        let locked = attempt.locked(&account_key);
        attempt.failed();
        if let Some(u) = &user {
            record_attempt(state, ctx, &u.id, &device, &SignInMethod::Password, false, Some(failure)).await?;
            if locked {
                events::record(state, &u.id, EventKind::LockedOut, Some(ctx), Some("repeated wrong passwords".into()))
                    .await?;
            }
        }
        return Err(Error::InvalidCredentials);
    }
    let Some(user) = user else {
        return Err(Error::InvalidCredentials);
    };
    state.metrics.login(true);
    attempt.succeeded(state).await?;

    let first = FirstFactor {
        method: SignInMethod::Password,
        remember_device: input.remember_device,
        device_kind: input.device_kind,
        device_name: input.device_name.as_deref(),
        trusted_device_token: input.trusted_device_token.as_deref(),
        password_hash: user.password_hash.as_deref(),
    };
    challenge::after_first_factor(state, ctx, &user.id, &device, first).await
}

/// What a re-authentication proves: the password, a fresh authenticator or backup code,
/// or a passkey's answer to a re-auth ceremony (`passkeys::start_reauth`).
pub enum Proof {
    Password(Password),
    Code(String),
    Passkey { challenge_id: String, credential: Box<webauthn_rs::prelude::PublicKeyCredential> },
}

/// Refreshes the session's re-auth window (`POST /auth/reauth`). An account with a second
/// factor proves that factor: a stolen session plus a phished password must not be
/// enough to replace the factor or the email (ASVS 7.5.1).
pub async fn reauth(state: &AppState, ctx: &ClientContext, caller: &Caller, proof: Proof) -> Result<()> {
    let factors = &caller.account.factors;
    if matches!(proof, Proof::Password(_)) && factors.enabled() {
        return Err(Error::MfaRequired { methods: factors.second_step_methods() });
    }
    // Wrong codes count with those of sign-in and reset (one progressive lock per account),
    // so a stolen session cannot add guesses past the sign-in's; passwords count apart.
    let by_code = matches!(proof, Proof::Code(_));
    let key = match &proof {
        Proof::Code(_) => codes::code_limit_key(&caller.user_id),
        Proof::Password(_) | Proof::Passkey { .. } => format!("reauth:{}", caller.user_id),
    };
    let attempt = rate_limit::reserve_one(state, &key, rate_limit::ACCOUNT).await?;
    let proven: &[proof::Method] = match &proof {
        Proof::Password(_) => &[proof::Method::Pwd],
        Proof::Code(_) => &[proof::Method::Otp],
        Proof::Passkey { .. } => &[proof::Method::Hwk, proof::Method::User],
    };
    let refused = match proof {
        Proof::Password(p) => {
            let user = super::account::me(state, caller).await?;
            (!state.hasher.verify(&p, user.password_hash.as_deref()).await?).then_some(Error::InvalidPassword)
        }
        Proof::Code(code) => {
            // A backup code only beside a factor, as at sign-in; it is used up.
            let accepted = if BackupCode::parse(&code).is_some() {
                factors.enabled() && codes::accept_backup_code(state, ctx, &caller.user_id, &code).await?
            } else {
                codes::accept_totp(state, &caller.user_id, &code).await?
            };
            (!accepted).then_some(Error::InvalidCode)
        }
        Proof::Passkey { challenge_id, credential } => {
            let accepted =
                super::passkeys::accept_reauth(state, None, &caller.user_id, &challenge_id, &credential).await?;
            (!accepted).then_some(Error::InvalidCode)
        }
    };
    match refused {
        Some(Error::InvalidCode) if by_code => {
            codes::wrong_code(state, ctx, &caller.user_id, attempt).await?;
            return Err(Error::InvalidCode);
        }
        Some(e) => {
            attempt.failed();
            return Err(e);
        }
        None => {}
    }
    let session = caller.require_session()?;
    attempt.succeeded(state).await?;
    // The same session, proven again: its methods grow and its proof time moves.
    let amr = session.amr.clone().with(proven);
    state.store.mark_session_authenticated(&session.id, state.clock.now(), &amr).await?;
    Ok(())
}

pub async fn logout(state: &AppState, caller: &Caller) -> Result<()> {
    state.store.delete_session(&caller.user_id, &caller.require_session()?.id).await?;
    Ok(())
}
