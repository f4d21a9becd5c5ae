//! Configuration: flags beat `LATCHKEY_*` variables (clap reads both), which beat
//! `latchkey.toml`, which beats the defaults. Everything is checked here, at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::Duration;
use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::oauth::ProviderId;
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
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub public_url: String,
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
    fn for_public_url(public_url: &str) -> Self {
        let host = url::Url::parse(public_url).ok().and_then(|u| u.domain().map(str::to_owned));
        Self {
            smtp_url: None,
            ca_file: None,
            from: format!("Latchkey <latchkey@{}>", host.as_deref().unwrap_or("localhost")),
        }
    }
}

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
    fn resolve(self) -> anyhow::Result<OAuthProviderConfig> {
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

impl Config {
    /// The defaults of CONTRACT §1, for the given data dir.
    pub fn defaults(data_dir: PathBuf) -> Self {
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        Self {
            listen,
            database_url: default_database_url(&data_dir),
            data_dir,
            public_url: format!("http://localhost:{}", listen.port()),
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

/// An origin a browser may be sent back to: `scheme://host[:port]`, http or https, nothing
/// more (a path or a trailing part would suggest a check that is not made).
fn return_origin(text: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(text.trim()).map_err(|e| anyhow::anyhow!("return origin {text:?}: {e}"))?;
    let origin = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || origin != text.trim().trim_end_matches('/') {
        anyhow::bail!("return origin {text:?} must be only a scheme and host, such as https://app.example.com");
    }
    Ok(origin)
}

pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("latchkey.db").display())
}

/// `latchkey.toml`: every key optional, unknown keys refused so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<Vec<IpNet>>,
    pub geoip_db: Option<Vec<PathBuf>>,
    pub signup: Option<bool>,
    pub trusted_device_days: Option<u32>,
    pub reauth_minutes: Option<u32>,
    pub session_idle_days: Option<u32>,
    pub session_absolute_days: Option<u32>,
    pub login_history_days: Option<u32>,
    pub totp_issuer: Option<String>,
    pub api_token_default_days: Option<u32>,
    pub api_token_max_days: Option<u32>,
    pub db_pool_size: Option<u32>,
    pub default_workspace_plan: Option<String>,
    pub webauthn_plans: Option<String>,
    pub return_origins: Option<Vec<String>>,
    pub smtp_url: Option<String>,
    pub smtp_ca_file: Option<PathBuf>,
    pub mail_from: Option<String>,
    pub oauth: Option<OAuthSection>,
}

impl FileConfig {
    /// Reads `path`; `required` is false for the implicit `./latchkey.toml`.
    pub fn load(path: &Path, required: bool) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }
}

/// What flags and environment gave; `None` means "not given", so the file may fill it.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<Vec<IpNet>>,
    pub geoip_db: Option<Vec<PathBuf>>,
    pub signup: Option<bool>,
    pub trusted_device_days: Option<u32>,
    pub reauth_minutes: Option<u32>,
    pub session_idle_days: Option<u32>,
    pub session_absolute_days: Option<u32>,
    pub login_history_days: Option<u32>,
    pub api_token_default_days: Option<u32>,
    pub api_token_max_days: Option<u32>,
    pub db_pool_size: Option<u32>,
    pub default_workspace_plan: Option<String>,
    pub webauthn_plans: Option<String>,
    pub return_origins: Option<Vec<String>>,
    pub smtp_url: Option<SecretString>,
    pub smtp_ca_file: Option<PathBuf>,
    pub mail_from: Option<String>,
    pub secret_key: Option<SecretString>,
}

pub fn resolve(o: Overrides, f: FileConfig) -> anyhow::Result<Config> {
    let data_dir = o.data_dir.or(f.data_dir).unwrap_or_else(|| PathBuf::from("./latchkey-data"));
    let mut c = Config::defaults(data_dir);
    c.listen = o.listen.or(f.listen).unwrap_or(c.listen);
    c.database_url = o.database_url.or(f.database_url).unwrap_or(c.database_url);
    c.public_url = o
        .public_url
        .or(f.public_url)
        .unwrap_or_else(|| format!("http://localhost:{}", c.listen.port()))
        .trim_end_matches('/')
        .to_owned();
    match url::Url::parse(&c.public_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            c.public_url = u.as_str().trim_end_matches('/').to_owned();
        }
        _ => anyhow::bail!("public_url {:?} must be an http(s) URL with a host", c.public_url),
    }
    c.mail = MailConfig::for_public_url(&c.public_url);
    c.mail.smtp_url = o.smtp_url.or_else(|| f.smtp_url.map(SecretString::from));
    c.mail.ca_file = o.smtp_ca_file.or(f.smtp_ca_file);
    if let Some(from) = o.mail_from.or(f.mail_from) {
        c.mail.from = from;
    }
    c.trusted_proxies = o.trusted_proxies.or(f.trusted_proxies).unwrap_or_default();
    c.geoip_dbs = o.geoip_db.or(f.geoip_db).unwrap_or_default();
    c.secret_key = o.secret_key;
    // SQLite serialises writers anyway; PostgreSQL gets enough for concurrent readers
    // without crowding a server that several instances share.
    let pool_default = if c.database_url.starts_with("sqlite:") { 8 } else { 16 };
    c.db_pool_size = positive("db_pool_size", o.db_pool_size.or(f.db_pool_size), pool_default)?;
    for provider in f.oauth.unwrap_or_default().providers {
        let provider = provider.resolve()?;
        if c.oauth_providers.iter().any(|p| p.id == provider.id) {
            anyhow::bail!("oauth provider {} is configured twice", provider.id.as_str());
        }
        c.oauth_providers.push(provider);
    }

    let s = &mut c.settings;
    s.signup_open = o.signup.or(f.signup).unwrap_or(s.signup_open);
    if let Some(plan) = o.default_workspace_plan.or(f.default_workspace_plan) {
        s.default_workspace_plan =
            Plan::parse(&plan).ok_or_else(|| anyhow::anyhow!("default_workspace_plan must be free or team"))?;
    }
    if let Some(plans) = o.webauthn_plans.or(f.webauthn_plans) {
        s.webauthn_plans =
            WebauthnPlans::parse(&plans).ok_or_else(|| anyhow::anyhow!("webauthn_plans must be team or all"))?;
    }
    if let Some(origins) = o.return_origins.or(f.return_origins) {
        s.return_origins = origins.iter().map(|o| return_origin(o)).collect::<anyhow::Result<_>>()?;
    }
    s.trusted_device_days =
        positive("trusted_device_days", o.trusted_device_days.or(f.trusted_device_days), s.trusted_device_days)?;
    let reauth = positive("reauth_minutes", o.reauth_minutes.or(f.reauth_minutes), 10)?;
    s.reauth_window = Duration::minutes(reauth.into());
    let idle = positive("session_idle_days", o.session_idle_days.or(f.session_idle_days), 14)?;
    let absolute = positive("session_absolute_days", o.session_absolute_days.or(f.session_absolute_days), 90)?;
    if idle > absolute {
        anyhow::bail!("session_idle_days ({idle}) cannot exceed session_absolute_days ({absolute})");
    }
    s.session.idle = Duration::days(idle.into());
    s.session.absolute = Duration::days(absolute.into());
    s.login_history_days =
        positive("login_history_days", o.login_history_days.or(f.login_history_days), s.login_history_days)?;
    if let Some(issuer) = f.totp_issuer {
        s.totp_issuer = issuer;
    }
    s.api_token_max_days =
        positive("api_token_max_days", o.api_token_max_days.or(f.api_token_max_days), s.api_token_max_days)?;
    s.api_token_default_days = positive(
        "api_token_default_days",
        o.api_token_default_days.or(f.api_token_default_days),
        s.api_token_default_days,
    )?;
    if s.api_token_default_days > s.api_token_max_days {
        anyhow::bail!("api_token_default_days cannot exceed api_token_max_days ({})", s.api_token_max_days);
    }

    if !(c.public_url.starts_with("http://") || c.public_url.starts_with("https://")) {
        anyhow::bail!("public URL {:?} must start with http:// or https://", c.public_url);
    }
    if !(c.database_url.starts_with("sqlite:")
        || c.database_url.starts_with("postgres:")
        || c.database_url.starts_with("postgresql:"))
    {
        anyhow::bail!("database URL must start with sqlite:// or postgres://");
    }
    Ok(c)
}

fn positive(name: &str, given: Option<u32>, default: u32) -> anyhow::Result<u32> {
    match given {
        Some(0) => anyhow::bail!("{name} must be at least 1"),
        Some(v) => Ok(v),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file: FileConfig = toml::from_str("listen = \"0.0.0.0:9000\"\nsignup = false\nreauth_minutes = 5").unwrap();
        let flags = Overrides { reauth_minutes: Some(3), ..Default::default() };
        let c = resolve(flags, file).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert!(!c.settings.signup_open);
        assert_eq!(c.settings.reauth_window, Duration::minutes(3));
        assert_eq!(c.public_url, "http://localhost:9000");
        assert_eq!(c.database_url, "sqlite://./latchkey-data/latchkey.db");
    }

    #[test]
    fn return_origins_are_bare_origins() {
        let file: FileConfig = toml::from_str("return_origins = [\"https://app.example.com\"]").unwrap();
        assert_eq!(resolve(Overrides::default(), file).unwrap().settings.return_origins, ["https://app.example.com"]);
        for bad in ["https://app.example.com/path", "javascript:alert(1)", "app.example.com", "ftp://app.example.com"] {
            let flags = Overrides { return_origins: Some(vec![bad.into()]), ..Default::default() };
            assert!(resolve(flags, FileConfig::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonsense_is_refused_at_start() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let bad = Overrides { session_idle_days: Some(100), ..Default::default() };
        assert!(resolve(bad, FileConfig::default()).is_err());
        let bad = Overrides { database_url: Some("mysql://x".into()), ..Default::default() };
        assert!(resolve(bad, FileConfig::default()).is_err());
        let bad = Overrides { reauth_minutes: Some(0), ..Default::default() };
        assert!(resolve(bad, FileConfig::default()).is_err());
        let upper = Overrides { public_url: Some("HTTPS://ID.Example.com:443/".into()), ..Default::default() };
        let c = resolve(upper, FileConfig::default()).unwrap();
        assert_eq!(c.public_url, "https://id.example.com", "normalised once, at start");
        assert!(c.is_https());
        for url in ["id.example.com", "ftp://id.example.com", "https://"] {
            let bad = Overrides { public_url: Some(url.into()), ..Default::default() };
            assert!(resolve(bad, FileConfig::default()).is_err(), "{url}");
        }
        let default_db = Overrides { database_url: None, ..Default::default() };
        let wrong = Overrides { default_workspace_plan: Some("enterprise".into()), ..default_db };
        assert!(resolve(wrong, FileConfig::default()).is_err());
        let bad = Overrides { api_token_default_days: Some(400), ..Default::default() };
        assert!(resolve(bad, FileConfig::default()).is_err());
    }

    #[test]
    fn oauth_providers_come_from_the_file() {
        let text = r#"
[[oauth.providers]]
id = "corp"
name = "Corp SSO"
issuer = "https://sso.example.com"
client_id = "latchkey"
client_secret = "s3cret"
"#;
        let c = resolve(Overrides::default(), toml::from_str(text).unwrap()).unwrap();
        let p = &c.oauth_providers[0];
        assert_eq!((p.id.as_str(), p.name.as_str(), p.scopes.len()), ("corp", "Corp SSO", 2));

        let twice = format!("{text}{text}");
        assert!(resolve(Overrides::default(), toml::from_str(&twice).unwrap()).is_err());
        let no_secret = text.replace("client_secret = \"s3cret\"", "");
        assert!(resolve(Overrides::default(), toml::from_str(&no_secret).unwrap()).is_err());
        let bad_id = text.replace("\"corp\"", "\"Corp SSO\"");
        assert!(resolve(Overrides::default(), toml::from_str(&bad_id).unwrap()).is_err());
        assert!(toml::from_str::<FileConfig>("[[oauth.providers]]\nid = \"x\"\nsecret = 1").is_err());
    }
}
