//! Configuration: flags beat `LATCHKEY_*` variables (clap reads both), which beat
//! `latchkey.toml`, which beats the defaults. `given` declares each setting once,
//! `resolve` checks them all at start into the [`Config`] the server runs with.

mod given;
mod oauth;
mod resolve;

pub use given::{FileConfig, Given};
pub use oauth::{OAuthProviderConfig, OAuthProviderFile, OAuthSection};
pub use resolve::resolve;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::Duration;
use ipnet::IpNet;
use secrecy::SecretString;

use crate::domain::enrolment::RequiredEnrolment;
use crate::domain::password::Rules as PasswordRules;
use crate::domain::session_policy::SessionPolicy;
use crate::domain::workspace::{Plan, WebauthnPlans};

/// The settings of CONTRACT §1 with their defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub signup_open: bool,
    pub trusted_device_days: u32,
    pub reauth_window: Duration,
    pub session: SessionPolicy,
    pub login_history_days: u32,
    pub totp_issuer: String,
    /// Lifetime of an API token created without `expires_in_days`, and the longest allowed.
    pub api_token_default_days: u32,
    pub api_token_max_days: u32,
    /// The plan of a workspace made through the API; only the operator changes it.
    pub default_workspace_plan: Plan,
    /// Who may add security keys and passkeys.
    pub webauthn_plans: WebauthnPlans,
    /// Origins besides the public URL's that the sign-in page, `/step-up` and forward auth
    /// may send a browser back to (`rd`), such as `https://app.example.com`.
    pub return_origins: Vec<String>,
    pub password_rules: PasswordRules,
    /// A second factor required of every account, from a deadline on.
    pub required_enrolment: RequiredEnrolment,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            signup_open: true,
            trusted_device_days: 30,
            reauth_window: Duration::minutes(10),
            session: SessionPolicy::default(),
            login_history_days: 90,
            totp_issuer: "Latchkey".into(),
            api_token_default_days: 90,
            api_token_max_days: 365,
            default_workspace_plan: Plan::Free,
            webauthn_plans: WebauthnPlans::Team,
            return_origins: Vec::new(),
            password_rules: PasswordRules::Classes,
            required_enrolment: RequiredEnrolment::Off,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub public_url: String,
    /// `LATCHKEY_COOKIE_DOMAIN`: the session cookie is shared with this domain's subdomains.
    pub cookie_domain: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub geoip_dbs: Vec<PathBuf>,
    /// `LATCHKEY_SECRET_KEY`; when absent a key is generated into the data dir.
    pub secret_key: Option<SecretString>,
    /// Database connections per instance.
    pub db_pool_size: u32,
    pub settings: Settings,
    /// `[[oauth.providers]]`: OpenID providers to sign in with.
    pub oauth_providers: Vec<OAuthProviderConfig>,
    pub mail: MailConfig,
}

/// How mail leaves: over SMTP, or (with no URL) as files in `{data_dir}/outbox/`.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// lettre's URL form; it may hold the server's password.
    pub smtp_url: Option<SecretString>,
    /// A private CA's certificate (PEM) to trust for the server's TLS.
    pub ca_file: Option<PathBuf>,
    /// `Latchkey <latchkey@example.com>`.
    pub from: String,
}

impl MailConfig {
    pub(super) fn for_public_url(public_url: &str) -> Self {
        let host = url::Url::parse(public_url).ok().and_then(|u| u.domain().map(str::to_owned));
        Self {
            smtp_url: None,
            ca_file: None,
            from: format!("Latchkey <latchkey@{}>", host.as_deref().unwrap_or("localhost")),
        }
    }
}

impl Config {
    /// The defaults of CONTRACT §1, for the given data dir.
    pub fn defaults(data_dir: PathBuf) -> Self {
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        Self {
            listen,
            database_url: default_database_url(&data_dir),
            data_dir,
            public_url: format!("http://localhost:{}", listen.port()),
            cookie_domain: None,
            trusted_proxies: Vec::new(),
            geoip_dbs: Vec::new(),
            secret_key: None,
            db_pool_size: 8,
            settings: Settings::default(),
            oauth_providers: Vec::new(),
            mail: MailConfig::for_public_url(&format!("http://localhost:{}", listen.port())),
        }
    }

    /// Whether the cookie must be `Secure`.
    /// Read on every cookie: a prefix test on the URL `resolve` normalised (lower-case
    /// scheme), not a parse.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL's origin (`https://id.example.com`, default port left out), which
    /// a browser's `Origin` header must equal for a cookie-authenticated write. Empty,
    /// so that nothing matches, for a URL that does not parse (refused at start anyway).
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.public_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
    }
}

pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("latchkey.db").display())
}
