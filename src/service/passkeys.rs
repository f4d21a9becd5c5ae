//! Passkey sign-in: no email, no password. The browser picks a discoverable credential
//! (from a button or from its autofill); a passkey with user verification is both
//! factors, so there is no second step.
//!
//! The answer for an unknown credential, a security key that is not a passkey, a foreign
//! user handle, a used or expired challenge and a bad signature is the same 401
//! `invalid_credentials`. Every attempt counts against the client address before anything
//! is checked, and against the account (the same key a wrong password counts against)
//! when the credential names one.

use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PublicKeyCredential, RequestChallengeResponse, Uuid, WebauthnError,
};

use crate::domain::authenticator_data::AuthenticatorFlags;
use crate::domain::client_ip;
use crate::domain::device::{Device, DeviceKind};
use crate::domain::proof::Amr;
use crate::domain::security_event::EventKind;
use crate::domain::sign_in::{FailureReason, SignInMethod};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::PasskeyOwner;

use super::second_factor::security_keys::{CEREMONY_LIFETIME, credential_id, parse_credential, rp, save_credential};
use super::sign_in::{self, Ending, LoginOutcome, SessionOrigin, record_attempt, record_refusal};
use super::{ClientContext, events, rate_limit, trusted_devices};

pub struct PasskeyInput {
    pub challenge_id: String,
    pub credential: PublicKeyCredential,
    pub remember_device: bool,
    pub device_kind: Option<DeviceKind>,
    pub device_name: Option<String>,
}

/// A challenge for any of this site's passkeys: no `allowCredentials`, user verification
/// required. The caller chooses the mediation (a button, or the browser's autofill).
pub async fn start(state: &AppState, ctx: &ClientContext) -> Result<(String, RequestChallengeResponse)> {
    let rp = rp(state)?;
    let key = format!("passkey-start-ip:{}", client_ip::limit_key(ctx.ip));
    rate_limit::reserve_one(state, &key, rate_limit::PASSKEY_START).await?.failed();
    let (mut options, authentication) = rp.start_discoverable_authentication().map_err(Error::internal)?;
    options.mediation = None;
    let id = crate::store::new_ceremony_id();
    let saved = serde_json::to_string(&authentication).map_err(Error::internal)?;
    state.store.put_passkey_challenge(&id, &saved, state.clock.now() + CEREMONY_LIFETIME).await?;
    Ok((id, options))
}

pub async fn finish(state: &AppState, ctx: &ClientContext, input: PasskeyInput) -> Result<LoginOutcome> {
    let rp = rp(state)?;
    let device = Device::identify(input.device_kind, input.device_name.as_deref(), ctx.user_agent.as_deref());
    let owner = claimed_owner(state, rp, &input.credential).await?;
    let user = match &owner {
        Some(o) => state.store.user_by_id(&o.user_id).await?,
        None => None,
    };
    let client_key = format!("login-ip:{}", client_ip::limit_key(ctx.ip));
    let account_key = user.as_ref().map(|u| format!("login:{}", u.email.to_lowercase()));
    let mut keys = vec![(client_key.as_str(), rate_limit::CLIENT)];
    if let Some(key) = &account_key {
        keys.push((key.as_str(), rate_limit::ACCOUNT));
    }
    let attempt = match rate_limit::reserve(state, &keys).await {
        Ok(attempt) => attempt,
        Err(limited) => {
            if let Some(u) = &user {
                record_refusal(state, ctx, &u.id, &device, &SignInMethod::Passkey, true).await?;
            }
            state.metrics.login(false);
            return Err(limited);
        }
    };
    // Taken whatever the credential, so that a challenge answers once.
    let challenge = state.store.take_passkey_challenge(&input.challenge_id, state.clock.now()).await?;
    let verified = match (&owner, challenge) {
        (Some(owner), Some(saved)) => verify(state, ctx, rp, owner, &saved, &input.credential).await?,
        _ => false,
    };
    let failure = match &user {
        _ if !verified => Some(FailureReason::InvalidPasskey),
        Some(u) if u.disabled_at.is_some() => Some(FailureReason::Disabled),
        _ => None,
    };
    let (Some(user), None) = (user, failure) else {
        state.metrics.login(false);
        let locked = account_key.as_deref().is_some_and(|k| attempt.locked(k));
        attempt.failed();
        if let Some(owner) = &owner {
            record_attempt(state, ctx, &owner.user_id, &device, &SignInMethod::Passkey, true, failure).await?;
            if locked {
                let detail = Some("repeated failed passkey sign-ins".to_owned());
                events::record(state, &owner.user_id, EventKind::LockedOut, Some(ctx), detail).await?;
            }
        }
        return Err(Error::InvalidCredentials);
    };
    state.metrics.login(true);
    attempt.succeeded(state).await?;
    let remembered = if input.remember_device {
        Some(trusted_devices::remember(state, ctx, &user.id, &device).await?)
    } else {
        None
    };
    let origin = SessionOrigin {
        trusted_device_id: remembered.as_ref().map(|(_, id)| id.as_str()),
        password_hash: None,
        recognised: false,
        ..SessionOrigin::default()
    };
    // User verification is the second factor, and it was asked for.
    let method = SignInMethod::Passkey;
    let amr = Amr::of(method.proves());
    let ending = Ending { user_id: &user.id, device: &device, method: &method, mfa_challenged: true, amr, origin };
    let (token, session_id) = sign_in::finish(state, ctx, ending).await?;
    let trusted_device_token = remembered.map(|(t, _)| t);
    Ok(LoginOutcome::SignedIn { token, session_id, trusted_device_token, enrolment_due: false })
}

/// The passkey the assertion names, when its user handle names the passkey's own account.
/// The handle is not signed: it only has to agree with the row the credential id finds.
async fn claimed_owner(
    state: &AppState,
    rp: &Webauthn,
    assertion: &PublicKeyCredential,
) -> Result<Option<PasskeyOwner>> {
    let Ok((handle, cred_id)) = rp.identify_discoverable_authentication(assertion) else { return Ok(None) };
    let owner = state.store.passkey(&credential_id(cred_id)).await?;
    Ok(owner.filter(|o| Uuid::parse_str(&o.user_id).is_ok_and(|id| id == handle)))
}

/// Checks the signature, user verification, origin and counter; stores the new counter
/// and backup state. A counter that went backwards is refused and reported.
async fn verify(
    state: &AppState,
    ctx: &ClientContext,
    rp: &Webauthn,
    owner: &PasskeyOwner,
    saved: &str,
    assertion: &PublicKeyCredential,
) -> Result<bool> {
    let authentication: DiscoverableAuthentication = serde_json::from_str(saved).map_err(Error::internal)?;
    let mut credential = parse_credential(&owner.key)?;
    // A synced passkey can change its backup eligibility after registration (moved into
    // another password manager); webauthn-rs would refuse it for good. The signature
    // still covers the flags, so check it against what the authenticator says now.
    if let Some(flags) = AuthenticatorFlags::read(&assertion.response.authenticator_data) {
        credential.backup_eligible = flags.backup_eligible;
    }
    let result = match rp.finish_discoverable_authentication_v2(assertion, authentication, &credential) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            let detail = Some(format!(
                "passkey \"{}\": its signature counter went backwards: it may have been cloned",
                owner.key.name
            ));
            events::record(state, &owner.user_id, EventKind::WebauthnCounterRegression, Some(ctx), detail).await?;
            return Ok(false);
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            return Ok(false);
        }
    };
    let mut passkey = Passkey::from(credential);
    passkey.update_credential(&result);
    state.store.update_webauthn_key(&owner.key.id, &save_credential(passkey.into())?, state.clock.now()).await?;
    Ok(true)
}

/// Re-authentication with one of the account's passkeys, for an account that has no
/// password or authenticator code to confirm: the request for `POST /auth/reauth`.
pub async fn start_reauth(state: &AppState, caller: &super::Caller) -> Result<(String, RequestChallengeResponse)> {
    caller.require_session()?;
    let rp = rp(state)?;
    let records = state.store.webauthn_keys(&caller.user_id).await?;
    let keys = records
        .iter()
        .filter(|r| r.passkey)
        .map(|r| parse_credential(r).map(Passkey::from))
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(Error::InvalidRequest("this account has no passkey".into()));
    }
    let (options, authentication) = rp.start_passkey_authentication(&keys).map_err(Error::internal)?;
    let id = crate::store::new_ceremony_id();
    let saved = serde_json::to_string(&authentication).map_err(Error::internal)?;
    let expires = state.clock.now() + CEREMONY_LIFETIME;
    state.store.put_ceremony(&id, &caller.user_id, REAUTH, &saved, None, expires).await?;
    Ok((id, options))
}

const REAUTH: &str = "reauth";

/// Whether `assertion` answers the re-auth ceremony `ceremony_id` of this account with one
/// of its passkeys (user verified). Used once; a counter that went backwards is reported.
pub(super) async fn accept_reauth(
    state: &AppState,
    ctx: Option<&ClientContext>,
    user_id: &str,
    ceremony_id: &str,
    assertion: &PublicKeyCredential,
) -> Result<bool> {
    let rp = rp(state)?;
    let now = state.clock.now();
    let Some(ceremony) = state.store.take_ceremony(ceremony_id, &[REAUTH]).await? else { return Ok(false) };
    if ceremony.user_id != user_id || now >= ceremony.expires_at {
        return Ok(false);
    }
    let authentication: webauthn_rs::prelude::PasskeyAuthentication =
        serde_json::from_str(&ceremony.state).map_err(Error::internal)?;
    let result = match rp.finish_passkey_authentication(assertion, &authentication) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            let detail = Some("a passkey's signature counter went backwards: it may have been cloned".to_owned());
            events::record(state, user_id, EventKind::WebauthnCounterRegression, ctx, detail).await?;
            return Ok(false);
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey re-authentication refused");
            return Ok(false);
        }
    };
    for record in state.store.webauthn_keys(user_id).await? {
        let mut key = Passkey::from(parse_credential(&record)?);
        if key.cred_id() == result.cred_id() {
            key.update_credential(&result);
            state.store.update_webauthn_key(&record.id, &save_credential(key.into())?, now).await?;
            return Ok(true);
        }
    }
    Ok(false)
}
