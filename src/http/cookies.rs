//! The browser's cookies, named and set in one place. On an https public URL each takes
//! the `__Host-` prefix, which browsers accept only from a secure origin with `Path=/` and
//! no `Domain`, so neither a sibling subdomain nor a plain-http page can plant or overwrite
//! it. The one exception is the session cookie with `LATCHKEY_COOKIE_DOMAIN`: it is meant
//! for the apps on sibling subdomains and is named with `__Secure-` (secure origins only).

use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::config::Config;

#[derive(Debug, Clone, Copy)]
pub struct CookieName {
    plain: &'static str,
    host_only: &'static str,
}

impl CookieName {
    pub fn name(self, https: bool) -> &'static str {
        if https { self.host_only } else { self.plain }
    }
}

pub const SESSION_COOKIE: CookieName = CookieName { plain: "latchkey_session", host_only: "__Host-latchkey_session" };
/// The session cookie's name when it is shared with a cookie domain over https.
const SESSION_COOKIE_SHARED: &str = "__Secure-latchkey_session";
pub const TRUSTED_COOKIE: CookieName = CookieName { plain: "latchkey_trusted", host_only: "__Host-latchkey_trusted" };
/// Ties a provider sign-in to the browser that started it; only the callback reads it.
pub const OAUTH_COOKIE: CookieName = CookieName { plain: "latchkey_oauth", host_only: "__Host-latchkey_oauth" };
/// Remembers, across a sign-in, that the browser came for `/device`.
pub const DEVICE_COOKIE: CookieName = CookieName { plain: "latchkey_device", host_only: "__Host-latchkey_device" };
/// The second step's token: in the browser's cookie jar, never in the page.
pub const MFA_COOKIE: CookieName = CookieName { plain: "latchkey_mfa", host_only: "__Host-latchkey_mfa" };

/// The value of the cookie `name`, if the request carries it.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers).get(name).map(|c| c.value().to_owned())
}

/// The session cookie as this server sets it: its name, and its `Domain` when shared.
pub fn session_cookie(config: &Config) -> (&'static str, Option<&str>) {
    let https = config.is_https();
    match config.cookie_domain.as_deref() {
        Some(domain) if https => (SESSION_COOKIE_SHARED, Some(domain)),
        Some(domain) => (SESSION_COOKIE.plain, Some(domain)),
        None => (SESSION_COOKIE.name(https), None),
    }
}

/// The session token the browser presents, under the one name this server sets (a cookie
/// of another name could have been planted by a page this server does not control).
pub fn read_session(headers: &HeaderMap, config: &Config) -> Option<String> {
    read(headers, session_cookie(config).0)
}

/// `Set-Cookie` for the session (empty `token` and 0 seconds clear it).
pub fn set_session(config: &Config, token: &str, max_age_secs: i64) -> HeaderValue {
    let (name, domain) = session_cookie(config);
    build(name, token, max_age_secs, config.is_https(), domain)
}

/// `Set-Cookie` for one of the host-only cookies above.
pub fn set(config: &Config, name: CookieName, value: &str, max_age_secs: i64) -> HeaderValue {
    let https = config.is_https();
    build(name.name(https), value, max_age_secs, https, None)
}

/// HttpOnly and `Path=/` always. Lax, not Strict: an OpenID provider's redirect back is a
/// cross-site navigation, and under Strict neither the binding cookie nor the new session
/// would come along.
fn build(name: &str, value: &str, max_age_secs: i64, secure: bool, domain: Option<&str>) -> HeaderValue {
    let mut cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age_secs))
        .secure(secure);
    if let Some(domain) = domain {
        cookie = cookie.domain(domain.to_owned());
    }
    HeaderValue::from_str(&cookie.build().encoded().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(public_url: &str, domain: Option<&str>) -> Config {
        let mut c = Config::defaults(PathBuf::from("/tmp"));
        c.public_url = public_url.into();
        c.cookie_domain = domain.map(Into::into);
        c
    }

    fn parts(v: &HeaderValue) -> Vec<String> {
        v.to_str().unwrap().split("; ").map(str::to_owned).collect()
    }

    #[test]
    fn cookies_are_host_only_http_only_and_lax_and_prefixed_on_https() {
        let https = config("https://id.example.com", None);
        let set = parts(&set(&https, MFA_COOKIE, "tok", 60));
        for part in ["__Host-latchkey_mfa=tok", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=60", "Secure"] {
            assert!(set.iter().any(|p| p == part), "{part} in {set:?}");
        }
        assert!(!set.iter().any(|p| p.starts_with("Domain")));
        let plain = parts(&set_session(&config("http://localhost:8080", None), "", 0));
        assert!(plain.contains(&"latchkey_session=".to_owned()) && !plain.contains(&"Secure".to_owned()));
    }

    #[test]
    fn a_cookie_domain_shares_the_session_cookie_under_the_secure_prefix() {
        let shared = config("https://id.example.com", Some("example.com"));
        let set = parts(&set_session(&shared, "tok", 60));
        for part in ["__Secure-latchkey_session=tok", "Domain=example.com", "Secure", "HttpOnly"] {
            assert!(set.iter().any(|p| p == part), "{part} in {set:?}");
        }
        let mut headers = HeaderMap::new();
        headers
            .insert("cookie", HeaderValue::from_static("__Host-latchkey_session=old; __Secure-latchkey_session=new"));
        assert_eq!(read_session(&headers, &shared).as_deref(), Some("new"));
        let host_only = config("https://id.example.com", None);
        assert_eq!(read_session(&headers, &host_only).as_deref(), Some("old"), "only the name this server sets");
        let mut planted = HeaderMap::new();
        planted.insert("cookie", HeaderValue::from_static("latchkey_session=planted"));
        assert_eq!(read_session(&planted, &host_only), None, "an unprefixed cookie is not read on https");
    }
}
