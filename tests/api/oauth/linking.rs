//! Linking providers to accounts: by verified email, by consent, the reclaim of a squatted address, and unlinking.

use super::*;

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
