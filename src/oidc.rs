//! The OpenID Connect relying party, over the `openidconnect` crate: discovery (cached),
//! the authorization URL with PKCE, `state` and `nonce`, and the code exchange with
//! ID-token validation (signature, issuer, audience, expiry, nonce).

use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse, reqwest,
};
use secrecy::ExposeSecret;
use tokio::sync::RwLock;

use crate::config::OAuthProviderConfig;
use crate::domain::oauth::ProviderClaims;

/// Discovery documents (and their signing keys) are fetched again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// A failed ID-token check refetches the keys (the provider may have rotated them), at most this often.
const KEY_REFRESH_MIN: Duration = Duration::from_secs(60);

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused { error: String, description: Option<String> },
    #[error("the provider's answer did not pass validation: {0}")]
    Invalid(String),
}

/// Where to send the browser, and what the callback will need to finish.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

pub struct Providers {
    entries: Vec<Entry>,
    http: reqwest::Client,
}

struct Entry {
    config: OAuthProviderConfig,
    redirect: RedirectUrl,
    metadata: RwLock<Option<(Instant, CoreProviderMetadata)>>,
}

impl Providers {
    pub fn new(configs: &[OAuthProviderConfig], public_url: &str) -> anyhow::Result<Self> {
        let entries = configs
            .iter()
            .map(|c| {
                let redirect = RedirectUrl::new(format!("{public_url}/auth/oauth/{}/callback", c.id.as_str()))?;
                Ok(Entry { config: c.clone(), redirect, metadata: RwLock::new(None) })
            })
            .collect::<anyhow::Result<_>>()?;
        let http = reqwest::Client::builder()
            // Following redirects from a provider's endpoints opens the door to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { entries, http })
    }

    pub fn configured(&self) -> impl Iterator<Item = &OAuthProviderConfig> {
        self.entries.iter().map(|e| &e.config)
    }

    pub fn get(&self, id: &str) -> Option<&OAuthProviderConfig> {
        self.entry(id).map(|e| &e.config)
    }

    /// The provider's display name; its id when it is no longer configured.
    pub fn display_name(&self, id: &str) -> String {
        self.get(id).map_or_else(|| id.to_owned(), |p| p.name.clone())
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.config.id.as_str() == id)
    }

    /// The provider's authorization URL for a fresh `state`, `nonce` and PKCE pair.
    pub async fn authorize(&self, id: &str) -> Result<Authorization, OidcError> {
        let entry = self.entry(id).ok_or_else(|| OidcError::Invalid(format!("no provider {id}")))?;
        let client = self.client(entry, false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in &entry.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Redeems the code and returns what the validated ID token (or, for claims it
    /// leaves out, the userinfo endpoint) says about the user.
    pub async fn redeem(
        &self,
        id: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderClaims, OidcError> {
        let entry = self.entry(id).ok_or_else(|| OidcError::Invalid(format!("no provider {id}")))?;
        let client = self.client(entry, false).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Invalid(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    OidcError::Refused { error: r.error().to_string(), description: r.error_description().cloned() }
                }
                RequestTokenError::Request(e) => OidcError::Unreachable(e.to_string()),
                other => OidcError::Invalid(other.to_string()),
            })?;
        let id_token = response.id_token().ok_or_else(|| OidcError::Invalid("no ID token in the answer".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let (client, claims) = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => (client.clone(), claims.clone()),
            Err(first) => {
                // Perhaps signed with a key newer than the cached set: once more with fresh keys.
                let fresh = self.client(entry, true).await?;
                let claims = id_token
                    .claims(&fresh.id_token_verifier(), &nonce)
                    .map_err(|_| OidcError::Invalid(first.to_string()))?
                    .clone();
                (fresh, claims)
            }
        };
        let mut found = ProviderClaims {
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
        };
        if found.email.is_none() {
            // Many providers keep scope claims out of the ID token when an access token
            // can fetch them; the userinfo answer must be about the same subject.
            if let Ok(request) = client.user_info(response.access_token().clone(), Some(claims.subject().clone())) {
                let info: CoreUserInfoClaims = request.request_async(&self.http).await.map_err(|e| match e {
                    openidconnect::UserInfoError::Request(e) => OidcError::Unreachable(e.to_string()),
                    other => OidcError::Invalid(other.to_string()),
                })?;
                found.email = info.email().map(|e| e.to_string());
                found.email_verified = info.email_verified().unwrap_or(false);
            }
        }
        Ok(found)
    }

    /// A client from the cached discovery document; `refresh` forces a new fetch unless
    /// the cached one is very recent.
    async fn client(&self, entry: &Entry, refresh: bool) -> Result<Client, OidcError> {
        let max_age = if refresh { KEY_REFRESH_MIN } else { METADATA_TTL };
        let cached =
            entry.metadata.read().await.as_ref().filter(|(at, _)| at.elapsed() < max_age).map(|(_, m)| m.clone());
        let metadata = match cached {
            Some(m) => m,
            None => {
                let mut slot = entry.metadata.write().await;
                match slot.as_ref().filter(|(at, _)| at.elapsed() < max_age) {
                    // Another request refreshed it while this one waited for the lock.
                    Some((_, m)) => m.clone(),
                    None => {
                        let m = self.discover(&entry.config.issuer).await?;
                        *slot = Some((Instant::now(), m.clone()));
                        m
                    }
                }
            }
        };
        let secret = ClientSecret::new(entry.config.client_secret.expose_secret().to_owned());
        Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(entry.config.client_id.clone()), Some(secret))
            .set_redirect_uri(entry.redirect.clone()))
    }

    async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, OidcError> {
        let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| OidcError::Invalid(e.to_string()))?;
        CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| match e {
            openidconnect::DiscoveryError::Request(e) => OidcError::Unreachable(e.to_string()),
            other => OidcError::Invalid(other.to_string()),
        })
    }
}
