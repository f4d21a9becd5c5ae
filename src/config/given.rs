//! Every setting, declared once: clap fills a [`Given`] from flags and `LATCHKEY_*`
//! variables, serde fills another from `latchkey.toml`, and [`Given::over`] lays the first
//! over the second. A new setting is one field here (its flag, variable and TOML key come
//! from that field) and its check in `resolve`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::oauth::OAuthSection;

/// What the operator gave; `None` is "not given" (a lower source or the default decides).
/// The field's name is the TOML key; every flag is accepted by every command.
#[derive(Debug, Default, Clone, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// sqlite://PATH or postgres://... (default sqlite in the data dir)
    #[arg(long = "database", env = "LATCHKEY_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the embedded database and generated keys live (default ./latchkey-data)
    #[arg(long, env = "LATCHKEY_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080)
    #[arg(long, env = "LATCHKEY_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// The URL people reach Latchkey at (default http://localhost:PORT)
    #[arg(long, env = "LATCHKEY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// A proxy range whose X-Forwarded-For is believed; repeatable
    #[arg(long = "trusted-proxy", env = "LATCHKEY_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Option<Vec<IpNet>>,
    /// A MaxMind/DB-IP .mmdb file for locations; repeatable
    #[arg(long = "geoip-db", env = "LATCHKEY_GEOIP_DB", value_delimiter = ',', global = true)]
    pub geoip_db: Option<Vec<PathBuf>>,
    /// Whether anyone may sign up (default true)
    #[arg(long, env = "LATCHKEY_SIGNUP", global = true)]
    pub signup: Option<bool>,
    /// Days a remembered device skips 2FA (default 30)
    #[arg(long, env = "LATCHKEY_TRUSTED_DEVICE_DAYS", global = true)]
    pub trusted_device_days: Option<u32>,
    /// Minutes a sign-in counts as recent for sensitive actions (default 10)
    #[arg(long, env = "LATCHKEY_REAUTH_MINUTES", global = true)]
    pub reauth_minutes: Option<u32>,
    /// Days an unused session lives (default 14)
    #[arg(long, env = "LATCHKEY_SESSION_IDLE_DAYS", global = true)]
    pub session_idle_days: Option<u32>,
    /// Days any session lives (default 90)
    #[arg(long, env = "LATCHKEY_SESSION_ABSOLUTE_DAYS", global = true)]
    pub session_absolute_days: Option<u32>,
    /// Days login history is kept (default 90)
    #[arg(long, env = "LATCHKEY_LOGIN_HISTORY_DAYS", global = true)]
    pub login_history_days: Option<u32>,
    /// The issuer an authenticator app shows beside the account (default Latchkey)
    #[arg(long, env = "LATCHKEY_TOTP_ISSUER", global = true)]
    pub totp_issuer: Option<String>,
    /// Days an API token lives when created without an expiry (default 90)
    #[arg(long, env = "LATCHKEY_API_TOKEN_DEFAULT_DAYS", global = true)]
    pub api_token_default_days: Option<u32>,
    /// The longest lifetime an API token may ask for (default 365)
    #[arg(long, env = "LATCHKEY_API_TOKEN_MAX_DAYS", global = true)]
    pub api_token_max_days: Option<u32>,
    /// Database connections per instance (default 8 on SQLite, 16 on PostgreSQL)
    #[arg(long, env = "LATCHKEY_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
    /// The plan of workspaces made through the API (default free)
    #[arg(long, env = "LATCHKEY_DEFAULT_WORKSPACE_PLAN", value_parser = ["free", "team"], global = true)]
    pub default_workspace_plan: Option<String>,
    /// Who may add security keys and passkeys: members of a team-plan workspace, or all
    #[arg(long, env = "LATCHKEY_WEBAUTHN_PLANS", value_parser = ["team", "all"], global = true)]
    pub webauthn_plans: Option<String>,
    /// Origins besides the public URL's that sign-in may return a browser to (rd)
    #[arg(long = "return-origin", env = "LATCHKEY_RETURN_ORIGINS", value_delimiter = ',', global = true)]
    pub return_origins: Option<Vec<String>>,
    /// A domain such as example.com whose subdomains' apps see the session cookie (default: host-only)
    #[arg(long, env = "LATCHKEY_COOKIE_DOMAIN", global = true)]
    pub cookie_domain: Option<String>,
    /// Password rules: classes (SPEC.md's) or length (NIST SP 800-63B rev 4: 15 characters, no composition rules)
    #[arg(long, env = "LATCHKEY_PASSWORD_RULES", value_parser = ["classes", "length"], global = true)]
    pub password_rules: Option<String>,
    /// Require a second factor of every account: off or on (default off)
    #[arg(long = "require-2fa", env = "LATCHKEY_REQUIRE_2FA", value_parser = ["off", "on"], global = true)]
    pub require_2fa: Option<String>,
    /// From when `require_2fa` holds, RFC 3339 (default: at once)
    #[arg(long = "require-2fa-from", env = "LATCHKEY_REQUIRE_2FA_FROM", global = true)]
    pub require_2fa_from: Option<String>,
    /// Mail server in lettre's URL form: smtp://host:25, smtp://user:pass@host:587?tls=required,
    /// smtps://user:pass@host:465 (default: none, messages are written to {data_dir}/outbox/)
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// A private CA's certificate (PEM) to trust for the mail server's TLS
    #[arg(long, env = "LATCHKEY_SMTP_CA_FILE", global = true)]
    pub smtp_ca_file: Option<PathBuf>,
    /// The From of every message (default "Latchkey <latchkey@{public URL's host}>")
    #[arg(long, env = "LATCHKEY_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
}

impl Given {
    /// `self` (flags and environment) over `lower` (the file): each setting from the first
    /// source that gives it. One rule for every field, so none can be forgotten.
    pub fn over(self, lower: Self) -> anyhow::Result<Self> {
        let (serde_json::Value::Object(upper), serde_json::Value::Object(mut merged)) =
            (serde_json::to_value(self)?, serde_json::to_value(lower)?)
        else {
            anyhow::bail!("settings are not a table");
        };
        for (key, value) in upper {
            if !value.is_null() {
                merged.insert(key, value);
            }
        }
        Ok(serde_json::from_value(serde_json::Value::Object(merged))?)
    }
}

/// `latchkey.toml`: the settings above as top-level keys, and `[[oauth.providers]]`.
/// Unknown keys are refused, so that a typo does not pass silently.
#[derive(Debug, Default)]
pub struct FileConfig {
    pub given: Given,
    pub oauth: OAuthSection,
}

impl FileConfig {
    /// Reads `path`; `required` is false for the implicit `./latchkey.toml`.
    pub fn load(path: &Path, required: bool) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        // serde cannot both flatten and refuse unknown keys: the one table is split here.
        let mut table: toml::Table = toml::from_str(text)?;
        let oauth = match table.remove("oauth") {
            Some(section) => section.try_into()?,
            None => OAuthSection::default(),
        };
        Ok(Self { given: table.try_into()?, oauth })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_setting_beats_the_lower_source_and_an_absent_one_does_not() {
        let flags = Given { reauth_minutes: Some(3), ..Given::default() };
        let file = Given { reauth_minutes: Some(5), listen: Some("0.0.0.0:9000".parse().unwrap()), ..Given::default() };
        let merged = flags.over(file).unwrap();
        assert_eq!(merged.reauth_minutes, Some(3));
        assert_eq!(merged.listen, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(merged.signup, None);
    }

    #[test]
    fn every_setting_is_a_toml_key_and_unknown_keys_are_refused() {
        let file = FileConfig::parse("signup = false\ntotp_issuer = \"Acme\"\n[[oauth.providers]]\nid = \"x\"\nname = \"X\"\nissuer = \"https://x.example\"\nclient_id = \"c\"\nclient_secret = \"s\"").unwrap();
        assert_eq!((file.given.signup, file.given.totp_issuer.as_deref()), (Some(false), Some("Acme")));
        assert_eq!(file.oauth.providers.len(), 1);
        assert!(FileConfig::parse("lisen = \"x\"").is_err());
        assert!(FileConfig::parse("[[oauth.providers]]\nid = \"x\"\nsecret = 1").is_err());
    }
}
