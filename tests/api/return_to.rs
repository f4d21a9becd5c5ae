//! Back to the app (`?rd=` on the sign-in page) and `/step-up`, from the server's side:
//! only a path on the public URL is followed, never another origin; a signed-in browser
//! goes straight on; `/step-up` proves a second factor on the current session.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn sign_in_form(app: &TestApp, rd: &str) -> reqwest::Response {
    no_redirects()
        .post(app.url("/login"))
        .header("origin", &app.state.config.public_url)
        .form(&[("email", "ada@example.com"), ("password", PASSWORD), ("rd", rd)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_page_returns_to_its_own_origin_and_nowhere_else() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    let public = app.state.config.public_url.clone();
    let page = app.client.get(app.url(&format!("/?rd={}", encoded("/tokens?x=1")))).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"rd\""), "the form carries rd: {html}");

    let r = sign_in_form(&app, &format!("{public}/tokens?x=1")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("{public}/tokens?x=1"));
    for evil in
        ["https://evil.example/", "//evil.example", "https:evil.example", "javascript:alert(1)", "/\\evil.example"]
    {
        let r = sign_in_form(&app, evil).await;
        assert_eq!(r.headers()["location"], "/security", "{evil}");
    }
    let page = app.client.get(app.url(&format!("/?rd={}", encoded("https://evil.example/")))).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("evil.example"), "a foreign rd is not even carried");
}

#[tokio::test]
async fn a_signed_in_browser_goes_straight_on_and_a_stale_cookie_does_not_loop() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let rd = format!("{}/tokens", app.state.config.public_url);
    let url = app.url(&format!("/?rd={}", encoded(&rd)));
    let r = no_redirects().get(&url).header("cookie", format!("latchkey_session={token}")).send().await.unwrap();
    assert_eq!(r.headers()["location"], rd.as_str());
    let stale = no_redirects().get(&url).header("cookie", "latchkey_session=lk_ses_stale").send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::OK, "the sign-in page, not a bounce back to the app");
}

#[tokio::test]
async fn step_up_asks_for_a_code_on_the_current_session_and_returns() {
    let app = spawn_app().await;
    let public = app.state.config.public_url.clone();
    let token = app.signed_in_user("ada@example.com").await;
    let rd = format!("{public}/tokens");
    let step_up = app.url(&format!("/step-up?rd={}", encoded(&rd)));
    let out = no_redirects().get(&step_up).send().await.unwrap();
    assert_eq!(out.headers()["location"], format!("/?rd={}", encoded(&rd)), "signed out: sign in first");

    let cookie = format!("latchkey_session={token}");
    let none = app.client.get(&step_up).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(none.contains("has none yet") && none.contains("/security"), "no 2FA: told so");

    let (auth, _) = app.enable_totp(&token).await;
    let page = app.client.get(&step_up).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Authentication code") && page.contains(">Verify<") && page.contains(">Sign out<"));
    let sessions = app.get("/api/v1/me/sessions", &token).await.body;
    let csrf = app.state.secrets.csrf_token(sessions[0]["id"].as_str().unwrap());
    let post = |code: String| {
        no_redirects()
            .post(app.url("/step-up"))
            .header("cookie", &cookie)
            .header("origin", &public)
            .form(&[("csrf", csrf.clone()), ("code", code), ("rd", rd.clone())])
            .send()
    };
    assert_eq!(post("000000".into()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let r = post(app.next_code(&auth)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], rd.as_str());
    let amr = app.get("/api/v1/me/sessions", &token).await.body[0]["amr"].clone();
    assert_eq!(amr, json!(["pwd", "otp", "mfa"]), "the same session, raised");
}

#[tokio::test]
async fn an_app_on_another_host_is_a_return_address_once_the_operator_allows_its_origin() {
    let app =
        crate::helpers::spawn_app_with(|c| c.settings.return_origins = vec!["https://app.example.com".into()]).await;
    app.signup("ada@example.com", PASSWORD).await;
    let r = sign_in_form(&app, "https://app.example.com/reports?q=1").await;
    assert_eq!(r.headers()["location"], "https://app.example.com/reports?q=1");
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("form-action 'self' https://app.example.com;"), "Chromium follows the form there: {csp}");
    for still_not in ["https://evil.example/", "http://app.example.com/", "https://app.example.com.evil.example/"] {
        assert_eq!(sign_in_form(&app, still_not).await.headers()["location"], "/security", "{still_not}");
    }
    // Forward auth names the sign-in page for a request to the app.
    let r = no_redirects()
        .get(app.url("/auth/verify?redirect=true"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "app.example.com")
        .header("x-forwarded-uri", "/reports")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{}/?rd={}", app.state.config.public_url, encoded("https://app.example.com/reports")));
}
