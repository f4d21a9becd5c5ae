//! Re-authentication proves the strongest factor the account has (ASVS 7.5.1), and
//! signing other sessions out is a sensitive action (7.5.2).

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

const OWNER: &str = "owner@example.com";

#[tokio::test]
async fn a_stolen_session_plus_a_phished_password_cannot_re_authenticate_a_2fa_account() {
    let app = spawn_app().await;
    let stolen = app.signed_in_user(OWNER).await;
    let (auth, _) = app.enable_totp(&stolen).await;
    app.advance_clock(Duration::minutes(11));

    let r = app.post("/api/v1/auth/reauth", Some(&stolen), json!({"password": PASSWORD})).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "mfa_required");
    assert_eq!(r.body["methods"], json!(["totp", "backup_code"]));
    let change = json!({"email": "attacker@example.com"});
    assert_error(
        &app.post("/api/v1/me/email", Some(&stolen), change.clone()).await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    );
    assert_error(&app.delete("/api/v1/me/2fa/totp", &stolen).await, StatusCode::FORBIDDEN, "reauth_required");

    // The owner, holding the factor, still can.
    let r = app.post("/api/v1/auth/reauth", Some(&stolen), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_backup_code_re_authenticates_once_and_is_used_up() {
    let app = spawn_app().await;
    let token = app.signed_in_user(OWNER).await;
    let (_, codes) = app.enable_totp(&token).await;
    app.advance_clock(Duration::minutes(11));

    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": codes[0]})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.get("/api/v1/me/2fa", &token).await.body["backup_codes_remaining"], 9);
    app.advance_clock(Duration::minutes(11));
    let again = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": codes[0]})).await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "invalid_code");
}

#[tokio::test]
async fn an_account_without_a_second_factor_re_authenticates_with_its_password() {
    let app = spawn_app().await;
    let token = app.signed_in_user(OWNER).await;
    app.advance_clock(Duration::minutes(11));
    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_stale_stolen_session_cannot_sign_the_owner_out() {
    let app = spawn_app().await;
    let stolen = app.signed_in_user(OWNER).await;
    let owners = app.token_for(OWNER, PASSWORD).await;
    app.advance_clock(Duration::minutes(11));

    let r = app.post("/api/v1/me/sessions/revoke-others", Some(&stolen), json!({})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    let sessions = app.get("/api/v1/me/sessions", &stolen).await.body;
    let other =
        sessions.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let r = app.delete(&format!("/api/v1/me/sessions/{other}"), &stolen).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    assert_eq!(app.get("/api/v1/me", &owners).await.status, StatusCode::OK, "the owner is still signed in");

    // Its own session it may always end; after a fresh proof, the others too.
    let r = app.post("/api/v1/auth/reauth", Some(&owners), json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.post("/api/v1/me/sessions/revoke-others", Some(&owners), json!({})).await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &json!({"revoked": 1})));
    assert_eq!(app.get("/api/v1/me", &stolen).await.status, StatusCode::UNAUTHORIZED);
    let own = app.get("/api/v1/me/sessions", &owners).await.body[0]["id"].as_str().unwrap().to_owned();
    app.advance_clock(Duration::minutes(11));
    assert_eq!(app.delete(&format!("/api/v1/me/sessions/{own}"), &owners).await.status, StatusCode::NO_CONTENT);
}
