//! How each session was proven (RFC 8176 `amr`, `auth_time` in `GET /me/sessions`): set by
//! every way in through the one sign-in ending, raised by a re-authentication, carried
//! over by a device sign-in.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use crate::oidc::{Browser, Person, spawn_app_with_provider};
use crate::soft_passkey::SoftPasskey;

const ADA: &str = "ada@example.com";

/// The session `token` makes requests with, as `GET /me/sessions` shows it.
async fn current(app: &TestApp, token: &str) -> Value {
    let list = app.get("/api/v1/me/sessions", token).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body.as_array().unwrap().iter().find(|s| s["current"] == true).expect("the current session").clone()
}

async fn amr(app: &TestApp, token: &str) -> Value {
    current(app, token).await["amr"].clone()
}

#[tokio::test]
async fn a_password_a_second_factor_and_a_trusted_device_each_prove_what_they_prove() {
    let app = spawn_app().await;
    let first = app.signed_in_user(ADA).await;
    assert_eq!(amr(&app, &first).await, json!(["pwd"]));
    let (auth, codes) = app.enable_totp(&first).await;

    let mfa = app.mfa_token(ADA, PASSWORD).await;
    let totp = app.mfa(&mfa, "totp", &app.next_code(&auth)).await.body["token"].as_str().unwrap().to_owned();
    assert_eq!(amr(&app, &totp).await, json!(["pwd", "otp", "mfa"]));

    let body = json!({"mfa_token": app.mfa_token(ADA, PASSWORD).await, "method": "backup_code", "code": codes[0],
                      "remember_device": true});
    let backup = app.post("/api/v1/auth/mfa", None, body).await;
    assert_eq!(amr(&app, backup.body["token"].as_str().unwrap()).await, json!(["pwd", "otp", "mfa"]));

    // A trusted device skips the second step: only the password was proven.
    let trusted = backup.body["trusted_device_token"].as_str().unwrap();
    let body = json!({"email": ADA, "password": PASSWORD, "trusted_device_token": trusted});
    let skipped = app.post("/api/v1/auth/login", None, body).await;
    let skipped = skipped.body["token"].as_str().unwrap().to_owned();
    let before = current(&app, &skipped).await;
    assert_eq!(before["amr"], json!(["pwd"]));

    // A re-authentication with a code adds it and moves auth_time; the session stays.
    app.advance_clock(Duration::minutes(3));
    let r = app.post("/api/v1/auth/reauth", Some(&skipped), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after = current(&app, &skipped).await;
    assert_eq!((after["id"].clone(), after["amr"].clone()), (before["id"].clone(), json!(["pwd", "otp", "mfa"])));
    let moved = |s: &Value| chrono::DateTime::parse_from_rfc3339(s["auth_time"].as_str().unwrap()).unwrap();
    assert!(moved(&after) - moved(&before) >= Duration::minutes(3), "{before} -> {after}");
}

#[tokio::test]
async fn a_security_key_and_a_passkey_prove_a_hardware_key() {
    let app = spawn_app().await;
    let session = app.signed_in_user(ADA).await;
    app.team_workspace(&session, "Engines").await;
    let origin = app.state.config.public_url.clone();
    let mut key = SoftPasskey::device_bound();
    let start = app
        .post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Key", "passkey": true}))
        .await;
    let credential = key.register(&origin, &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await.status,
        StatusCode::CREATED
    );

    // As the second step after a password.
    let login = app.login(ADA, PASSWORD).await;
    let assertion = key.assert(&origin, &login.body["webauthn"]);
    let body = json!({"mfa_token": login.body["mfa_token"], "method": "webauthn", "credential": assertion});
    let second = app.post("/api/v1/auth/mfa", None, body).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(amr(&app, second.body["token"].as_str().unwrap()).await, json!(["pwd", "hwk", "mfa"]));

    // Alone, as a passkey with user verification: both factors.
    let start = app.post("/api/v1/auth/passkey/start", None, json!({})).await;
    let assertion = key.assert(&origin, &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": assertion});
    let alone = app.post("/api/v1/auth/passkey/finish", None, body).await;
    assert_eq!(alone.status, StatusCode::OK, "{}", alone.text);
    assert_eq!(amr(&app, alone.body["token"].as_str().unwrap()).await, json!(["hwk", "user", "mfa"]));
}

#[tokio::test]
async fn a_device_sign_in_carries_the_approvers_proof_and_time() {
    let app = spawn_app().await;
    let approver = app.signed_in_user(ADA).await;
    let (auth, _) = app.enable_totp(&approver).await;
    let mfa = app.mfa_token(ADA, PASSWORD).await;
    let approver = app.mfa(&mfa, "totp", &app.next_code(&auth)).await.body["token"].as_str().unwrap().to_owned();
    let proven = current(&app, &approver).await;
    app.advance_clock(Duration::minutes(2));
    let code = app.post("/api/v1/auth/device/code", None, json!({"client_name": "cmdop CLI"})).await;
    let approve = format!("/api/v1/me/device/{}/approve", code.body["user_code"].as_str().unwrap());
    assert_eq!(app.post(&approve, Some(&approver), json!({})).await.status, StatusCode::NO_CONTENT);
    app.advance_clock(Duration::seconds(30));
    let device = app.post("/api/v1/auth/device/token", None, json!({"device_code": code.body["device_code"]})).await;
    let device = current(&app, device.body["token"].as_str().unwrap()).await;
    assert_eq!(device["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(device["auth_time"], proven["auth_time"], "no fresher than the approval");
}

#[tokio::test]
async fn a_provider_alone_is_one_factor() {
    let app = spawn_app_with_provider(|_| {}).await;
    let person = Person { sub: "fed-1", email: "fed@example.com", verified: true };
    let token = Browser::new(&app).sign_in(&person).await.session_token().expect("signed in");
    assert_eq!(amr(&app, &token).await, json!(["fed"]));
}
