//! From what was given to a checked [`Config`]: defaults filled in, values parsed, and
//! nonsense refused at start with the setting's name.

use std::path::PathBuf;

use chrono::Duration;
use secrecy::SecretString;

use super::given::Given;
use super::oauth::OAuthSection;
use super::{Config, MailConfig};
use crate::domain::enrolment::RequiredEnrolment;
use crate::domain::password::Rules as PasswordRules;
use crate::domain::workspace::{Plan, WebauthnPlans};

/// Checks and completes what was given, at start.
pub fn resolve(g: Given, oauth: OAuthSection, secret_key: Option<SecretString>) -> anyhow::Result<Config> {
    let data_dir = g.data_dir.unwrap_or_else(|| PathBuf::from("./latchkey-data"));
    let mut c = Config::defaults(data_dir);
    c.listen = g.listen.unwrap_or(c.listen);
    c.database_url = g.database_url.unwrap_or(c.database_url);
    c.public_url = g
        .public_url
        .unwrap_or_else(|| format!("http://localhost:{}", c.listen.port()))
        .trim_end_matches('/')
        .to_owned();
    match url::Url::parse(&c.public_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            c.public_url = u.as_str().trim_end_matches('/').to_owned();
        }
        _ => anyhow::bail!("public_url {:?} must be an http(s) URL with a host", c.public_url),
    }
    c.cookie_domain = g.cookie_domain.map(|d| cookie_domain(&d, &c.public_url)).transpose()?;
    c.mail = MailConfig::for_public_url(&c.public_url);
    c.mail.smtp_url = g.smtp_url.map(SecretString::from);
    c.mail.ca_file = g.smtp_ca_file;
    if let Some(from) = g.mail_from {
        c.mail.from = from;
    }
    c.trusted_proxies = g.trusted_proxies.unwrap_or_default();
    c.geoip_dbs = g.geoip_db.unwrap_or_default();
    c.secret_key = secret_key;
    // SQLite serialises writers anyway; PostgreSQL gets enough for concurrent readers
    // without crowding a server that several instances share.
    let pool_default = if c.database_url.starts_with("sqlite:") { 8 } else { 16 };
    c.db_pool_size = positive("db_pool_size", g.db_pool_size, pool_default)?;
    for provider in oauth.providers {
        let provider = provider.resolve()?;
        if c.oauth_providers.iter().any(|p| p.id == provider.id) {
            anyhow::bail!("oauth provider {} is configured twice", provider.id.as_str());
        }
        c.oauth_providers.push(provider);
    }

    let s = &mut c.settings;
    s.signup_open = g.signup.unwrap_or(s.signup_open);
    if let Some(plan) = g.default_workspace_plan {
        s.default_workspace_plan =
            Plan::parse(&plan).ok_or_else(|| anyhow::anyhow!("default_workspace_plan must be free or team"))?;
    }
    if let Some(plans) = g.webauthn_plans {
        s.webauthn_plans =
            WebauthnPlans::parse(&plans).ok_or_else(|| anyhow::anyhow!("webauthn_plans must be team or all"))?;
    }
    if let Some(origins) = g.return_origins {
        s.return_origins = origins.iter().map(|o| return_origin(o)).collect::<anyhow::Result<_>>()?;
    }
    if let Some(rules) = g.password_rules {
        s.password_rules =
            PasswordRules::parse(&rules).ok_or_else(|| anyhow::anyhow!("password_rules must be classes or length"))?;
    }
    s.required_enrolment = required_enrolment(g.require_2fa.as_deref(), g.require_2fa_from.as_deref())?;
    s.trusted_device_days = positive("trusted_device_days", g.trusted_device_days, s.trusted_device_days)?;
    let reauth = positive("reauth_minutes", g.reauth_minutes, 10)?;
    s.reauth_window = Duration::minutes(reauth.into());
    let idle = positive("session_idle_days", g.session_idle_days, 14)?;
    let absolute = positive("session_absolute_days", g.session_absolute_days, 90)?;
    if idle > absolute {
        anyhow::bail!("session_idle_days ({idle}) cannot exceed session_absolute_days ({absolute})");
    }
    s.session.idle = Duration::days(idle.into());
    s.session.absolute = Duration::days(absolute.into());
    s.login_history_days = positive("login_history_days", g.login_history_days, s.login_history_days)?;
    if let Some(issuer) = g.totp_issuer {
        s.totp_issuer = issuer;
    }
    s.api_token_max_days = positive("api_token_max_days", g.api_token_max_days, s.api_token_max_days)?;
    s.api_token_default_days = positive("api_token_default_days", g.api_token_default_days, s.api_token_default_days)?;
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

/// A cookie domain must be the public URL's host or a parent of it, or browsers drop the
/// cookie; a leading dot is the old spelling of the same.
fn cookie_domain(text: &str, public_url: &str) -> anyhow::Result<String> {
    let domain = text.trim().trim_start_matches('.').to_ascii_lowercase();
    let host = url::Url::parse(public_url).ok().and_then(|u| u.domain().map(str::to_owned)).unwrap_or_default();
    let covers = host == domain || host.ends_with(&format!(".{domain}"));
    if domain.is_empty() || !domain.contains('.') && domain != "localhost" || !covers {
        anyhow::bail!("cookie_domain {text:?} must be the public URL's host ({host}) or a domain above it");
    }
    Ok(domain)
}

/// `require_2fa` and its deadline (`require_2fa_from`, RFC 3339; without it, at once).
fn required_enrolment(on: Option<&str>, from: Option<&str>) -> anyhow::Result<RequiredEnrolment> {
    let deadline = match from {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text.trim())
            .map_err(|e| anyhow::anyhow!("require_2fa_from {text:?} must be an RFC 3339 time: {e}"))?
            .with_timezone(&chrono::Utc),
        None => chrono::DateTime::<chrono::Utc>::MIN_UTC,
    };
    match on.unwrap_or("off") {
        "off" if from.is_some() => anyhow::bail!("require_2fa_from needs require_2fa = \"on\""),
        "off" => Ok(RequiredEnrolment::Off),
        "on" => Ok(RequiredEnrolment::From(deadline)),
        other => anyhow::bail!("require_2fa must be off or on, not {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;

    fn resolve_file(text: &str) -> anyhow::Result<Config> {
        let file = FileConfig::parse(text)?;
        resolve(file.given, file.oauth, None)
    }

    fn resolve_given(g: Given) -> anyhow::Result<Config> {
        resolve(g, OAuthSection::default(), None)
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file = FileConfig::parse("listen = \"0.0.0.0:9000\"\nsignup = false\nreauth_minutes = 5").unwrap();
        let flags = Given { reauth_minutes: Some(3), ..Default::default() };
        let c = resolve_given(flags.over(file.given).unwrap()).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert!(!c.settings.signup_open);
        assert_eq!(c.settings.reauth_window, Duration::minutes(3));
        assert_eq!(c.public_url, "http://localhost:9000");
        assert_eq!(c.database_url, "sqlite://./latchkey-data/latchkey.db");
    }

    #[test]
    fn return_origins_are_bare_origins() {
        let c = resolve_file("return_origins = [\"https://app.example.com\"]").unwrap();
        assert_eq!(c.settings.return_origins, ["https://app.example.com"]);
        for bad in ["https://app.example.com/path", "javascript:alert(1)", "app.example.com", "ftp://app.example.com"] {
            let flags = Given { return_origins: Some(vec![bad.into()]), ..Default::default() };
            assert!(resolve_given(flags).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonsense_is_refused_at_start() {
        let bad = Given { session_idle_days: Some(100), ..Default::default() };
        assert!(resolve_given(bad).is_err());
        let bad = Given { database_url: Some("mysql://x".into()), ..Default::default() };
        assert!(resolve_given(bad).is_err());
        let bad = Given { reauth_minutes: Some(0), ..Default::default() };
        assert!(resolve_given(bad).is_err());
        let upper = Given { public_url: Some("HTTPS://ID.Example.com:443/".into()), ..Default::default() };
        let c = resolve_given(upper).unwrap();
        assert_eq!(c.public_url, "https://id.example.com", "normalised once, at start");
        assert!(c.is_https());
        for url in ["id.example.com", "ftp://id.example.com", "https://"] {
            let bad = Given { public_url: Some(url.into()), ..Default::default() };
            assert!(resolve_given(bad).is_err(), "{url}");
        }
        let default_db = Given { database_url: None, ..Default::default() };
        let wrong = Given { default_workspace_plan: Some("enterprise".into()), ..default_db };
        assert!(resolve_given(wrong).is_err());
        let bad = Given { api_token_default_days: Some(400), ..Default::default() };
        assert!(resolve_given(bad).is_err());
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
        let c = resolve_file(text).unwrap();
        let p = &c.oauth_providers[0];
        assert_eq!((p.id.as_str(), p.name.as_str(), p.scopes.len()), ("corp", "Corp SSO", 2));

        let twice = format!("{text}{text}");
        assert!(resolve_file(&twice).is_err());
        let no_secret = text.replace("client_secret = \"s3cret\"", "");
        assert!(resolve_file(&no_secret).is_err());
        let bad_id = text.replace("\"corp\"", "\"Corp SSO\"");
        assert!(resolve_file(&bad_id).is_err());
    }

    #[test]
    fn required_enrolment_has_an_optional_rfc_3339_deadline() {
        let on = |from: Option<&str>| Given {
            require_2fa: Some("on".into()),
            require_2fa_from: from.map(Into::into),
            ..Default::default()
        };
        let at_once = resolve_given(on(None)).unwrap().settings.required_enrolment;
        assert!(at_once.holds(false, chrono::Utc::now()));
        let later = resolve_given(on(Some("2099-01-01T00:00:00Z"))).unwrap().settings.required_enrolment;
        assert!(!later.holds(false, chrono::Utc::now()));
        assert!(resolve_given(on(Some("next monday"))).is_err());
        let deadline_alone = Given { require_2fa_from: Some("2099-01-01T00:00:00Z".into()), ..Default::default() };
        assert!(resolve_given(deadline_alone).is_err());
        assert_eq!(resolve_given(Given::default()).unwrap().settings.required_enrolment, RequiredEnrolment::Off);
    }

    #[test]
    fn a_cookie_domain_must_cover_the_public_urls_host() {
        let at = |url: &str, domain: &str| {
            resolve_given(Given {
                public_url: Some(url.into()),
                cookie_domain: Some(domain.into()),
                ..Default::default()
            })
        };
        assert_eq!(at("https://id.example.com", ".Example.com").unwrap().cookie_domain.as_deref(), Some("example.com"));
        assert!(at("https://id.example.com", "id.example.com").is_ok());
        for bad in ["other.com", "com", "ample.com", ""] {
            assert!(at("https://id.example.com", bad).is_err(), "{bad}");
        }
    }
}
