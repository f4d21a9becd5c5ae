//! The browser's sessions (ASVS 7.2.4, 7.4.4, 3.3.1): a sign-in ends the session the old
//! cookie named, the second step's token lives in an HttpOnly cookie and nowhere else, every
//! cookie is `__Host-` on https (`__Secure-` with a cookie domain), and every signed-in page
//! can sign out.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

const OWNER: &str = "owner@example.com";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `Set-Cookie` lines of a response, as `name=value` plus attributes.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

fn cookie_pair(lines: &[String], name: &str) -> Option<String> {
    lines.iter().find(|l| l.starts_with(&format!("{name}="))).map(|l| l.split(';').next().unwrap().to_owned())
}

async fn sign_in_form(app: &TestApp, email: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = no_redirects()
        .post(app.url("/login"))
        .header("origin", &app.state.config.public_url)
        .form(&[("email", email), ("password", PASSWORD)]);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_sign_in_ends_the_session_the_browsers_old_cookie_named_whoever_it_belonged_to() {
    let app = spawn_app().await;
    app.signup(OWNER, PASSWORD).await;
    // A session planted in the victim's browser (the attacker's own account), or left there.
    let planted = app.signed_in_user("attacker@example.com").await;
    let r = sign_in_form(&app, OWNER, Some(&format!("latchkey_session={planted}"))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let fresh = cookie_pair(&set_cookies(&r), "latchkey_session").expect("a new session cookie");
    assert_ne!(fresh, format!("latchkey_session={planted}"));
    assert_eq!(app.get("/api/v1/me", &planted).await.status, StatusCode::UNAUTHORIZED, "the old session is over");
    let token = fresh.trim_start_matches("latchkey_session=");
    assert_eq!(app.get("/api/v1/me", token).await.body["email"], OWNER);
}

#[tokio::test]
async fn the_second_steps_token_travels_only_in_an_http_only_cookie() {
    let app = spawn_app().await;
    let token = app.signed_in_user(OWNER).await;
    let (auth, _) = app.enable_totp(&token).await;

    let first = sign_in_form(&app, OWNER, None).await;
    assert_eq!(first.status(), StatusCode::OK, "the second step");
    let cookies = set_cookies(&first);
    let line = cookies.iter().find(|l| l.starts_with("latchkey_mfa=")).expect("the second step's cookie");
    assert!(line.contains("HttpOnly") && line.contains("Max-Age=300"), "{line}");
    let mfa_cookie = cookie_pair(&cookies, "latchkey_mfa").unwrap();
    let page = first.text().await.unwrap();
    let mfa_token = mfa_cookie.trim_start_matches("latchkey_mfa=").to_owned();
    assert!(!page.contains(&mfa_token) && !page.contains("mfa_token"), "not in the page");

    // Another browser that learnt the code (but not the cookie) gets nowhere.
    let code = app.next_code(&auth);
    let post = |cookie: Option<String>, code: String| {
        let mut req = no_redirects()
            .post(app.url("/login/mfa"))
            .header("origin", &app.state.config.public_url)
            .form(&[("code", code), ("mfa_token", mfa_token.clone())]);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send()
    };
    let without = post(None, code.clone()).await.unwrap();
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED, "a token in the form is not read");
    let with = post(Some(mfa_cookie), code).await.unwrap();
    assert_eq!(with.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&with);
    assert!(cookie_pair(&cookies, "latchkey_session").is_some());
    assert_eq!(cookie_pair(&cookies, "latchkey_mfa").as_deref(), Some("latchkey_mfa="), "the step's cookie is cleared");
}

#[tokio::test]
async fn on_https_every_cookie_is_host_only_and_prefixed() {
    let app = spawn_app_with(|c| c.public_url = c.public_url.replace("http://", "https://")).await;
    let token = app.signed_in_user(OWNER).await;
    app.enable_totp(&token).await;
    let first = sign_in_form(&app, OWNER, None).await;
    let device = no_redirects().get(app.url("/device?user_code=BCDF-GHJK")).send().await.unwrap();
    for (r, name) in [(set_cookies(&first), "__Host-latchkey_mfa"), (set_cookies(&device), "__Host-latchkey_device")] {
        let line = r.iter().find(|l| l.starts_with(&format!("{name}="))).unwrap_or_else(|| panic!("{name} in {r:?}"));
        for part in ["Path=/", "Secure", "HttpOnly"] {
            assert!(line.split("; ").any(|p| p == part), "{part} in {line}");
        }
        assert!(!line.contains("Domain="), "{line}");
    }
}

#[tokio::test]
async fn a_cookie_domain_shares_the_session_with_sibling_apps_under_the_secure_prefix() {
    let app = spawn_app_with(|c| {
        c.public_url = "https://id.example.com".into();
        c.cookie_domain = Some("example.com".into());
    })
    .await;
    app.signup(OWNER, PASSWORD).await;
    let r = no_redirects()
        .post(app.url("/login"))
        .header("origin", "https://id.example.com")
        .form(&[("email", OWNER), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&r);
    let line = cookies.iter().find(|l| l.starts_with("__Secure-latchkey_session=")).expect("the shared cookie");
    assert!(line.contains("Domain=example.com") && line.contains("Secure"), "{line}");
    let session = cookie_pair(&cookies, "__Secure-latchkey_session").unwrap();
    // What an app on app.example.com forwards: the proxy's verify call sees the cookie.
    let verify = app.client.get(app.url("/auth/verify")).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(verify.status(), StatusCode::OK);
    let host_only = session.replace("__Secure-", "__Host-");
    let other = app.client.get(app.url("/auth/verify")).header(COOKIE, host_only).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED, "only the name this server sets");
}

#[tokio::test]
async fn the_tokens_and_device_pages_can_sign_out() {
    let app = spawn_app().await;
    let token = app.signed_in_user(OWNER).await;
    for path in ["/tokens", "/device"] {
        let page =
            no_redirects().get(app.url(path)).header(COOKIE, format!("latchkey_session={token}")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(page.headers().get(LOCATION).is_none());
        let html = page.text().await.unwrap();
        assert!(html.contains("action=\"/logout\"") && html.contains(">Sign out</button>"), "{path}: {html}");
    }
}
