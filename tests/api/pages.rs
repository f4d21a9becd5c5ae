//! The web pages, from the server's side (the browser tests cover the journey).

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_stale_session_cookie_is_cleared_instead_of_looping() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = client.get(app.url("/security")).header("cookie", "latchkey_session=lk_ses_stale").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("latchkey_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn the_sign_in_page_names_its_fields_and_forbids_framing() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    for label in [">Email<", ">Password<", "Remember this device", ">Sign in<"] {
        assert!(html.contains(label), "{label} missing");
    }
    assert!(!html.contains("<script>"), "no inline script");
}
