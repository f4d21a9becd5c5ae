use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app};

async fn create_token(app: &TestApp, session: &str, body: serde_json::Value) -> crate::helpers::Response {
    app.post("/api/v1/me/tokens", Some(session), body).await
}

#[tokio::test]
async fn a_token_is_shown_once_listed_without_its_secret_and_works_until_deleted() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let r = create_token(&app, &session, json!({"name": "deploy bot"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("lk_pat_"), "a prefix secret scanners can spot");
    assert_eq!(r.body["name"], "deploy bot");
    let created = chrono::DateTime::parse_from_rfc3339(r.body["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, Duration::days(90), "the default lifetime");

    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "ada@example.com");

    let list = app.get("/api/v1/me/tokens", &session).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert!(!list.text.contains(&token[7..]), "secrets never listed");
    let id = list.body[0]["id"].as_str().unwrap().to_owned();
    // last_used_at is written off the request path.
    let mut used = serde_json::Value::Null;
    for _ in 0..50 {
        used = app.get("/api/v1/me/tokens", &session).await.body[0]["last_used_at"].clone();
        if used.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(used.is_string(), "last_used_at recorded");

    assert_eq!(app.delete(&format!("/api/v1/me/tokens/{id}"), &session).await.status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&app.delete(&format!("/api/v1/me/tokens/{id}"), &session).await, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let token = create_token(&app, &session, json!({"name": "short", "expires_in_days": 1})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for bad in
        [json!({"name": "x", "expires_in_days": 0}), json!({"name": "x", "expires_in_days": 366}), json!({"name": ""})]
    {
        assert_error(&create_token(&app, &session, bad).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    app.advance_clock(Duration::days(1) + Duration::seconds(1));
    assert_error(&app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_token_cannot_manage_the_accounts_credentials() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let token = create_token(&app, &session, json!({"name": "bot"})).await.body["token"].as_str().unwrap().to_owned();
    let password = json!({"current_password": PASSWORD, "new_password": "Brand-New-Secret-77"});
    assert_error(
        &app.post("/api/v1/me/password", Some(&token), password).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    assert_error(
        &create_token(&app, &token, json!({"name": "child"})).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    assert_error(&app.get("/api/v1/me/tokens", &token).await, StatusCode::FORBIDDEN, "session_required");
    assert_error(
        &app.post("/api/v1/me/2fa/totp/setup", Some(&token), json!({})).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    assert_error(
        &app.post("/api/v1/me/sessions/revoke-others", Some(&token), json!({})).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    assert_error(
        &app.post("/api/v1/auth/reauth", Some(&token), json!({"password": PASSWORD})).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    // Reading is fine.
    assert_eq!(app.get("/api/v1/me/2fa", &token).await.status, StatusCode::OK);
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status, StatusCode::OK, "the password is unchanged");
}

#[tokio::test]
async fn creating_a_token_needs_a_recent_sign_in() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    app.advance_clock(Duration::minutes(11));
    assert_error(&create_token(&app, &session, json!({"name": "bot"})).await, StatusCode::FORBIDDEN, "reauth_required");
    app.post("/api/v1/auth/reauth", Some(&session), json!({"password": PASSWORD})).await;
    assert_eq!(create_token(&app, &session, json!({"name": "bot"})).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_workspace_lock_applies_to_tokens() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let member = app.signed_in_user("bob@example.com").await;
    let ws = app.post("/api/v1/workspaces", Some(&owner), json!({"name": "Engines"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/workspaces/{ws}/members"),
        Some(&owner),
        json!({"email": "bob@example.com", "role": "member"}),
    )
    .await;
    let bot = create_token(&app, &member, json!({"name": "bot"})).await.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}"), &bot).await.status, StatusCode::OK);
    app.enable_totp(&owner).await;
    app.request(
        reqwest::Method::PUT,
        &format!("/api/v1/workspaces/{ws}/policy"),
        Some(&owner),
        Some(json!({"require_2fa": true})),
    )
    .await;
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}"), &bot).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
    app.enable_totp(&member).await;
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}"), &bot).await.status, StatusCode::OK);
}
