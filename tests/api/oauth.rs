//! Sign-in through an OpenID provider (CONTRACT §3), against a real one: panva/oidc-provider.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error};
use crate::oidc::{Browser, PROVIDER_ID, PROVIDER_NAME, Person, spawn_app_with_provider};

fn person<'a>(sub: &'a str, email: &'a str) -> Person<'a> {
    Person { sub, email, verified: true }
}

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
async fn an_existing_account_is_linked_through_a_verified_email_then_by_subject() {
    let app = spawn_app_with_provider(|_| {}).await;
    let own = app.signed_in_user("owner@example.com").await;
    let id = app.get("/api/v1/me", &own).await.body["id"].clone();

    let back = Browser::new(&app).sign_in(&person("owner-sub", "Owner@Example.com")).await;
    let token = back.session_token().expect("signed in through the link");
    let me = app.get("/api/v1/me", &token).await.body;
    assert_eq!((me["id"].clone(), me["has_password"].clone()), (id.clone(), json!(true)));
    let events = app.get("/api/v1/me/security-events", &own).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "provider_linked"), "{events}");

    // Once linked, the subject decides, whatever email the provider gives later.
    let later = Browser::new(&app).sign_in(&person("owner-sub", "renamed@example.com")).await;
    let token = later.session_token().expect("signed in by subject");
    assert_eq!(app.get("/api/v1/me", &token).await.body["id"], id);
    // A different subject with the same verified email cannot take the account's link.
    let other = Browser::new(&app).sign_in(&person("someone-else", "owner@example.com")).await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    assert!(other.session_token().is_none());
}

#[tokio::test]
async fn an_unverified_email_never_links_nor_creates_an_account() {
    let app = spawn_app_with_provider(|_| {}).await;
    let victim = app.signed_in_user("victim@example.com").await;

    let attacker = Person { sub: "attacker", email: "victim@example.com", verified: false };
    let back = Browser::new(&app).sign_in(&attacker).await;
    assert_eq!(back.status, StatusCode::FORBIDDEN, "{}", back.body);
    assert!(back.body.contains("has not verified your email"), "{}", back.body);
    assert!(back.session_token().is_none());
    assert_eq!(app.get("/api/v1/me/linked-providers", &victim).await.body, json!([]));
    // The victim sees the attempt.
    let history = app.get("/api/v1/me/login-history", &victim).await.body;
    let attempt = history.as_array().unwrap().iter().find(|r| r["method"] == format!("oauth:{PROVIDER_ID}"));
    let attempt = attempt.expect("the refused attempt is in the victim's history");
    assert_eq!((attempt["success"].clone(), attempt["failure"].clone()), (json!(false), json!("email_unverified")));

    let stranger = Person { sub: "stranger", email: "stranger@example.com", verified: false };
    let back = Browser::new(&app).sign_in(&stranger).await;
    assert_eq!(back.status, StatusCode::FORBIDDEN);
    // No account was made: the address is still free to sign up with.
    assert_eq!(app.signup("stranger@example.com", PASSWORD).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_forged_replayed_or_foreign_state_is_refused() {
    let app = spawn_app_with_provider(|_| {}).await;
    let public = &app.state.config.public_url;
    let browser = Browser::new(&app);

    let forged = browser.callback(&format!("{public}/auth/oauth/{PROVIDER_ID}/callback?state=forged&code=x")).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert!(forged.body.contains("unknown, expired or was already used"), "{}", forged.body);
    let missing = browser.callback(&format!("{public}/auth/oauth/{PROVIDER_ID}/callback?code=x")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let garbled = browser.callback(&format!("{public}/auth/oauth/{PROVIDER_ID}/callback?state=a&state=b")).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    assert!(garbled.body.contains("Back to sign in"), "an HTML page, like the others: {}", garbled.body);

    // A callback for this browser's flow, opened in another browser (login CSRF): refused,
    // and the flow stays for its own browser.
    let interaction = browser.start().await;
    let url = browser.sign_in_at_provider(&interaction, &person("sub-s", "state@example.com")).await;
    let elsewhere = Browser::new(&app).callback(&url).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert!(elsewhere.body.contains("started in another browser"), "{}", elsewhere.body);
    assert!(elsewhere.session_token().is_none());
    let own = browser.callback(&url).await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.body);
    assert!(own.session_token().is_some());

    // The same callback again: its state was used.
    let replayed = browser.callback(&url).await;
    assert_eq!(replayed.status, StatusCode::BAD_REQUEST);
    assert!(replayed.session_token().is_none());

    // Nor after the flow expired (a new browser: the provider would remember this one).
    let browser = Browser::new(&app);
    let interaction = browser.start().await;
    let url = browser.sign_in_at_provider(&interaction, &person("sub-s", "state@example.com")).await;
    app.advance_clock(chrono::Duration::minutes(11));
    assert_eq!(browser.callback(&url).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_provider_error_is_shown_clearly() {
    let app = spawn_app_with_provider(|_| {}).await;
    let browser = Browser::new(&app);
    let interaction = browser.start().await;
    let url = browser.cancel_at_provider(&interaction).await;
    assert!(url.contains("error=access_denied"), "{url}");
    let back = browser.callback(&url).await;
    assert_eq!(back.status, StatusCode::BAD_REQUEST);
    assert!(back.body.contains(&format!("Sign-in with {PROVIDER_NAME} did not work")), "{}", back.body);
    assert!(back.body.contains("access_denied") && back.body.contains("The user pressed Cancel"), "{}", back.body);
    assert!(back.body.contains("href=\"/\""), "a way back to sign in");
    assert!(back.session_token().is_none());
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
    let mfa_token = back.body.split("name=\"mfa_token\" value=\"").nth(1).unwrap().split('"').next().unwrap();

    let code = app.next_code(&auth);
    let r = browser
        .client
        .post(format!("{}/login/mfa", app.state.config.public_url))
        .header("origin", &app.state.config.public_url)
        .form(&[("mfa_token", mfa_token), ("code", code.as_str())])
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
async fn unlinking_keeps_a_way_to_sign_in() {
    let app = spawn_app_with_provider(|_| {}).await;
    let token = Browser::new(&app).sign_in(&person("only", "only@example.com")).await.session_token().unwrap();
    let path = format!("/api/v1/me/linked-providers/{PROVIDER_ID}");
    assert_error(&app.delete(&path, &token).await, StatusCode::CONFLICT, "last_sign_in_method");
    assert_error(&app.delete("/api/v1/me/linked-providers/other", &token).await, StatusCode::NOT_FOUND, "not_found");

    let set = app.post("/api/v1/me/password", Some(&token), json!({"new_password": PASSWORD})).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path, &token).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me/linked-providers", &token).await.body, json!([]));
    let events = app.get("/api/v1/me/security-events", &token).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "provider_unlinked"), "{events}");
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
async fn a_code_the_provider_did_not_issue_is_refused_by_it() {
    let app = spawn_app_with_provider(|_| {}).await;
    let browser = Browser::new(&app);
    let interaction = browser.start().await;
    let url = browser.sign_in_at_provider(&interaction, &person("forger", "forger@example.com")).await;
    let mut forged = reqwest::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "code" { "made-up-code".to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let back = browser.callback(forged.as_str()).await;
    assert_eq!(back.status, StatusCode::BAD_REQUEST, "{}", back.body);
    assert!(back.body.contains("invalid_grant"), "the provider's refusal is shown: {}", back.body);
    assert!(back.session_token().is_none());
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_a_clear_page_not_a_500() {
    let app = spawn_app_with_provider(|c| c.oauth_providers[0].issuer = "http://127.0.0.1:9".into()).await;
    let r = Browser::new(&app)
        .client
        .get(format!("{}/auth/oauth/{PROVIDER_ID}/start", app.state.config.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains(&format!("{PROVIDER_NAME} could not be reached")));
}

#[tokio::test]
async fn a_flow_started_for_one_provider_cannot_finish_at_another() {
    let app = spawn_app_with_provider(|c| {
        let mut other = c.oauth_providers[0].clone();
        other.id = latchkey::domain::oauth::ProviderId::parse("other").unwrap();
        other.name = "Other ID".into();
        c.oauth_providers.push(other);
    })
    .await;
    let listed = app.request(reqwest::Method::GET, "/api/v1/auth/providers", None, None).await.body;
    assert_eq!(listed, json!([{"id": PROVIDER_ID, "name": PROVIDER_NAME}, {"id": "other", "name": "Other ID"}]));

    let browser = Browser::new(&app);
    let interaction = browser.start().await;
    let url = browser.sign_in_at_provider(&interaction, &person("mixup", "mixup@example.com")).await;
    let elsewhere = url.replace(&format!("/auth/oauth/{PROVIDER_ID}/callback"), "/auth/oauth/other/callback");
    assert_ne!(elsewhere, url);
    let back = browser.callback(&elsewhere).await;
    assert_eq!(back.status, StatusCode::BAD_REQUEST, "{}", back.body);
    assert!(back.session_token().is_none());
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
