//! Signing in through a provider: new accounts, the second factor, closed sign-up.

use super::*;

#[tokio::test]
async fn providers_are_listed_and_offered_on_the_sign_in_page() {
    let app = spawn_app_with_provider(|_| {}).await;
    let r = app.request(reqwest::Method::GET, "/api/v1/auth/providers", None, None).await;
    assert_eq!(r.body, json!([{"id": PROVIDER_ID, "name": PROVIDER_NAME}]));
    let page = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("href=\"/auth/oauth/{PROVIDER_ID}/start\"")), "{page}");
    assert!(page.contains(&format!("Continue with {PROVIDER_NAME}")));
}

#[tokio::test]
async fn start_sends_the_browser_with_pkce_state_and_nonce() {
    let app = spawn_app_with_provider(|_| {}).await;
    let browser = Browser::new(&app);
    let r = browser.client.get(format!("{}/auth/oauth/{PROVIDER_ID}/start", app.state.config.public_url));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43, "a SHA-256 challenge");
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16);
    assert_eq!(q["redirect_uri"], format!("{}/auth/oauth/{PROVIDER_ID}/callback", app.state.config.public_url));
    assert!(q["scope"].split(' ').any(|s| s == "openid") && q["scope"].contains("email"));
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("latchkey_oauth=lk_oab_") && cookie.contains("HttpOnly"), "{cookie}");

    let unknown = browser.client.get(format!("{}/auth/oauth/nope/start", app.state.config.public_url));
    let unknown = unknown.send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("no such sign-in provider"));
}

#[tokio::test]
async fn a_new_account_has_no_password_until_it_sets_one() {
    let app = spawn_app_with_provider(|_| {}).await;
    let back = Browser::new(&app).sign_in(&person("new-1", "newcomer@example.com")).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location.as_deref(), Some("/security"));
    let token = back.session_token().expect("a session cookie");

    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.body["email"], "newcomer@example.com");
    assert_eq!(me.body["has_password"], false);
    let history = app.get("/api/v1/me/login-history", &token).await.body;
    assert_eq!(history[0]["method"], format!("oauth:{PROVIDER_ID}"));
    assert_eq!(history[0]["success"], true);
    assert_eq!(history[0]["mfa_challenged"], false);
    let linked = app.get("/api/v1/me/linked-providers", &token).await.body;
    assert_eq!(linked[0]["provider"], PROVIDER_ID);
    assert_eq!(linked[0]["email"], "newcomer@example.com");
    // The Security page says why a password is worth having.
    let page = app.client.get(app.url("/security")).header("cookie", format!("latchkey_session={token}"));
    let page = page.send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Set a password") && page.contains("recovery flow"), "{page}");
    assert!(!page.contains("id=\"current-password\""));

    // Without a current password, while the sign-in is recent.
    let weak = app.post("/api/v1/me/password", Some(&token), json!({"new_password": "short"})).await;
    assert_error(&weak, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    let set = app.post("/api/v1/me/password", Some(&token), json!({"new_password": PASSWORD})).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    assert_eq!(app.get("/api/v1/me", &token).await.body["has_password"], true);
    assert_eq!(app.login("newcomer@example.com", PASSWORD).await.status, StatusCode::OK);
    // From now on the current password is asked for, like for everyone else.
    let again = app.post("/api/v1/me/password", Some(&token), json!({"new_password": "Another-Horse-Battery-7"})).await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "invalid_password");
}

#[tokio::test]
async fn setting_a_first_password_needs_a_recent_sign_in() {
    let app = spawn_app_with_provider(|_| {}).await;
    let back = Browser::new(&app).sign_in(&person("late-1", "late@example.com")).await;
    let token = back.session_token().expect("signed in");
    app.advance_clock(chrono::Duration::minutes(11));
    let r = app.post("/api/v1/me/password", Some(&token), json!({"new_password": PASSWORD})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    assert_eq!(app.get("/api/v1/me", &token).await.body["has_password"], false);
}

#[tokio::test]
async fn the_accounts_second_factor_follows_a_provider_sign_in() {
    let app = spawn_app_with_provider(|_| {}).await;
    let first = Browser::new(&app).sign_in(&person("twofa", "twofa@example.com")).await;
    let token = first.session_token().unwrap();
    let (auth, _) = app.enable_totp(&token).await;

    let browser = Browser::new(&app);
    let back = browser.sign_in(&person("twofa", "twofa@example.com")).await;
    assert_eq!(back.status, StatusCode::OK, "the second step, on the sign-in page");
    assert!(back.session_token().is_none(), "no session before the second factor");
    assert!(back.body.contains("Authentication code"), "{}", back.body);
    assert!(!back.body.contains("mfa_token"), "the second step's token stays in its cookie");

    let code = app.next_code(&auth);
    let r = browser
        .client
        .post(format!("{}/login/mfa", app.state.config.public_url))
        .header("origin", &app.state.config.public_url)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/security");
    let history = app.get("/api/v1/me/login-history", &token).await.body;
    assert_eq!(history[0]["method"], format!("oauth:{PROVIDER_ID}"));
    assert_eq!((history[0]["success"].clone(), history[0]["mfa_challenged"].clone()), (json!(true), json!(true)));
}

#[tokio::test]
async fn closed_sign_up_still_lets_existing_accounts_in() {
    let app = spawn_app_with_provider(|c| c.settings.signup_open = false).await;
    let back = Browser::new(&app).sign_in(&person("nobody", "nobody@example.com")).await;
    assert_eq!(back.status, StatusCode::FORBIDDEN);
    assert!(back.body.contains("sign-up is closed"), "{}", back.body);

    let email = latchkey::domain::email::Email::parse("member@example.com").unwrap();
    latchkey::service::auth::create_account(
        &app.state,
        &email,
        Some(latchkey::domain::password::Password::new(PASSWORD.into())),
    )
    .await
    .unwrap();
    let back = Browser::new(&app).sign_in(&person("member", "member@example.com")).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
}

#[tokio::test]
async fn starting_sign_ins_is_rate_limited_per_address() {
    let app = spawn_app_with_provider(|_| {}).await;
    let browser = Browser::new(&app);
    let start = format!("{}/auth/oauth/{PROVIDER_ID}/start", app.state.config.public_url);
    for _ in 0..300 {
        assert_eq!(browser.client.get(&start).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    }
    let r = browser.client.get(&start).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(r.text().await.unwrap().contains("Too many sign-ins from here"));
}
