//! A real OpenID provider for the sign-in tests, and a browser to walk its redirects.
//!
//! The provider is panva/oidc-provider (tests/oidc/provider.mjs), started once per test
//! run on loopback. Its sign-in form takes the account to be as fields, so each test
//! chooses what the provider vouches for.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use latchkey::config::{Config, OAuthProviderConfig};
use latchkey::domain::oauth::ProviderId;
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};

use crate::helpers::{TestApp, spawn_app_with};

pub const PROVIDER_ID: &str = "test";
pub const PROVIDER_NAME: &str = "Test ID";

/// The provider's issuer URL; the first call starts it.
pub fn issuer() -> &'static str {
    static ISSUER: OnceLock<String> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
        if !std::path::Path::new(dir).join("node_modules/oidc-provider").exists() {
            let ok = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--silent"])
                .current_dir(dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "npm ci in tests/oidc failed: the OpenID provider tests need node and npm");
        }
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Its warnings and any crash, for when a test here fails.
            .stderr(
                std::fs::File::create(std::env::temp_dir().join("latchkey-oidc-provider.log"))
                    .map_or_else(|_| Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("node must be installed to run the OpenID provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("provider output");
        let issuer = line.trim().strip_prefix("issuer=").expect("the provider prints its issuer").to_owned();
        // Its stdin stays open for as long as this process lives; at exit it closes and
        // the provider stops.
        std::mem::forget(child);
        issuer
    })
}

pub fn provider_config() -> OAuthProviderConfig {
    OAuthProviderConfig {
        id: ProviderId::parse(PROVIDER_ID).unwrap(),
        name: PROVIDER_NAME.into(),
        issuer: issuer().to_owned(),
        client_id: "latchkey".into(),
        client_secret: "latchkey-test-secret".into(),
        scopes: vec!["email".into(), "profile".into()],
    }
}

pub async fn spawn_app_with_provider(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|c| {
        c.oauth_providers = vec![provider_config()];
        configure(c);
    })
    .await
}

/// Who the provider says the user is.
pub struct Person<'a> {
    pub sub: &'a str,
    pub email: &'a str,
    pub verified: bool,
}

/// A browser: its own cookie jar, redirects followed by hand so each step can be seen.
pub struct Browser {
    pub client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    app_url: String,
}

/// The app's answer on its callback URL.
pub struct Callback {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Callback {
    /// The session token the callback set, if it signed in.
    pub fn session_token(&self) -> Option<String> {
        self.set_cookies.iter().find_map(|c| {
            let v = c.strip_prefix("latchkey_session=")?.split(';').next()?;
            (!v.is_empty()).then(|| v.to_owned())
        })
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
            )
            .build()
            .unwrap();
        Self { client, jar, app_url: app.state.config.public_url.clone() }
    }

    /// This browser signed in to the app with `token`'s session.
    pub fn with_session(self, token: &str) -> Self {
        let url = Url::parse(&self.app_url).unwrap();
        self.jar.add_cookie_str(&format!("latchkey_session={token}; Path=/"), &url);
        self
    }

    /// From `GET /auth/oauth/test/start` to the provider's sign-in form; returns the
    /// form's interaction path.
    pub async fn start(&self) -> String {
        let r = self.client.get(format!("{}/auth/oauth/{PROVIDER_ID}/start", self.app_url)).send().await.unwrap();
        self.to_provider_form(r).await
    }

    /// The Security page's "Link" button (a CSRF-checked POST); returns the app's answer.
    pub async fn press_link(&self, csrf: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/security/providers/{PROVIDER_ID}/link", self.app_url))
            .header("origin", &self.app_url)
            .form(&[("csrf", csrf)])
            .send()
            .await
            .unwrap()
    }

    /// From the app's redirect to the provider to its sign-in form; returns the form's
    /// interaction path.
    pub async fn to_provider_form(&self, r: reqwest::Response) -> String {
        assert!(matches!(r.status().as_u16(), 302 | 303), "start answered {}", r.status());
        let to_provider = location(&r).unwrap();
        assert!(to_provider.starts_with(issuer()), "start must redirect to the provider: {to_provider}");
        let (url, r) = self.follow(&to_provider).await;
        assert_eq!(r.status(), StatusCode::OK, "the provider's sign-in form at {url}");
        Url::parse(&url).unwrap().path().to_owned()
    }

    /// Signs in at the provider as `person` and follows the redirects up to (not
    /// through) the app's callback; returns the callback URL.
    pub async fn sign_in_at_provider(&self, interaction: &str, person: &Person<'_>) -> String {
        let form = [
            ("sub", person.sub),
            ("email", person.email),
            ("email_verified", if person.verified { "true" } else { "false" }),
        ];
        let r = self.client.post(format!("{}{interaction}/login", issuer())).form(&form).send().await.unwrap();
        self.to_callback(r).await
    }

    /// Declines at the provider; returns the callback URL with the provider's error.
    pub async fn cancel_at_provider(&self, interaction: &str) -> String {
        let form = [("reason", "The user pressed Cancel")];
        let r = self.client.post(format!("{}{interaction}/abort", issuer())).form(&form).send().await.unwrap();
        self.to_callback(r).await
    }

    async fn to_callback(&self, mut r: reqwest::Response) -> String {
        for _ in 0..10 {
            let next = location(&r).unwrap_or_else(|| panic!("the provider stopped at {}: {}", r.url(), r.status()));
            let next = r.url().join(&next).unwrap().to_string();
            if next.starts_with(&self.app_url) {
                assert!(next.contains(&format!("/auth/oauth/{PROVIDER_ID}/callback?")), "{next}");
                return next;
            }
            r = self.client.get(&next).send().await.unwrap();
        }
        panic!("too many redirects at the provider");
    }

    pub async fn callback(&self, url: &str) -> Callback {
        let r = self.client.get(url).send().await.unwrap();
        Callback {
            status: r.status(),
            location: location(&r),
            set_cookies: r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect(),
            body: r.text().await.unwrap(),
        }
    }

    /// The whole dance: start, sign in at the provider as `person`, back to the app.
    pub async fn sign_in(&self, person: &Person<'_>) -> Callback {
        let interaction = self.start().await;
        let url = self.sign_in_at_provider(&interaction, person).await;
        self.callback(&url).await
    }

    async fn follow(&self, url: &str) -> (String, reqwest::Response) {
        let mut url = url.to_owned();
        for _ in 0..10 {
            let r = self.client.get(&url).send().await.unwrap();
            match location(&r) {
                Some(next) if r.status().is_redirection() => url = r.url().join(&next).unwrap().to_string(),
                _ => return (url, r),
            }
        }
        panic!("too many redirects from {url}");
    }
}

fn location(r: &reqwest::Response) -> Option<String> {
    r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned())
}
