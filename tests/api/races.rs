//! Requests that race each other. (One backup code and one TOTP code racing twenty
//! times are in `two_factor`.)

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn a_sign_in_racing_a_password_change_never_outlives_it() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let mut current = PASSWORD.to_owned();
    for round in 0..6 {
        let next = format!("Rotated-Secret-{round}-Xy!");
        let change =
            app.post("/api/v1/me/password", Some(&session), json!({"current_password": current, "new_password": next}));
        let logins = futures::future::join_all((0..3).map(|_| app.login("ada@example.com", &current)));
        let (changed, logins) = tokio::join!(change, logins);
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
        for login in logins {
            match login.body["token"].as_str() {
                // Signed in before the change: the change signed it out.
                Some(token) => {
                    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
                    let me = app.get("/api/v1/me", token).await;
                    assert_error(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
                }
                // After it (or racing it): the old password no longer signs in, and repeated
                // wrong passwords meet the account's lock.
                None if login.status == StatusCode::TOO_MANY_REQUESTS => {
                    assert_error(&login, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                }
                None => assert_error(&login, StatusCode::UNAUTHORIZED, "invalid_credentials"),
            }
        }
        current = next;
    }
    assert_eq!(app.get("/api/v1/me", &session).await.status, StatusCode::OK, "the changing session stays");
}

#[tokio::test]
async fn a_request_racing_its_sessions_revocation_is_refused_afterwards() {
    let app = spawn_app().await;
    let mine = app.signed_in_user("ada@example.com").await;
    for _ in 0..10 {
        let other = app.token_for("ada@example.com", PASSWORD).await;
        let id = app.get("/api/v1/me/sessions", &other).await.body[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/me/sessions/{id}");
        let (revoked, during) = tokio::join!(app.delete(&path, &mine), app.get("/api/v1/me", &other));
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert!(during.status == StatusCode::OK || during.status == StatusCode::UNAUTHORIZED, "{}", during.text);
        assert_error(&app.get("/api/v1/me", &other).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn unknown_email_and_wrong_password_cost_the_same_argon2_work() {
    // Counted, not timed: a wall-clock comparison inside a parallel test run measured the
    // other tests as much as this one. Equal cost per verification (the dummy hash uses
    // today's parameters) is the hasher's own unit test.
    let app = &crate::helpers::spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    app.signup("ada@example.com", PASSWORD).await;
    let attempt = |email: &'static str, password: &'static str, ip: &'static str| async move {
        let before = app.state.hasher.computations();
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let r = crate::helpers::read(r).await;
        (r, app.state.hasher.computations() - before)
    };
    for (email, password, ip) in [
        ("ada@example.com", "Wrong-Password-1!", "198.51.100.1"),
        ("nobody@example.com", "Wrong-Password-1!", "198.51.100.2"),
        ("not an email", "Wrong-Password-1!", "198.51.100.3"),
    ] {
        let (r, argon2) = attempt(email, password, ip).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(argon2, 1, "{email}: one Argon2 verification");
    }
    let (r, argon2) = attempt("ada@example.com", PASSWORD, "198.51.100.4").await;
    assert_eq!((r.status, argon2), (StatusCode::OK, 1));
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_account_and_a_revocation_holds_under_load() {
    let app = &spawn_app().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        let email = format!("user{i}@example.com");
        tokens.push((app.signed_in_user(&email).await, email));
    }
    // Many requests in flight at once share lookups: each must still get its own account.
    let tokens = &tokens;
    let load = || {
        futures::future::join_all(tokens.iter().cycle().take(64).map(|(token, email)| async move {
            let me = app.get("/api/v1/me", token).await;
            assert_eq!(me.status, StatusCode::OK, "{}", me.text);
            assert_eq!(me.body["email"], email.as_str(), "a request got another caller's account");
        }))
    };
    for _ in 0..5 {
        load().await;
    }
    // Revoke one session while the others keep the lookups busy: once the revocation
    // has answered, no request with that token may get through, however it is batched.
    let victim = app.token_for("user0@example.com", PASSWORD).await;
    let id = app.get("/api/v1/me/sessions", &victim).await.body[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/sessions/{id}");
    let (revoked, ()) = tokio::join!(app.delete(&path, &tokens[0].0), async {
        load().await;
    });
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text);
    let victims = futures::future::join_all((0..16).map(|_| app.get("/api/v1/me", &victim)));
    let (victims, ()) = tokio::join!(victims, async {
        load().await;
    });
    for me in victims {
        assert_error(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}
