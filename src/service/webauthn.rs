//! Security keys (WebAuthn) as a second factor, on team plans.
//!
//! webauthn-rs does the cryptography; ceremony state lives in the database with a
//! five-minute expiry and is taken exactly once, so any instance can finish what
//! another started and a replayed response finds nothing to finish.

use chrono::Duration;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::domain::security_event::EventKind;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{FactorRef, StoreError, WebauthnKeyRecord};

use super::{Caller, ClientContext, account, events, two_factor, workspaces};

const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
const MAX_NAME: usize = 100;
const MAX_KEYS: usize = crate::domain::limits::MAX_WEBAUTHN_KEYS as usize;
const TOO_MANY_KEYS: &str = "10 security keys; delete one first";

/// The relying party for the public URL; `None` (with a warning) when its host is not a
/// domain name, which browsers refuse as an RP id.
pub fn relying_party(public_url: &str) -> Option<Webauthn> {
    let built = Url::parse(public_url).ok().and_then(|origin| {
        let rp_id = origin.domain()?.to_owned();
        WebauthnBuilder::new(&rp_id, &origin)
            .ok()?
            .rp_name("Latchkey")
            // A key without a PIN must work: webauthn-rs's default asks keys for
            // credProtect "user verification required", which such keys cannot give (and
            // which Chromium refuses next to "preferred"). Presence is still required.
            .danger_set_user_presence_only_security_keys(true)
            .build()
            .ok()
    });
    if built.is_none() {
        tracing::warn!(
            public_url,
            "security keys are off: the public URL must name a domain (localhost works for testing)"
        );
    }
    built
}

fn rp(state: &AppState) -> Result<&Webauthn> {
    state.webauthn.as_deref().ok_or(Error::WebauthnUnavailable)
}

fn parse_key(record: &WebauthnKeyRecord) -> Result<SecurityKey> {
    serde_json::from_str(&record.credential).map_err(Error::internal)
}

fn credential_id(key: &SecurityKey) -> String {
    let id: &[u8] = key.cred_id().as_ref();
    hex::encode(id)
}

pub async fn start_registration(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<(String, CreationChallengeResponse)> {
    caller.require_recent_auth(state)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(format!("name must be 1 to {MAX_NAME} printable characters")));
    }
    if !workspaces::account_policy(state, &caller.user_id).await?.has_team_plan() {
        return Err(Error::PlanRequired);
    }
    let rp = rp(state)?;
    let user = account::me(state, caller).await?;
    let existing = state.store.webauthn_keys(&user.id).await?;
    if existing.len() >= MAX_KEYS {
        return Err(Error::TooMany(TOO_MANY_KEYS));
    }
    let exclude = existing.iter().map(|k| parse_key(k).map(|sk| sk.cred_id().clone())).collect::<Result<Vec<_>>>()?;
    let handle = Uuid::parse_str(&user.id).map_err(Error::internal)?;
    let (options, registration) = rp
        .start_securitykey_registration(handle, &user.email, &user.email, Some(exclude), None, None)
        .map_err(Error::internal)?;
    let id = crate::store::new_ceremony_id();
    let saved = serde_json::to_string(&registration).map_err(Error::internal)?;
    let expires = state.clock.now() + CEREMONY_LIFETIME;
    state.store.put_ceremony(&id, &user.id, "register", &saved, Some(name), expires).await?;
    Ok((id, options))
}

/// Finishes adding a key. Returns it, and the first backup codes when it turned 2FA on.
pub async fn finish_registration(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    ceremony_id: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<(WebauthnKeyRecord, Option<Vec<String>>)> {
    caller.require_recent_auth(state)?;
    let rp = rp(state)?;
    let now = state.clock.now();
    let ceremony = state.store.take_ceremony(ceremony_id, "register").await?;
    let ceremony =
        ceremony.filter(|c| c.user_id == caller.user_id && now < c.expires_at).ok_or(Error::CeremonyExpired)?;
    let registration: SecurityKeyRegistration = serde_json::from_str(&ceremony.state).map_err(Error::internal)?;
    let key = rp.finish_securitykey_registration(credential, &registration).map_err(|e| {
        tracing::info!(error = %e, "security key registration refused");
        Error::InvalidCredential
    })?;
    let turning_on = !state.store.factors(&caller.user_id).await?.enabled();
    let codes = if turning_on { Some(two_factor::new_backup_codes(state, &caller.user_id)?) } else { None };
    let name = ceremony.name.unwrap_or_else(|| "Security key".to_owned());
    let saved = serde_json::to_string(&key).map_err(Error::internal)?;
    let hashes = codes.as_ref().map(|(_, h)| h.as_slice());
    let id = match state.store.add_webauthn_key(&caller.user_id, &name, &credential_id(&key), &saved, hashes, now).await
    {
        Err(StoreError::Conflict) => return Err(Error::InvalidCredential),
        other => other?.ok_or(Error::TooMany(TOO_MANY_KEYS))?,
    };
    let kind = if turning_on { EventKind::TwoFactorEnabled } else { EventKind::FactorAdded };
    events::record(state, &caller.user_id, kind, Some(ctx), Some(format!("security key \"{name}\""))).await?;
    let record = WebauthnKeyRecord { id, name, credential: saved, created_at: now, last_used_at: None };
    Ok((record, codes.map(|(shown, _)| shown)))
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<WebauthnKeyRecord>> {
    Ok(state.store.webauthn_keys(&caller.user_id).await?)
}

/// Removes a key while another factor remains.
pub async fn delete(state: &AppState, caller: &Caller, ctx: &ClientContext, id: &str) -> Result<()> {
    caller.require_recent_auth(state)?;
    let keys = state.store.webauthn_keys(&caller.user_id).await?;
    let key = keys.iter().find(|k| k.id == id).ok_or(Error::NotFound)?;
    two_factor::removed(state.store.remove_factor(&caller.user_id, FactorRef::WebauthnKey(id)).await?)?;
    events::record(
        state,
        &caller.user_id,
        EventKind::FactorRemoved,
        Some(ctx),
        Some(format!("security key \"{}\"", key.name)),
    )
    .await
}

/// The assertion request of a sign-in's second step, saved under the sign-in's id.
pub async fn start_authentication(
    state: &AppState,
    user_id: &str,
    ceremony_id: &str,
) -> Result<Option<RequestChallengeResponse>> {
    let Some(rp) = state.webauthn.as_deref() else { return Ok(None) };
    let records = state.store.webauthn_keys(user_id).await?;
    if records.is_empty() {
        return Ok(None);
    }
    let keys = records.iter().map(parse_key).collect::<Result<Vec<_>>>()?;
    let (options, authentication) = rp.start_securitykey_authentication(&keys).map_err(Error::internal)?;
    let saved = serde_json::to_string(&authentication).map_err(Error::internal)?;
    let expires = state.clock.now() + CEREMONY_LIFETIME;
    state.store.put_ceremony(ceremony_id, user_id, "authenticate", &saved, None, expires).await?;
    Ok(Some(options))
}

/// Verifies a security key's assertion for the sign-in `ceremony_id`; a counter that went
/// backwards (a possible clone) is refused and recorded as a security event.
pub async fn accept_assertion(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    ceremony_id: &str,
    credential: Option<&serde_json::Value>,
) -> Result<bool> {
    let Some(rp) = state.webauthn.as_deref() else { return Ok(false) };
    let now = state.clock.now();
    let Some(ceremony) = state.store.take_ceremony(ceremony_id, "authenticate").await? else { return Ok(false) };
    if ceremony.user_id != user_id || now >= ceremony.expires_at {
        return Ok(false);
    }
    let Some(Ok(assertion)) = credential.map(|c| serde_json::from_value::<PublicKeyCredential>(c.clone())) else {
        return Ok(false);
    };
    let authentication: SecurityKeyAuthentication = serde_json::from_str(&ceremony.state).map_err(Error::internal)?;
    let result = match rp.finish_securitykey_authentication(&assertion, &authentication) {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            let detail = Some("a security key's signature counter went backwards: it may have been cloned".to_owned());
            events::record(state, user_id, EventKind::WebauthnCounterRegression, Some(ctx), detail).await?;
            return Ok(false);
        }
        Err(e) => {
            tracing::info!(error = %e, "security key assertion refused");
            return Ok(false);
        }
    };
    for record in state.store.webauthn_keys(user_id).await? {
        let mut key = parse_key(&record)?;
        if key.cred_id() == result.cred_id() {
            key.update_credential(&result);
            let saved = serde_json::to_string(&key).map_err(Error::internal)?;
            state.store.update_webauthn_key(&record.id, &saved, now).await?;
            return Ok(true);
        }
    }
    Ok(false)
}
