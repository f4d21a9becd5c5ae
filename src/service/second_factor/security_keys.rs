//! Security keys and passkeys (WebAuthn), on team plans unless the operator opens them
//! to all. Every credential is a second factor; a passkey (discoverable, user verified)
//! can also sign in alone (see `passkeys`).
//!
//! webauthn-rs does the cryptography; ceremony state lives in the database with a
//! five-minute expiry and is taken exactly once, so any instance can finish what
//! another started and a replayed response finds nothing to finish.

use chrono::{DateTime, Duration, Utc};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Credential, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid,
    WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::domain::security_event::EventKind;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{FactorRef, NewWebauthnKey, StoreError, WebauthnKeyRecord};

use super::super::{Caller, ClientContext, account, events, workspaces};

pub(in crate::service) const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
const REGISTER_KEY: &str = "register";
const REGISTER_PASSKEY: &str = "register_passkey";
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

pub(in crate::service) fn rp(state: &AppState) -> Result<&Webauthn> {
    state.webauthn.as_deref().ok_or(Error::WebauthnUnavailable)
}

/// A key or passkey as the account's pages show it.
#[derive(Debug, Clone)]
pub struct KeySummary {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub passkey: bool,
    /// The authenticator may sync it to other devices...
    pub backup_eligible: bool,
    /// ...and says it is synced now.
    pub backed_up: bool,
    /// The credential id, base64url, as a browser names it (for the Signal API).
    pub credential_id: String,
}

impl KeySummary {
    fn of(record: &WebauthnKeyRecord) -> Result<Self> {
        let credential = parse_credential(record)?;
        Ok(Self {
            id: record.id.clone(),
            name: record.name.clone(),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            passkey: record.passkey,
            backup_eligible: credential.backup_eligible,
            backed_up: credential.backup_state,
            credential_id: base64url(&credential.cred_id),
        })
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Every credential is stored in webauthn-rs's `SecurityKey` form (a passkey's is the same
/// shape), so the second step can offer keys and passkeys alike.
pub(in crate::service) fn parse_credential(record: &WebauthnKeyRecord) -> Result<Credential> {
    let key: SecurityKey = serde_json::from_str(&record.credential).map_err(Error::internal)?;
    Ok(key.into())
}

pub(in crate::service) fn save_credential(credential: Credential) -> Result<String> {
    serde_json::to_string(&SecurityKey::from(credential)).map_err(Error::internal)
}

pub(in crate::service) fn credential_id(id: &[u8]) -> String {
    hex::encode(id)
}

/// Starts adding a security key or, with `passkey`, a passkey: a discoverable credential
/// with user verification required, which can sign in with no password.
pub async fn start_registration(
    state: &AppState,
    caller: &Caller,
    name: &str,
    passkey: bool,
) -> Result<(String, CreationChallengeResponse)> {
    caller.require_recent_auth(state)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(format!("name must be 1 to {MAX_NAME} printable characters")));
    }
    let policy = workspaces::account_policy(state, &caller.user_id).await?;
    if !policy.may_use_webauthn(state.config.settings.webauthn_plans) {
        return Err(Error::PlanRequired);
    }
    let rp = rp(state)?;
    let user = account::me(state, caller).await?;
    let existing = state.store.webauthn_keys(&user.id).await?;
    if existing.len() >= MAX_KEYS {
        return Err(Error::TooMany(TOO_MANY_KEYS));
    }
    let exclude = existing.iter().map(|k| parse_credential(k).map(|c| c.cred_id)).collect::<Result<Vec<_>>>()?;
    let handle = Uuid::parse_str(&user.id).map_err(Error::internal)?;
    let (options, kind, saved) = if passkey {
        let (mut options, registration) =
            rp.start_passkey_registration(handle, &user.email, &user.email, Some(exclude)).map_err(Error::internal)?;
        // webauthn-rs leaves residency to the authenticator; a passkey must be discoverable
        // so that sign-in can start with no email.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        (options, REGISTER_PASSKEY, serde_json::to_string(&registration).map_err(Error::internal)?)
    } else {
        let (options, registration) = rp
            .start_securitykey_registration(handle, &user.email, &user.email, Some(exclude), None, None)
            .map_err(Error::internal)?;
        (options, REGISTER_KEY, serde_json::to_string(&registration).map_err(Error::internal)?)
    };
    let id = crate::store::new_ceremony_id();
    let expires = state.clock.now() + CEREMONY_LIFETIME;
    state.store.put_ceremony(&id, &user.id, kind, &saved, Some(name), expires).await?;
    Ok((id, options))
}

/// Finishes adding a key or passkey. Returns it, and the first backup codes when it
/// turned 2FA on.
pub async fn finish_registration(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    ceremony_id: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<(KeySummary, Option<Vec<String>>)> {
    caller.require_recent_auth(state)?;
    let rp = rp(state)?;
    let now = state.clock.now();
    let ceremony = state.store.take_ceremony(ceremony_id, &[REGISTER_KEY, REGISTER_PASSKEY]).await?;
    let ceremony =
        ceremony.filter(|c| c.user_id == caller.user_id && now < c.expires_at).ok_or(Error::CeremonyExpired)?;
    let refused = |e: WebauthnError| {
        tracing::info!(error = %e, "WebAuthn registration refused");
        Error::InvalidCredential
    };
    let passkey = ceremony.kind == REGISTER_PASSKEY;
    let key: Credential = if passkey {
        let registration: PasskeyRegistration = serde_json::from_str(&ceremony.state).map_err(Error::internal)?;
        rp.finish_passkey_registration(credential, &registration).map_err(refused)?.into()
    } else {
        let registration: SecurityKeyRegistration = serde_json::from_str(&ceremony.state).map_err(Error::internal)?;
        rp.finish_securitykey_registration(credential, &registration).map_err(refused)?.into()
    };
    let turning_on = !state.store.factors(&caller.user_id).await?.enabled();
    let codes = if turning_on { Some(super::backup_codes::new_backup_codes(state).await?) } else { None };
    let name = ceremony.name.unwrap_or_else(|| if passkey { "Passkey" } else { "Security key" }.to_owned());
    let cred_id = credential_id(&key.cred_id);
    let saved = save_credential(key)?;
    let hashes = codes.as_ref().map(|(_, h)| h.as_slice());
    let added = state
        .store
        .add_webauthn_key(NewWebauthnKey {
            user_id: &caller.user_id,
            acting: caller.acting(),
            name: &name,
            credential_id: &cred_id,
            credential: &saved,
            passkey,
            backup_code_hashes: hashes,
            now,
        })
        .await;
    let id = match added {
        Err(StoreError::Conflict) => return Err(Error::InvalidCredential),
        other => other?.ok_or(Error::TooMany(TOO_MANY_KEYS))?,
    };
    let kind = if turning_on { EventKind::TwoFactorEnabled } else { EventKind::FactorAdded };
    events::record(state, &caller.user_id, kind, Some(ctx), Some(describe(passkey, &name))).await?;
    let record = WebauthnKeyRecord { id, name, credential: saved, created_at: now, last_used_at: None, passkey };
    Ok((KeySummary::of(&record)?, codes.map(|(shown, _)| shown)))
}

fn describe(passkey: bool, name: &str) -> String {
    if passkey { format!("passkey \"{name}\"") } else { format!("security key \"{name}\"") }
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<KeySummary>> {
    state.store.webauthn_keys(&caller.user_id).await?.iter().map(KeySummary::of).collect()
}

/// Removes a key or passkey while another factor remains and, for a passkey, while the
/// account keeps a way to sign in. Returns what was removed.
pub async fn delete(state: &AppState, caller: &Caller, ctx: &ClientContext, id: &str) -> Result<KeySummary> {
    caller.require_recent_auth(state)?;
    let keys = state.store.webauthn_keys(&caller.user_id).await?;
    let key = keys.iter().find(|k| k.id == id).ok_or(Error::NotFound)?;
    super::removed(state.store.remove_factor(&caller.user_id, FactorRef::WebauthnKey(id)).await?)?;
    let detail = Some(describe(key.passkey, &key.name));
    events::record(state, &caller.user_id, EventKind::FactorRemoved, Some(ctx), detail).await?;
    KeySummary::of(key)
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
    let keys = records.iter().map(|r| parse_credential(r).map(SecurityKey::from)).collect::<Result<Vec<_>>>()?;
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
    let Some(ceremony) = state.store.take_ceremony(ceremony_id, &["authenticate"]).await? else { return Ok(false) };
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
        let mut key = SecurityKey::from(parse_credential(&record)?);
        if key.cred_id() == result.cred_id() {
            key.update_credential(&result);
            state.store.update_webauthn_key(&record.id, &save_credential(key.into())?, now).await?;
            return Ok(true);
        }
    }
    Ok(false)
}
