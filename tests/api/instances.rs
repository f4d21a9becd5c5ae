//! Two instances on one database: what one does, the other sees at its very next request.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn a_session_revoked_on_one_instance_is_refused_on_the_other_at_once() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let token = a.signed_in_user("ada@example.com").await;
    let other = b.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(a.get("/api/v1/me", &other).await.status, StatusCode::OK);
    let id = b.get("/api/v1/me/sessions", &other).await.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(b.delete(&format!("/api/v1/me/sessions/{id}"), &token).await.status, StatusCode::NO_CONTENT);
    assert_error(&a.get("/api/v1/me", &other).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn totp_replay_and_rate_limits_hold_across_instances() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let token = a.signed_in_user("ada@example.com").await;
    let (auth, _) = a.enable_totp(&token).await;
    let code = a.next_code(&auth);
    b.advance_clock(chrono::Duration::seconds(30));
    let on_a = a.mfa_token("ada@example.com", PASSWORD).await;
    let on_b = b.mfa_token("ada@example.com", PASSWORD).await;
    assert_eq!(a.mfa(&on_a, "totp", &code).await.status, StatusCode::OK);
    assert_error(&b.mfa(&on_b, "totp", &code).await, StatusCode::UNAUTHORIZED, "invalid_code");

    for _ in 0..5 {
        a.login("bob@example.com", "Wrong-Password-1!").await;
    }
    assert_error(&b.login("bob@example.com", "Wrong-Password-1!").await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn a_second_step_started_on_one_instance_finishes_on_the_other() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let token = a.signed_in_user("ada@example.com").await;
    let (_, codes) = a.enable_totp(&token).await;
    let mfa = a.mfa_token("ada@example.com", PASSWORD).await;
    let done =
        b.post("/api/v1/auth/mfa", None, json!({"mfa_token": mfa, "method": "backup_code", "code": codes[0]})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let session = done.body["token"].as_str().unwrap();
    assert_eq!(a.get("/api/v1/me", session).await.status, StatusCode::OK);
}
