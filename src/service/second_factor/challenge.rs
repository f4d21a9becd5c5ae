//! The second sign-in step: what follows a passed first factor (a password or a
//! provider), and from a right second factor to a session.

use chrono::Duration;

use crate::domain::device::{Device, DeviceKind};
use crate::domain::factors::Factors;
use crate::domain::proof::{self, Amr};
use crate::domain::sign_in::{FailureReason, SignInMethod};
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::NewMfaChallenge;

use super::super::sign_in::{Ending, LoginOutcome, SessionOrigin, finish, record_attempt, record_refusal};
use super::super::{ClientContext, rate_limit, trusted_devices};
use super::codes::{accept_backup_code, accept_totp, code_limit_key, wrong_code};

/// An mfa_token lives this long...
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);
/// ...or until this many wrong codes.
pub const MAX_FAILURES: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    BackupCode,
    Webauthn,
}

pub struct MfaInput {
    pub mfa_token: String,
    pub method: Method,
    pub code: Option<String>,
    /// The security key's assertion (PublicKeyCredential JSON) for `Method::Webauthn`.
    pub credential: Option<serde_json::Value>,
    pub remember_device: bool,
}

/// How the first step of a sign-in went, for what comes after it.
pub struct FirstFactor<'a> {
    pub method: SignInMethod,
    pub remember_device: bool,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<&'a str>,
    pub trusted_device_token: Option<&'a str>,
    /// The hash a password sign-in was checked against; `None` for other sign-ins.
    pub password_hash: Option<&'a str>,
}

/// The first factor passed: on to the second step when the account has one and the
/// device is not trusted, else a session.
pub async fn after_first_factor(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    first: FirstFactor<'_>,
) -> Result<LoginOutcome> {
    let factors = state.store.factors(user_id).await?;
    let trusted = trusted_devices::recognise(state, user_id, first.trusted_device_token).await?;
    if factors.enabled() && trusted.is_none() {
        return begin(state, user_id, &factors, &first).await;
    }
    let origin = SessionOrigin {
        trusted_device_id: trusted.as_deref(),
        password_hash: first.password_hash,
        recognised: trusted.is_some(),
        ..SessionOrigin::default()
    };
    // A trusted device skips the second step: the session proved the first factor only.
    let amr = Amr::of(first.method.proves());
    let ending = Ending { user_id, device, method: &first.method, mfa_challenged: false, amr, origin };
    let (token, session_id) = finish(state, ctx, ending).await?;
    let enrolment_due = state.config.settings.required_enrolment.holds(factors.enabled(), state.clock.now());
    Ok(LoginOutcome::SignedIn { token, session_id, trusted_device_token: None, enrolment_due })
}

/// An `mfa_token` for the second step, and the factors it may use.
async fn begin(state: &AppState, user_id: &str, factors: &Factors, first: &FirstFactor<'_>) -> Result<LoginOutcome> {
    let token = SecretToken::mint(TokenKind::Mfa)?;
    let now = state.clock.now();
    let method = first.method.to_string();
    let challenge_id = state
        .store
        .create_mfa_challenge(NewMfaChallenge {
            token_hash: &token.hash(),
            user_id,
            now,
            expires_at: now + CHALLENGE_LIFETIME,
            remember_device: first.remember_device,
            device_kind: first.device_kind,
            device_name: first.device_name,
            method: &method,
        })
        .await?;
    let methods = factors.second_step_methods();
    let webauthn = if factors.webauthn_keys > 0 {
        super::security_keys::start_authentication(state, user_id, &challenge_id).await?
    } else {
        None
    };
    Ok(LoginOutcome::MfaRequired { mfa_token: token, methods, webauthn })
}

pub async fn complete(state: &AppState, ctx: &ClientContext, input: MfaInput) -> Result<LoginOutcome> {
    let token = SecretToken::parse(&input.mfa_token).ok_or(Error::MfaTokenExpired)?;
    let challenge = state.store.mfa_challenge(&token.hash()).await?.ok_or(Error::MfaTokenExpired)?;
    let now = state.clock.now();
    if challenge.consumed || challenge.failures >= MAX_FAILURES || now >= challenge.expires_at {
        return Err(Error::MfaTokenExpired);
    }
    let device = Device::identify(challenge.device_kind, challenge.device_name.as_deref(), ctx.user_agent.as_deref());
    let method = SignInMethod::parse(&challenge.method).ok_or_else(|| {
        Error::internal(anyhow::anyhow!("unknown sign-in method {:?} in a challenge", challenge.method))
    })?;
    // The code is counted against the challenge, and then the account, before it is
    // checked, so a burst of guesses on one mfa_token gets MAX_FAILURES answers at most.
    if !state.store.reserve_mfa_attempt(&challenge.id, MAX_FAILURES, now).await? {
        return Err(Error::MfaTokenExpired);
    }
    let limit_key = code_limit_key(&challenge.user_id);
    let attempt = match rate_limit::reserve_one(state, &limit_key, rate_limit::ACCOUNT).await {
        Ok(attempt) => attempt,
        Err(limited) => {
            state.store.give_back_mfa_attempt(&challenge.id).await?;
            record_refusal(state, ctx, &challenge.user_id, &device, &method, true).await?;
            return Err(limited);
        }
    };
    let code = input.code.as_deref().unwrap_or_default();
    let accepted = match input.method {
        Method::Totp => accept_totp(state, &challenge.user_id, code).await?,
        Method::BackupCode => accept_backup_code(state, ctx, &challenge.user_id, code).await?,
        Method::Webauthn => {
            super::security_keys::accept_assertion(
                state,
                ctx,
                &challenge.user_id,
                &challenge.id,
                input.credential.as_ref(),
            )
            .await?
        }
    };
    if !accepted {
        wrong_code(state, ctx, &challenge.user_id, attempt).await?;
        let failure = Some(FailureReason::InvalidCode);
        record_attempt(state, ctx, &challenge.user_id, &device, &method, true, failure).await?;
        return Err(Error::InvalidCode);
    }
    if !state.store.consume_mfa_challenge(&challenge.id, now).await? {
        return Err(Error::MfaTokenExpired);
    }
    attempt.succeeded(state).await?;
    let remembered = if challenge.remember_device || input.remember_device {
        Some(trusted_devices::remember(state, ctx, &challenge.user_id, &device).await?)
    } else {
        None
    };
    let trusted_id = remembered.as_ref().map(|(_, id)| id.as_str());
    // A password change deletes pending challenges, so no hash guard is needed here.
    let origin = SessionOrigin { trusted_device_id: trusted_id, ..SessionOrigin::default() };
    let second = match input.method {
        Method::Totp | Method::BackupCode => proof::Method::Otp,
        Method::Webauthn => proof::Method::Hwk,
    };
    let amr = Amr::of(method.proves()).with(&[second]);
    let ending =
        Ending { user_id: &challenge.user_id, device: &device, method: &method, mfa_challenged: true, amr, origin };
    let (token, session_id) = finish(state, ctx, ending).await?;
    let trusted_device_token = remembered.map(|(t, _)| t);
    Ok(LoginOutcome::SignedIn { token, session_id, trusted_device_token, enrolment_due: false })
}
