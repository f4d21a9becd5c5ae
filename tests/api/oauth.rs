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
    // An account whose email is verified (it was made through the provider), with a
    // password and no link to the provider any more.
    let first = Browser::new(&app).sign_in(&person("first-sub", "owner@example.com")).await;
    let own = first.session_token().expect("signed up through the provider");
    assert_eq!(
        app.post("/api/v1/me/password", Some(&own), json!({"new_password": PASSWORD})).await.status,
        StatusCode::NO_CONTENT
    );
    let path = format!("/api/v1/me/linked-providers/{PROVIDER_ID}");
    assert_eq!(app.delete(&path, &own).await.status, StatusCode::NO_CONTENT);
    let me = app.get("/api/v1/me", &own).await.body;
    assert_eq!(me["email_verified"], true);
    let id = me["id"].clone();

    let back = Browser::new(&app).sign_in(&person("owner-sub", "Owner@Example.com")).await;
    let token = back.session_token().expect("signed in through the link");
    let me = app.get("/api/v1/me", &token).await.body;
    assert_eq!((me["id"].clone(), me["has_password"].clone()), (id.clone(), json!(true)), "linked as it is");
    let events = app.get("/api/v1/me/security-events", &own).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "provider_linked"), "{events}");
    assert!(!events.as_array().unwrap().iter().any(|e| e["kind"] == "account_reclaimed"), "{events}");

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
async fn the_owner_of_an_address_takes_back_an_account_someone_else_registered_with_it() {
    let app = spawn_app_with_provider(|_| {}).await;
    // The squatter signs up with the owner's address and digs in: 2FA, an API token, a
    // remembered device, a second session.
    let squatter = app.signed_in_user("owner@example.com").await;
    assert_eq!(app.get("/api/v1/me", &squatter).await.body["email_verified"], false);
    let (auth, _) = app.enable_totp(&squatter).await;
    let api = app.post("/api/v1/me/tokens", Some(&squatter), json!({"name": "backdoor"})).await;
    let api = api.body["token"].as_str().unwrap().to_owned();
    let first = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "owner@example.com", "password": PASSWORD, "remember_device": true}),
        )
        .await;
    let done = app.mfa(first.body["mfa_token"].as_str().unwrap(), "totp", &app.next_code(&auth)).await;
    let second = done.body["token"].as_str().unwrap().to_owned();
    let trusted = done.body["trusted_device_token"].as_str().unwrap().to_owned();
    let id = app.get("/api/v1/me", &squatter).await.body["id"].clone();
    // ...and a device code approved but not yet collected.
    let code = app.post("/api/v1/auth/device/code", None, json!({"client_name": "squatter CLI"})).await;
    let approve = format!("/api/v1/me/device/{}/approve", code.body["user_code"].as_str().unwrap());
    assert_eq!(app.post(&approve, Some(&squatter), json!({})).await.status, StatusCode::NO_CONTENT);

    // The owner signs in through a provider that verified the address.
    let back = Browser::new(&app).sign_in(&person("owner-sub", "owner@example.com")).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "no second step: the squatter's factor is gone: {}", back.body);
    let owner = back.session_token().expect("signed in");
    let me = app.get("/api/v1/me", &owner).await.body;
    assert_eq!(me["id"], id, "the same account");
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["has_password"], false);
    assert_eq!(me["two_factor"]["enabled"], false);
    for token in [&squatter, &second, &api] {
        assert_error(&app.get("/api/v1/me", token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    assert_error(&app.login("owner@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let with_device = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "owner@example.com", "password": PASSWORD, "trusted_device_token": trusted}),
        )
        .await;
    assert_error(&with_device, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(app.get("/api/v1/me/tokens", &owner).await.body, json!([]));
    assert_eq!(app.get("/api/v1/me/trusted-devices", &owner).await.body, json!([]));
    let sessions = app.get("/api/v1/me/sessions", &owner).await.body;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "only the owner's own: {sessions}");
    let events = app.get("/api/v1/me/security-events", &owner).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "account_reclaimed"), "{events}");
    app.advance_clock(chrono::Duration::seconds(30));
    let poll = app.post("/api/v1/auth/device/token", None, json!({"device_code": code.body["device_code"]})).await;
    assert_eq!(poll.body["error"], "access_denied", "the squatter's approved device code died: {}", poll.text);

    // From now on the account is verified: the next provider match would only link.
    let again = Browser::new(&app).sign_in(&person("owner-sub", "owner@example.com")).await;
    let again = again.session_token().expect("signed in by subject");
    assert_eq!(app.get("/api/v1/me", &owner).await.status, StatusCode::OK, "the owner's session stays");
    assert_eq!(app.get("/api/v1/me", &again).await.body["id"], id);
}

#[tokio::test]
async fn the_security_page_links_a_provider_with_the_owners_consent() {
    let app = spawn_app_with_provider(|_| {}).await;
    let token = app.signed_in_user("ada@example.com").await;
    let sessions = app.get("/api/v1/me/sessions", &token).await.body;
    let session_id = sessions[0]["id"].as_str().unwrap().to_owned();
    let csrf = app.state.secrets.csrf_token(&session_id);
    let page = app.client.get(app.url("/security")).header("cookie", format!("latchkey_session={token}"));
    let page = page.send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("Link {PROVIDER_NAME}")), "{page}");

    // A forged POST (no CSRF token) goes nowhere.
    let browser = Browser::new(&app).with_session(&token);
    assert_eq!(browser.press_link("forged").await.status(), StatusCode::FORBIDDEN);

    let interaction = browser.to_provider_form(browser.press_link(&csrf).await).await;
    // The provider's email need not match: the signed-in owner asked for this link.
    let url = browser.sign_in_at_provider(&interaction, &person("ada-at-provider", "ada.work@example.com")).await;
    let back = browser.callback(&url).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location.as_deref(), Some("/security?done=provider_linked"));
    let linked = app.get("/api/v1/me/linked-providers", &token).await.body;
    assert_eq!(linked[0]["provider"], PROVIDER_ID);
    assert_eq!(app.get("/api/v1/me", &token).await.body["has_password"], true, "nothing else changed");
    // The link signs in to this account from now on.
    let via = Browser::new(&app).sign_in(&person("ada-at-provider", "ada.work@example.com")).await;
    let via = via.session_token().expect("signed in through the new link");
    assert_eq!(app.get("/api/v1/me", &via).await.body["email"], "ada@example.com");
    // Already linked: no second flow.
    let r = browser.press_link(&csrf).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // A subject linked to another account is refused, and nothing is linked.
    let bob = app.signed_in_user("bob@example.com").await;
    let bob_session = app.get("/api/v1/me/sessions", &bob).await.body[0]["id"].as_str().unwrap().to_owned();
    let bob_browser = Browser::new(&app).with_session(&bob);
    let bob_csrf = app.state.secrets.csrf_token(&bob_session);
    let interaction = bob_browser.to_provider_form(bob_browser.press_link(&bob_csrf).await).await;
    let url = bob_browser.sign_in_at_provider(&interaction, &person("ada-at-provider", "ada.work@example.com")).await;
    let back = bob_browser.callback(&url).await;
    assert_eq!(back.status, StatusCode::CONFLICT, "{}", back.body);
    assert_eq!(app.get("/api/v1/me/linked-providers", &bob).await.body, json!([]));

    // A stale sign-in is asked to confirm first; nothing starts.
    app.advance_clock(chrono::Duration::minutes(11));
    let carol = app.signed_in_user("carol@example.com").await;
    app.advance_clock(chrono::Duration::minutes(11));
    let carol_session = app.get("/api/v1/me/sessions", &carol).await.body[0]["id"].as_str().unwrap().to_owned();
    let carol_browser = Browser::new(&app).with_session(&carol);
    let r = carol_browser.press_link(&app.state.secrets.csrf_token(&carol_session)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("Confirm"), "the re-auth prompt in place");
}

#[tokio::test]
async fn a_link_flow_finishes_only_in_the_session_that_started_it() {
    let app = spawn_app_with_provider(|_| {}).await;
    let token = app.signed_in_user("ada@example.com").await;
    let session_id = app.get("/api/v1/me/sessions", &token).await.body[0]["id"].as_str().unwrap().to_owned();
    let browser = Browser::new(&app).with_session(&token);
    let interaction =
        browser.to_provider_form(browser.press_link(&app.state.secrets.csrf_token(&session_id)).await).await;
    let url = browser.sign_in_at_provider(&interaction, &person("sub-x", "x@example.com")).await;
    // Signed out in between: the callback links nothing.
    assert_eq!(app.post("/api/v1/auth/logout", Some(&token), json!({})).await.status, StatusCode::NO_CONTENT);
    let back = browser.callback(&url).await;
    assert_eq!(back.status, StatusCode::BAD_REQUEST, "{}", back.body);
    let again = app.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(app.get("/api/v1/me/linked-providers", &again).await.body, json!([]));
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
