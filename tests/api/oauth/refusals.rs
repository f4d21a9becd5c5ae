//! What a provider sign-in refuses: unverified emails, forged or foreign state, provider errors.

use super::*;

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
