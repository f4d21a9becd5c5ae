use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn signup_creates_an_account_that_can_sign_in() {
    let app = spawn_app().await;
    let r = app.signup("Ada@Example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["email"], "ada@example.com");
    let id = r.body["id"].as_str().unwrap().to_owned();

    let token = app.token_for("ada@example.com", PASSWORD).await;
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["email"], "ada@example.com");
    assert_eq!(me.body["has_password"], true);
    assert_eq!(me.body["two_factor"], json!({"enabled": false, "methods": []}));
    assert!(chrono::DateTime::parse_from_rfc3339(me.body["created_at"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    assert_error(&app.signup("ADA@example.com", PASSWORD).await, StatusCode::CONFLICT, "email_taken");
}

#[tokio::test]
async fn signup_refuses_a_weak_password_with_its_violations() {
    let app = spawn_app().await;
    let r = app.signup("ada@example.com", "short").await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    let v = r.body["violations"].as_array().unwrap();
    for code in ["too_short", "missing_uppercase", "missing_digit", "missing_symbol"] {
        assert!(v.contains(&json!(code)), "{code} missing from {v:?}");
    }
    // Nothing was created.
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_malformed_email_is_400() {
    let app = spawn_app().await;
    assert_error(&app.signup("not-an-email", PASSWORD).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn signup_can_be_closed() {
    let app = spawn_app_with(|c| c.settings.signup_open = false).await;
    assert_error(&app.signup("ada@example.com", PASSWORD).await, StatusCode::FORBIDDEN, "signup_closed");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_identically() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    let wrong = app.login("ada@example.com", "Wrong-Password-1!").await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.text, unknown.text);
}

#[tokio::test]
async fn login_answers_ok_with_a_token_and_session_id() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    let r = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    assert!(r.body["token"].as_str().unwrap().starts_with("lk_ses_"));
    let sessions = app.get("/api/v1/me/sessions", r.body["token"].as_str().unwrap()).await;
    assert_eq!(sessions.body[0]["id"], r.body["session_id"]);
}

#[tokio::test]
async fn an_account_without_a_password_cannot_sign_in_with_one() {
    let app = spawn_app().await;
    let email = latchkey::domain::email::Email::parse("oauth-only@example.com").unwrap();
    latchkey::service::auth::create_account(&app.state, &email, None).await.unwrap();
    assert_error(&app.login("oauth-only@example.com", "").await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_error(&app.login("oauth-only@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn logout_kills_the_token_at_once() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let r = app.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn missing_or_forged_tokens_are_401() {
    let app = spawn_app().await;
    let r = app.request(reqwest::Method::GET, "/api/v1/me", None, None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&app.get("/api/v1/me", "lk_ses_forged").await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&app.get("/api/v1/me", "not a token;").await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn without_configured_providers_the_list_is_empty() {
    let app = spawn_app().await;
    let r = app.request(reqwest::Method::GET, "/api/v1/auth/providers", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!([]));
}
