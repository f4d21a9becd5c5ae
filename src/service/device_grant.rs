//! Device sign-in (OAuth 2.0 device authorization grant, RFC 8628): a CLI or desktop app
//! asks for a code, a signed-in person approves it in the browser with every factor they
//! have, and the app's next poll gets an ordinary session of the account, exactly once.

use crate::domain::client_ip;
use crate::domain::device::{Device, DeviceKind};
use crate::domain::device_grant::{self, GrantStatus, PollAnswer, UserCode};
use crate::domain::security_event::EventKind;
use crate::domain::sign_in::SignInMethod;
use crate::domain::token::{SecretToken, TokenKind, random_bytes};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Approval, DeviceGrant, NewDeviceGrant, StoreError};

use super::sign_in::{Ending, SessionOrigin, finish};
use super::{Caller, ClientContext, events, rate_limit};

const MAX_CLIENT_NAME: usize = 100;

/// What the device shows its person, and polls with.
pub struct Started {
    pub device_code: SecretToken,
    pub user_code: UserCode,
    pub expires_in: i64,
    pub interval: i64,
}

/// `POST /auth/device/code`.
pub async fn start(
    state: &AppState,
    ctx: &ClientContext,
    client_name: &str,
    kind: Option<DeviceKind>,
    name: Option<&str>,
) -> Result<Started> {
    let client_name = client_name.trim();
    if client_name.is_empty()
        || client_name.chars().count() > MAX_CLIENT_NAME
        || client_name.chars().any(char::is_control)
    {
        return Err(Error::InvalidRequest(format!("client_name must be 1 to {MAX_CLIENT_NAME} printable characters")));
    }
    let key = format!("device-start-ip:{}", client_ip::limit_key(ctx.ip));
    rate_limit::reserve_one(state, &key, rate_limit::DEVICE_START).await?.failed();
    let device =
        Device::identify(kind.or(Some(DeviceKind::Desktop)), name.or(Some(client_name)), ctx.user_agent.as_deref());
    let now = state.clock.now();
    // A user code is unique among stored grants; a clash (1 in 2.5e10 per live grant) draws again.
    for _ in 0..5 {
        let device_code = SecretToken::mint(TokenKind::DeviceCode)?;
        let random: [u8; 32] = random_bytes()?;
        let user_code = UserCode::from_random(random)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("no user code from 32 random bytes")))?;
        let created = state
            .store
            .create_device_grant(NewDeviceGrant {
                device_code_hash: &device_code.hash(),
                user_code: &user_code,
                client_name,
                device: &device,
                ip: &ctx.ip.to_string(),
                location: &ctx.location,
                user_agent: ctx.user_agent.as_deref(),
                now,
                expires_at: now + device_grant::LIFETIME,
                interval_secs: device_grant::INTERVAL_SECS,
            })
            .await;
        match created {
            Ok(_) => {
                return Ok(Started {
                    device_code,
                    user_code,
                    expires_in: device_grant::LIFETIME.num_seconds(),
                    interval: device_grant::INTERVAL_SECS,
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::internal(anyhow::anyhow!("user codes kept clashing")))
}

/// `POST /auth/device/token`: the device's poll. The session is created here, by the one
/// poll that moves the approved grant to `issued`, so its token is never stored.
pub async fn poll(state: &AppState, raw_device_code: &str) -> Result<(SecretToken, String)> {
    let code = SecretToken::parse(raw_device_code)
        .filter(|t| t.is(TokenKind::DeviceCode))
        .ok_or(Error::DevicePoll(PollAnswer::InvalidGrant))?;
    let grant = state
        .store
        .device_grant_by_device_code(&code.hash())
        .await?
        .ok_or(Error::DevicePoll(PollAnswer::InvalidGrant))?;
    let now = state.clock.now();
    let answer =
        device_grant::answer_poll(grant.status, grant.expires_at, grant.last_polled_at, grant.interval_secs, now);
    match answer {
        PollAnswer::InvalidGrant | PollAnswer::ExpiredToken => return Err(Error::DevicePoll(answer)),
        // Racing polls: only one takes this interval's slot; the others are too fast.
        _ if answer == PollAnswer::SlowDown || !state.store.claim_device_poll(&grant.id, now).await? => {
            state.store.slow_device_down(&grant.id, device_grant::SLOW_DOWN_STEP, now).await?;
            return Err(Error::DevicePoll(PollAnswer::SlowDown));
        }
        PollAnswer::Issue => {}
        other => return Err(Error::DevicePoll(other)),
    }
    let user_id =
        grant.user_id.as_deref().ok_or_else(|| Error::internal(anyhow::anyhow!("approved grant without account")))?;
    // The session is where the device asked from, not where it was approved.
    let ctx = ClientContext {
        ip: grant.ip.parse().map_err(|e| Error::internal(anyhow::anyhow!("stored grant IP: {e}")))?,
        user_agent: grant.user_agent.clone(),
        location: grant.location.clone(),
    };
    // Never fresher than the session that approved it, and proven as it was: a device
    // sign-in is no re-auth.
    let origin = SessionOrigin {
        auth_at: Some(grant.approved_auth_at.unwrap_or(grant.created_at)),
        device_grant_id: Some(&grant.id),
        ..SessionOrigin::default()
    };
    let ending = Ending {
        user_id,
        device: &grant.device,
        method: &SignInMethod::Device,
        mfa_challenged: grant.mfa_passed,
        amr: grant.approved_amr.clone().unwrap_or_default(),
        origin,
    };
    let (token, session_id) = match finish(state, &ctx, ending).await {
        Ok(s) => s,
        // Collected by a racing poll, or voided (a lock, a reset, a sign-out, a disable)
        // since the approval.
        Err(Error::InvalidCredentials) => {
            let now_status = state.store.device_grant_by_device_code(&code.hash()).await?.map(|g| g.status);
            let answer = if now_status == Some(GrantStatus::Issued) {
                PollAnswer::InvalidGrant
            } else {
                PollAnswer::AccessDenied
            };
            return Err(Error::DevicePoll(answer));
        }
        Err(e) => return Err(e),
    };
    state.metrics.login(true);
    Ok((token, session_id))
}

/// The pending grant a signed-in person typed the code of. Every lookup counts against
/// the session and the address before it is made (5 wrong ones, then 429); a right one
/// is given back.
async fn find_pending(state: &AppState, caller: &Caller, ctx: &ClientContext, typed: &str) -> Result<DeviceGrant> {
    let session = caller.require_session()?;
    let by_session = format!("user-code-session:{}", session.id);
    let by_address = format!("user-code-ip:{}", client_ip::limit_key(ctx.ip));
    let attempt =
        rate_limit::reserve(state, &[(&by_session, rate_limit::USER_CODE), (&by_address, rate_limit::USER_CODE)])
            .await?;
    let found = match UserCode::parse(typed) {
        Some(code) => state.store.device_grant_by_user_code(&code).await?,
        None => None,
    };
    let Some(grant) = found else {
        attempt.failed();
        return Err(Error::InvalidUserCode);
    };
    attempt.succeeded(state).await?;
    if grant.status != GrantStatus::Pending {
        return Err(Error::UserCodeUsed);
    }
    if state.clock.now() >= grant.expires_at {
        return Err(Error::UserCodeExpired);
    }
    Ok(grant)
}

/// What is asking to sign in, for the person to check before approving.
pub async fn preview(state: &AppState, caller: &Caller, ctx: &ClientContext, typed: &str) -> Result<DeviceGrant> {
    find_pending(state, caller, ctx, typed).await
}

/// Approves the device sign-in for the caller's account: a session (not an API token),
/// with a recent sign-in, as for every new credential. Recorded as `device_approved`,
/// which mails an alert with a lock link.
pub async fn approve(state: &AppState, caller: &Caller, ctx: &ClientContext, typed: &str) -> Result<DeviceGrant> {
    let session = caller.require_recent_auth(state)?;
    let grant = find_pending(state, caller, ctx, typed).await?;
    // Every session of an account with a second factor passed it (or a trusted device
    // that did): the device's session counts as having passed it too, as of the same time.
    let approval =
        Some(Approval { mfa_passed: caller.account.factors.enabled(), auth_at: session.auth_at, amr: &session.amr });
    if !state
        .store
        .decide_device_grant(&grant.id, &caller.user_id, caller.acting(), approval, state.clock.now())
        .await?
    {
        return Err(Error::UserCodeUsed);
    }
    let detail = format!(
        "{} ({}, {}) from {} ({})",
        grant.client_name,
        grant.device.name,
        grant.device.kind.as_str(),
        grant.location.label,
        grant.ip
    );
    events::record(state, &caller.user_id, EventKind::DeviceApproved, Some(ctx), Some(detail)).await?;
    Ok(grant)
}

/// Denies it: the device's next poll gets `access_denied`.
pub async fn deny(state: &AppState, caller: &Caller, ctx: &ClientContext, typed: &str) -> Result<()> {
    caller.require_session()?;
    let grant = find_pending(state, caller, ctx, typed).await?;
    if !state.store.decide_device_grant(&grant.id, &caller.user_id, caller.acting(), None, state.clock.now()).await? {
        return Err(Error::UserCodeUsed);
    }
    Ok(())
}
