//! Sign-in through an OpenID provider, and the links between accounts and providers.
//! Which account a provider's answer opens (linked, found by verified email and perhaps
//! reclaimed, or new) is `accounts`.

use chrono::Duration;

use crate::domain::device::Device;
use crate::domain::oauth::{Failure, ProviderClaims, ProviderId};
use crate::domain::security_event::EventKind;
use crate::domain::sign_in::SignInMethod;
use crate::domain::token::{SecretToken, TokenKind};
use crate::error::{Error, Result};
use crate::oidc::OidcError;
use crate::state::AppState;
use crate::store::{IdentityRef, LinkedIdentity, NewOAuthFlow, StoreError, TakenFlow, Unlinked};

use super::second_factor::challenge::{self, FirstFactor};
use super::sign_in::LoginOutcome;
use super::{Caller, ClientContext, events, rate_limit};

mod accounts;

use accounts::account_for;

/// How long the provider may take to send the browser back.
pub const FLOW_LIFETIME: Duration = Duration::minutes(10);

/// Where to send the browser, and the cookie that binds the sign-in to it.
pub struct Started {
    pub redirect_to: String,
    pub browser_binding: SecretToken,
}

/// What the provider sent back on the redirect URI.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// `GET /auth/oauth/{provider}/start`: a pending sign-in and the provider's URL.
pub async fn start(
    state: &AppState,
    ctx: &ClientContext,
    provider: &str,
    browser_binding: Option<&str>,
) -> Result<Started> {
    begin(state, ctx, provider, browser_binding, None).await
}

/// The Security page's "Link {provider}": a flow that, at its callback, links the
/// provider to the caller's account (with the owner's consent: a CSRF-checked POST and a
/// recent sign-in) rather than signing anyone in.
pub async fn start_link(
    state: &AppState,
    caller: &Caller,
    ctx: &ClientContext,
    provider: &str,
    browser_binding: Option<&str>,
) -> Result<Started> {
    caller.require_recent_auth(state)?;
    state.oauth.get(provider).ok_or(Error::NotFound)?;
    if state.store.linked_identities(&caller.user_id).await?.iter().any(|l| l.provider == provider) {
        return Err(Error::ProviderAlreadyLinked);
    }
    begin(state, ctx, provider, browser_binding, Some(&caller.user_id)).await
}

async fn begin(
    state: &AppState,
    ctx: &ClientContext,
    provider: &str,
    browser_binding: Option<&str>,
    link_user_id: Option<&str>,
) -> Result<Started> {
    let config = state.oauth.get(provider).ok_or(Error::NotFound)?;
    let key = format!("oauth-start-ip:{}", crate::domain::client_ip::limit_key(ctx.ip));
    rate_limit::reserve_one(state, &key, rate_limit::OAUTH_START).await?.failed();
    let authorization = state.oauth.authorize(provider).await.map_err(|e| failure(&config.name, e))?;
    // One binding per browser, so sign-ins started in two tabs both finish.
    let binding = match browser_binding.and_then(SecretToken::parse).filter(|t| t.is(TokenKind::OAuthBrowser)) {
        Some(existing) => existing,
        None => SecretToken::mint(TokenKind::OAuthBrowser)?,
    };
    let state_hash = state_hash(&authorization.state)?;
    let sealed = state
        .secrets
        .seal(authorization.pkce_verifier.as_bytes(), &pkce_context(&state_hash))
        .map_err(Error::internal)?;
    state
        .store
        .put_oauth_flow(NewOAuthFlow {
            state_hash: &state_hash,
            provider,
            browser_hash: binding.hash().as_str(),
            nonce: &authorization.nonce,
            pkce_verifier_sealed: &sealed,
            expires_at: state.clock.now() + FLOW_LIFETIME,
            link_user_id,
        })
        .await?;
    Ok(Started { redirect_to: authorization.url, browser_binding: binding })
}

/// What a provider's callback did.
pub enum Finished {
    /// A sign-in: signed in, or on to the account's second factor.
    SignIn(Box<LoginOutcome>),
    /// A link asked for from the Security page, done.
    Linked,
}

/// `GET /auth/oauth/{provider}/callback`: the provider's answer, checked, then the
/// account it opens (signed in, or on to its second factor), or the link it completes.
/// `signed_in_user` is the account of the browser's session, if it has one: a link
/// finishes only in the session of the account that asked for it.
pub async fn finish(
    state: &AppState,
    ctx: &ClientContext,
    provider: &str,
    params: CallbackParams,
    browser_binding: Option<&str>,
    trusted_device_token: Option<&str>,
    signed_in_user: Option<&str>,
) -> Result<Finished> {
    let config = state.oauth.get(provider).ok_or(Error::NotFound)?;
    let (id, name) = (config.id.clone(), config.name.clone());
    let raw_state = params.state.as_deref().ok_or(Failure::StateInvalid)?;
    let state_hash = state_hash(raw_state)?;
    let browser_hash = browser_binding.and_then(SecretToken::parse).map(|t| t.hash());
    let taken =
        state.store.take_oauth_flow(&state_hash, browser_hash.as_ref().map(|h| h.as_str()), state.clock.now()).await?;
    let flow = match taken {
        TakenFlow::Taken(flow) if flow.provider == id.as_str() => flow,
        TakenFlow::OtherBrowser => return Err(Failure::OtherBrowser.into()),
        TakenFlow::Taken(_) | TakenFlow::Missing => return Err(Failure::StateInvalid.into()),
    };
    if flow.link_user_id.is_some() && flow.link_user_id.as_deref() != signed_in_user {
        // Signed out, or into another account, since the link was asked for.
        return Err(Failure::StateInvalid.into());
    }
    if let Some(error) = params.error {
        // Whoever sent the browser here wrote these; they are shown escaped and short.
        let (error, description) = (clip(error), params.error_description.map(clip));
        return Err(Failure::ProviderError { provider: name, error, description }.into());
    }
    let code = params.code.ok_or_else(|| Failure::ProviderError {
        provider: name.clone(),
        error: "no authorization code".into(),
        description: None,
    })?;
    let verifier = state
        .secrets
        .open(&flow.pkce_verifier_sealed, &pkce_context(&state_hash))
        .map_err(|e| Error::internal(anyhow::anyhow!("cannot open a PKCE verifier: {e:?}")))?;
    let verifier = String::from_utf8(verifier).map_err(Error::internal)?;
    let claims = state.oauth.redeem(provider, &code, &verifier, &flow.nonce).await.map_err(|e| failure(&name, e))?;
    if let Some(user_id) = &flow.link_user_id {
        link(state, ctx, user_id, &id, &name, &claims).await?;
        return Ok(Finished::Linked);
    }

    let device = Device::identify(None, None, ctx.user_agent.as_deref());
    let user = account_for(state, ctx, &id, &name, &claims, &device).await?;
    let first = FirstFactor {
        method: SignInMethod::Provider(id.clone()),
        remember_device: false,
        device_kind: None,
        device_name: None,
        trusted_device_token,
        password_hash: None,
    };
    let outcome = challenge::after_first_factor(state, ctx, &user.id, &device, first).await?;
    Ok(Finished::SignIn(Box::new(outcome)))
}

/// Links the provider's subject to `user_id`, whatever email it gives: the owner asked
/// for it while signed in. Refused when the subject already opens another account.
async fn link(
    state: &AppState,
    ctx: &ClientContext,
    user_id: &str,
    provider: &ProviderId,
    name: &str,
    claims: &ProviderClaims,
) -> Result<()> {
    let identity =
        IdentityRef { provider: provider.as_str(), subject: &claims.subject, email: claims.email.as_deref() };
    match state.store.link_identity(user_id, identity, state.clock.now()).await {
        Ok(()) => {
            let detail = format!("{name} linked from the Security page");
            events::record(state, user_id, EventKind::ProviderLinked, Some(ctx), Some(detail)).await
        }
        Err(StoreError::Conflict) => {
            let owner = state.store.user_by_identity(provider.as_str(), &claims.subject).await?;
            match owner {
                Some(u) if u.id == user_id => Ok(()),
                Some(_) => Err(Failure::LinkedElsewhere { provider: name.to_owned() }.into()),
                // The account has another subject of this provider linked.
                None => Err(Error::ProviderAlreadyLinked),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The providers linked to the caller's account.
pub async fn linked(state: &AppState, caller: &Caller) -> Result<Vec<LinkedIdentity>> {
    Ok(state.store.linked_identities(&caller.user_id).await?)
}

/// Unlinks a provider, unless it is the account's last way to sign in.
pub async fn unlink(state: &AppState, caller: &Caller, ctx: &ClientContext, provider: &str) -> Result<()> {
    caller.require_recent_auth(state)?;
    match state.store.unlink_identity(&caller.user_id, provider).await? {
        Unlinked::Done => {
            let name = state.oauth.display_name(provider);
            events::record(state, &caller.user_id, EventKind::ProviderUnlinked, Some(ctx), Some(name)).await
        }
        Unlinked::NotLinked => Err(Error::NotFound),
        Unlinked::LastMethod => Err(Error::LastSignInMethod),
    }
}

fn failure(provider: &str, e: OidcError) -> Error {
    let provider = provider.to_owned();
    tracing::warn!(%provider, error = %e, "provider sign-in failed");
    match e {
        OidcError::Unreachable(_) => Failure::ProviderUnreachable { provider },
        OidcError::Refused { error, description } => Failure::ProviderError { provider, error, description },
        OidcError::Invalid(_) => Failure::InvalidAnswer { provider },
    }
    .into()
}

fn clip(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(200) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn state_hash(raw: &str) -> Result<String> {
    SecretToken::parse(raw).map(|t| t.hash().as_str().to_owned()).ok_or_else(|| Failure::StateInvalid.into())
}

fn pkce_context(state_hash: &str) -> String {
    format!("oauth-pkce:{state_hash}")
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn provider_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("access_denied".into()), "access_denied");
        let long = "é".repeat(300);
        let clipped = clip(long);
        assert_eq!(clipped.chars().count(), 201);
        assert!(clipped.ends_with('…'));
    }
}
