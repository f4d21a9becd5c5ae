//! How every sign-in ends (`finish`): a session with its proof, a row of login history and
//! the new-sign-in alert, in one transaction. Password, second step, provider, passkey and
//! device sign-ins all finish through here; failures are recorded by `record_attempt`.

use crate::domain::client_ip;
use crate::domain::device::Device;
use crate::domain::mail;
use crate::domain::proof::Amr;
use crate::domain::sign_in::SignInAttempt;
use crate::domain::sign_in::{FailureReason, SignInMethod};
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{HistoryRow, NewDeviceAlert, NewSession, StoreError};

use super::events::alerts;
use super::{ClientContext, rate_limit};

pub enum LoginOutcome {
    SignedIn {
        token: SecretToken,
        session_id: String,
        trusted_device_token: Option<SecretToken>,
        /// The operator requires a second factor that this account has yet to enrol: the
        /// browser goes to the Security page's two-factor section first.
        enrolment_due: bool,
    },
    /// The first factor was right; `mfa_token` carries it to `POST /auth/mfa`.
    MfaRequired {
        mfa_token: SecretToken,
        methods: Vec<&'static str>,
        /// PublicKeyCredentialRequestOptions when the account has security keys.
        webauthn: Option<webauthn_rs::prelude::RequestChallengeResponse>,
    },
}

/// Where a new session comes from: the trusted device it used, and the password hash
/// the sign-in was checked against (the session is refused if that changed meanwhile).
#[derive(Default, Clone, Copy)]
pub struct SessionOrigin<'a> {
    pub trusted_device_id: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    /// An earlier trusted-device token vouched for this device (a device remembered just
    /// now is still new: it gets the new-sign-in alert).
    pub recognised: bool,
    /// When the proof happened, if earlier than now (a device sign-in's approval).
    pub auth_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The approved device grant this session collects (see `NewSession`).
    pub device_grant_id: Option<&'a str>,
}

/// A sign-in that passed every check it needed, on its way to a session.
pub struct Ending<'a> {
    pub user_id: &'a str,
    pub device: &'a Device,
    /// How the sign-in began, for login history (`password`, `oauth:<id>`, ...).
    pub method: &'a SignInMethod,
    /// A second factor was asked for (or, for a device sign-in, the approver had passed one).
    pub mfa_challenged: bool,
    /// What the session proved.
    pub amr: Amr,
    pub origin: SessionOrigin<'a>,
}

/// How every sign-in ends, whatever the way in: in ONE transaction, the session (with
/// its proof), the sign-in's row of login history and, for a device not seen before,
/// the new-sign-in alert.
pub async fn finish(state: &AppState, ctx: &ClientContext, ending: Ending<'_>) -> Result<(SecretToken, String)> {
    let token = SecretToken::mint(TokenKind::Session)?;
    let now = state.clock.now();
    let attempt = attempt_row(state, ctx, ending.user_id, ending.device, ending.method, ending.mfa_challenged, None);
    let network = client_ip::network_key(ctx.ip);
    let lock = SecretToken::mint(TokenKind::AccountLock)?;
    let lock_hash = lock.hash();
    let lock_url = alerts::link(state, "lock", &lock);
    let circumstances = alerts::circumstances(state, Some(ctx));
    let compose = |email: &str| {
        let what = "Your account was signed in to from a device it had not been used from before.";
        mail::alert(email, "New sign-in to your account", what, &circumstances, &lock_url)
    };
    let created = state
        .store
        .create_session(NewSession {
            user_id: ending.user_id,
            token_hash: &token.hash(),
            device: ending.device,
            ip: &ctx.ip.to_string(),
            location: &ctx.location,
            user_agent: ctx.user_agent.as_deref(),
            now,
            expires_at: state.config.settings.session.expires_at(now),
            trusted_device_id: ending.origin.trusted_device_id,
            password_hash: ending.origin.password_hash,
            auth_at: ending.origin.auth_at,
            device_grant_id: ending.origin.device_grant_id,
            amr: &ending.amr,
            history: Some(HistoryRow { attempt: &attempt, device_label: &ending.device.name, network: &network }),
            alert: Some(NewDeviceAlert {
                recognised: ending.origin.recognised,
                lock_hash: lock_hash.as_str(),
                lock_expires_at: now + alerts::LOCK_LIFETIME,
                compose: &compose,
            }),
        })
        .await;
    match created {
        Ok(started) => {
            if started.alerted {
                state.mail_wake.notify_one();
            }
            Ok((token, started.id))
        }
        Err(StoreError::Conflict) => Err(Error::InvalidCredentials),
        Err(e) => Err(e.into()),
    }
}

fn attempt_row(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    method: &SignInMethod,
    mfa_challenged: bool,
    failure: Option<FailureReason>,
) -> SignInAttempt {
    SignInAttempt {
        user_id: user_id.to_owned(),
        at: state.clock.now(),
        success: failure.is_none(),
        ip: ctx.ip.to_string(),
        user_agent: ctx.user_agent.clone(),
        device_kind: device.kind,
        location: ctx.location.clone(),
        mfa_challenged,
        method: method.to_string(),
        failure: failure.map(|f| f.as_str().to_owned()),
    }
}

/// A failed attempt's row of login history (a success's is written by `finish`).
pub async fn record_attempt(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    method: &SignInMethod,
    mfa_challenged: bool,
    failure: Option<FailureReason>,
) -> Result<()> {
    let row = attempt_row(state, ctx, user_id, device, method, mfa_challenged, failure);
    state.store.record_login(&row, &device.name, &client_ip::network_key(ctx.ip)).await?;
    Ok(())
}

/// A `rate_limited` row of login history, at most one per account and window: the
/// first refusal is worth knowing about, the thousandth of a flood is not.
pub async fn record_refusal(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    method: &SignInMethod,
    mfa_challenged: bool,
) -> Result<()> {
    let key = format!("history-refused:{user_id}");
    match rate_limit::reserve_one(state, &key, rate_limit::REFUSAL_RECORDS).await {
        Ok(counted) => {
            counted.failed();
            record_attempt(state, ctx, user_id, device, method, mfa_challenged, Some(FailureReason::RateLimited)).await
        }
        Err(Error::RateLimited { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
