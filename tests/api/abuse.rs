//! Rate limits and progressive lockout.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app, spawn_app_with};

const WRONG: &str = "Wrong-Password-1!";

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_progressively_then_let_the_owner_back() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    for _ in 0..5 {
        assert_error(&app.login("ada@example.com", WRONG).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let r = app.login("ada@example.com", PASSWORD).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(r.body["retry_after"], 1);
    app.advance_clock(Duration::seconds(2));
    assert_error(&app.login("ada@example.com", WRONG).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let r = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(r.body["retry_after"], 3, "the delay grows: {}", r.text);
    app.advance_clock(Duration::seconds(4));
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status, StatusCode::OK, "the owner gets back in");

    let history = app.get("/api/v1/me/login-history", &token).await.body;
    let failures: Vec<_> = history.as_array().unwrap().iter().filter_map(|r| r["failure"].as_str()).collect();
    assert!(failures.contains(&"rate_limited"), "{failures:?}");
    let events = app.get("/api/v1/me/security-events", &token).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "locked_out"), "{events}");
}

#[tokio::test]
async fn the_lock_carries_a_retry_after_header_and_reveals_no_account() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    // Five failures lock for 1 s, and each failure after a lock ends for longer: 3, 5, 10 s.
    // The clock is moved past each lock, so that the last one (10 s of real time) still
    // holds when the two are compared on a slow machine.
    for (round, wait) in [(5, 2), (1, 4), (1, 6), (1, 0)] {
        for email in ["ada@example.com", "nobody@example.com"] {
            for _ in 0..round {
                assert_eq!(app.login(email, WRONG).await.status, StatusCode::UNAUTHORIZED);
            }
        }
        app.advance_clock(Duration::seconds(wait));
    }
    let known = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": WRONG}))
        .send()
        .await
        .unwrap();
    let wait: u64 = known.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
    let known = crate::helpers::read(known).await;
    let unknown = app.login("nobody@example.com", WRONG).await;
    assert_eq!(known.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(unknown.status, StatusCode::TOO_MANY_REQUESTS, "an unknown email locks the same way");
    for field in ["error", "message"] {
        assert_eq!(known.body[field], unknown.body[field], "{field}");
    }
    assert!(known.body["retry_after"].is_u64() && unknown.body["retry_after"].is_u64());
}

#[tokio::test]
async fn one_client_address_is_limited_before_its_hundredth_failure() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let from = |ip: &'static str, i: usize| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": format!("user{i}@example.com"), "password": WRONG}))
            .send()
    };
    for i in 0..99 {
        assert_eq!(from("203.0.113.7", i).await.unwrap().status(), StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let r = crate::helpers::read(from("203.0.113.7", 100).await.unwrap()).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.body["retry_after"].as_u64().unwrap() > 800, "the rest of the 15-minute window: {}", r.text);
    assert_eq!(
        from("198.51.100.1", 101).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "other clients are unaffected"
    );
    // An account locked on its own (five failures from elsewhere, one second): asked for
    // from the locked address, the answer waits for the later of the two locks.
    for _ in 0..5 {
        from("198.51.100.2", 500).await.unwrap();
    }
    let r = crate::helpers::read(from("198.51.100.3", 500).await.unwrap()).await;
    assert_eq!(r.body["retry_after"], 1, "the account's own lock: {}", r.text);
    let r = crate::helpers::read(from("203.0.113.7", 500).await.unwrap()).await;
    assert!(r.body["retry_after"].as_u64().unwrap() > 800, "the address's lock, the later one: {}", r.text);
}

#[tokio::test]
async fn wrong_current_passwords_and_reauth_attempts_are_limited_too() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let change = json!({"current_password": WRONG, "new_password": "Brand-New-Secret-77"});
    for _ in 0..5 {
        assert_error(
            &app.post("/api/v1/me/password", Some(&token), change.clone()).await,
            StatusCode::UNAUTHORIZED,
            "invalid_password",
        );
    }
    assert_error(
        &app.post("/api/v1/me/password", Some(&token), change).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    for _ in 0..5 {
        app.post("/api/v1/auth/reauth", Some(&token), json!({"password": WRONG})).await;
    }
    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"password": PASSWORD})).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn wrong_passwords_to_turn_2fa_off_are_limited() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&token).await;
    for _ in 0..5 {
        let r = app.post("/api/v1/me/2fa/disable", Some(&token), json!({"password": WRONG})).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_password");
    }
    let r = app.post("/api/v1/me/2fa/disable", Some(&token), json!({"password": PASSWORD})).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(app.get("/api/v1/me/2fa", &token).await.body["enabled"], true);
}
