//! `[[oauth.providers]]` in `latchkey.toml`: the OpenID providers to sign in with.

use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::oauth::ProviderId;

/// One OpenID provider; its redirect URI is `{public_url}/auth/oauth/{id}/callback`.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    pub id: ProviderId,
    /// Shown on the sign-in button: "Sign in with {name}".
    pub name: String,
    /// The issuer URL; `{issuer}/.well-known/openid-configuration` describes the rest.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Beyond `openid`; `email` is needed to find or make the account.
    pub scopes: Vec<String>,
}

/// `[[oauth.providers]]` as written in `latchkey.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthProviderFile {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The secret itself, or...
    pub client_secret: Option<String>,
    /// ...the environment variable that holds it, to keep it out of the file.
    pub client_secret_env: Option<String>,
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSection {
    #[serde(default)]
    pub providers: Vec<OAuthProviderFile>,
}

impl OAuthProviderFile {
    pub(super) fn resolve(self) -> anyhow::Result<OAuthProviderConfig> {
        let id = ProviderId::parse(&self.id).map_err(|e| anyhow::anyhow!(e))?;
        let secret = match (self.client_secret, self.client_secret_env) {
            (Some(s), None) => s,
            (None, Some(var)) => std::env::var(&var)
                .map_err(|_| anyhow::anyhow!("oauth provider {}: environment variable {var} is not set", self.id))?,
            _ => anyhow::bail!("oauth provider {}: give exactly one of client_secret and client_secret_env", self.id),
        };
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://")) {
            anyhow::bail!("oauth provider {}: issuer must be an http(s) URL", self.id);
        }
        if self.name.trim().is_empty() || self.client_id.is_empty() {
            anyhow::bail!("oauth provider {}: name and client_id must not be empty", self.id);
        }
        Ok(OAuthProviderConfig {
            id,
            name: self.name,
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: SecretString::from(secret),
            scopes: self.scopes.unwrap_or_else(|| vec!["email".into(), "profile".into()]),
        })
    }
}
