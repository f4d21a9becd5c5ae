//! How every sign-in ends: a session and a row of login history. Password, second step,
//! provider (and later passkey and device) sign-ins all finish through here.

use crate::domain::client_ip;
use crate::domain::device::Device;
use crate::domain::sign_in::SignInAttempt;
use crate::domain::sign_in::{FailureReason, SignInMethod};
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{NewSession, StoreError};

use super::{ClientContext, rate_limit};

pub enum LoginOutcome {
    SignedIn {
        token: SecretToken,
        session_id: String,
        trusted_device_token: Option<SecretToken>,
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

pub async fn start_session(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    device: &Device,
    origin: SessionOrigin<'_>,
) -> Result<(SecretToken, String)> {
    let token = SecretToken::mint(TokenKind::Session)?;
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
            auth_at: origin.auth_at,
            device_grant_id: origin.device_grant_id,
        })
        .await;
    match created {
        Ok(id) => {
            if !origin.recognised {
                super::events::alert_new_sign_in(state, user_id, ctx).await?;
            }
            Ok((token, id))
        }
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
    method: &SignInMethod,
    mfa_challenged: bool,
    failure: Option<FailureReason>,
) -> Result<()> {
    state
        .store
        .record_login(
            &SignInAttempt {
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
            },
            &device.name,
            &client_ip::network_key(ctx.ip),
        )
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
