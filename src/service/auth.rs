//! Sign-up, sign-in, re-authentication and sign-out.

use crate::domain::client_ip;
use crate::domain::device::{Device, DeviceKind};
use crate::domain::email::Email;
use crate::domain::password::{self, Password};
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{LoginEvent, NewSession, StoreError, UserRecord};

use super::{Caller, ClientContext, events, mfa, rate_limit, trusted_devices};

const PASSWORD: &str = "password";

pub struct LoginInput {
    pub email: String,
    pub password: Password,
    pub remember_device: bool,
    pub trusted_device_token: Option<String>,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<String>,
}

pub enum LoginOutcome {
    SignedIn {
        token: SecretToken,
        session_id: String,
        trusted_device_token: Option<SecretToken>,
    },
    /// The password was right; `mfa_token` carries it to `POST /auth/mfa`.
    MfaRequired {
        mfa_token: SecretToken,
        methods: Vec<&'static str>,
        /// PublicKeyCredentialRequestOptions when the account has security keys.
        webauthn: Option<webauthn_rs::prelude::RequestChallengeResponse>,
    },
}

/// 256 bits from the operating system's CSPRNG.
pub fn mint(kind: TokenKind) -> Result<SecretToken> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(anyhow::anyhow!("OS random source failed: {e}")))?;
    Ok(SecretToken::generate(kind, bytes))
}

pub async fn signup(state: &AppState, ctx: &ClientContext, email: &str, password: Password) -> Result<UserRecord> {
    if !state.config.settings.signup_open {
        return Err(Error::SignupClosed);
    }
    let key = format!("signup-ip:{}", client_ip::limit_key(ctx.ip));
    // Every sign-up counts, right or wrong: nothing is given back.
    rate_limit::reserve_one(state, &key, rate_limit::SIGNUP).await?.failed();
    let email = Email::parse(email).map_err(Error::InvalidRequest)?;
    create_account(state, &email, Some(password)).await
}

/// Creates an account; without a password it can sign in only through OAuth until it sets one.
pub async fn create_account(state: &AppState, email: &Email, password: Option<Password>) -> Result<UserRecord> {
    let hash = match &password {
        Some(p) => {
            let violations = password::check(p, email);
            if !violations.is_empty() {
                return Err(Error::PasswordPolicy(violations));
            }
            Some(state.hasher.hash(p).await?)
        }
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
            if let Some(u) = &user {
                record_refusal(state, ctx, &u.id, &device, PASSWORD, false).await?;
            }
            state.metrics.login(false);
            return Err(limited);
        }
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let verified = state.hasher.verify(&input.password, hash).await?;

    if !verified {
        state.metrics.login(false);
        let locked = attempt.locked(&account_key);
        attempt.failed();
        if let Some(u) = &user {
            record_attempt(state, ctx, &u.id, &device, PASSWORD, false, Some("invalid_password")).await?;
            if locked {
                events::record(state, &u.id, events::LOCKED_OUT, Some(ctx), Some("repeated wrong passwords".into()))
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
        method: PASSWORD,
        remember_device: input.remember_device,
        device_kind: input.device_kind,
        device_name: input.device_name.as_deref(),
        trusted_device_token: input.trusted_device_token.as_deref(),
        password_hash: user.password_hash.as_deref(),
    };
    second_step_or_session(state, ctx, &user.id, &device, first).await
}

/// How the first step of a sign-in went, for what comes after it.
pub struct FirstFactor<'a> {
    /// `password` or `oauth:<provider>`, for login history.
    pub method: &'a str,
    pub remember_device: bool,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<&'a str>,
    pub trusted_device_token: Option<&'a str>,
    /// The hash a password sign-in was checked against; `None` for other sign-ins.
    pub password_hash: Option<&'a str>,
}

/// The first factor passed: on to the second step when the account has one and the
/// device is not trusted, else a session.
pub async fn second_step_or_session(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    first: FirstFactor<'_>,
) -> Result<LoginOutcome> {
    let factors = state.store.factors(user_id).await?;
    let trusted = trusted_devices::recognise(state, user_id, first.trusted_device_token).await?;
    if factors.enabled() && trusted.is_none() {
        return mfa::begin(
            state,
            mfa::FirstStep {
                user_id,
                factors: &factors,
                remember_device: first.remember_device,
                device_kind: first.device_kind,
                device_name: first.device_name,
                method: first.method,
            },
        )
        .await;
    }
    let origin = SessionOrigin { trusted_device_id: trusted.as_deref(), password_hash: first.password_hash };
    let (token, session_id) = start_session(state, ctx, user_id, device, origin).await?;
    record_attempt(state, ctx, user_id, device, first.method, false, None).await?;
    if first.password_hash.is_none() {
        // A password sign-in wrote last_login_at with its session, under the hash guard.
        state.store.record_sign_in(user_id, state.clock.now()).await?;
    }
    Ok(LoginOutcome::SignedIn { token, session_id, trusted_device_token: None })
}

/// Where a new session comes from: the trusted device it used, and the password hash
/// the sign-in was checked against (the session is refused if that changed meanwhile).
#[derive(Default, Clone, Copy)]
pub struct SessionOrigin<'a> {
    pub trusted_device_id: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

pub async fn start_session(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    origin: SessionOrigin<'_>,
) -> Result<(SecretToken, String)> {
    let token = mint(TokenKind::Session)?;
    let now = state.clock.now();
    let created = state
        .store
        .create_session(NewSession {
            user_id,
            token_hash: &token.hash(),
            device,
            ip: &ctx.ip.to_string(),
            location: &ctx.location,
            user_agent: ctx.user_agent.as_deref(),
            now,
            expires_at: state.config.settings.session.expires_at(now),
            trusted_device_id: origin.trusted_device_id,
            password_hash: origin.password_hash,
        })
        .await;
    match created {
        Ok(id) => Ok((token, id)),
        Err(StoreError::Conflict) => Err(Error::InvalidCredentials),
        Err(e) => Err(e.into()),
    }
}

/// One row of login history; a failure is a row with `failure` set.
pub async fn record_attempt(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    method: &str,
    mfa_challenged: bool,
    failure: Option<&str>,
) -> Result<()> {
    state
        .store
        .record_login(&LoginEvent {
            user_id: user_id.to_owned(),
            at: state.clock.now(),
            success: failure.is_none(),
            ip: ctx.ip.to_string(),
            user_agent: ctx.user_agent.clone(),
            device_kind: device.kind,
            location: ctx.location.clone(),
            mfa_challenged,
            method: method.to_owned(),
            failure: failure.map(str::to_owned),
        })
        .await?;
    Ok(())
}

/// A `rate_limited` row of login history, at most one per account and window: the
/// first refusal is worth knowing about, the thousandth of a flood is not.
pub async fn record_refusal(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    method: &str,
    mfa_challenged: bool,
) -> Result<()> {
    let key = format!("history-refused:{user_id}");
    match rate_limit::reserve_one(state, &key, rate_limit::REFUSAL_RECORDS).await {
        Ok(counted) => {
            counted.failed();
            record_attempt(state, ctx, user_id, device, method, mfa_challenged, Some("rate_limited")).await
        }
        Err(Error::RateLimited { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What a re-authentication proves: the password, or a fresh authenticator code.
pub enum Proof {
    Password(Password),
    Code(String),
}

/// Refreshes the session's re-auth window (`POST /auth/reauth`).
pub async fn reauth(state: &AppState, caller: &Caller, proof: Proof) -> Result<()> {
    let key = format!("reauth:{}", caller.user_id);
    let attempt = rate_limit::reserve_one(state, &key, rate_limit::ACCOUNT).await?;
    let refused = match proof {
        Proof::Password(p) => {
            let user = super::account::me(state, caller).await?;
            (!state.hasher.verify(&p, user.password_hash.as_deref()).await?).then_some(Error::InvalidPassword)
        }
        Proof::Code(code) => (!mfa::accept_totp(state, &caller.user_id, &code).await?).then_some(Error::InvalidCode),
    };
    if let Some(e) = refused {
        attempt.failed();
        return Err(e);
    }
    attempt.succeeded(state).await?;
    state.store.mark_session_authenticated(&caller.session_id, state.clock.now()).await?;
    Ok(())
}

pub async fn logout(state: &AppState, caller: &Caller) -> Result<()> {
    state.store.delete_session(&caller.user_id, &caller.session_id).await?;
    Ok(())
}
