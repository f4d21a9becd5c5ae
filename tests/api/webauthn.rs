//! Security keys, driven by webauthn-authenticator-rs's software token.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app};

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.state.config.public_url).unwrap()
}

fn token() -> SoftToken {
    SoftToken::new(true).unwrap().0
}

/// A signed-in account that belongs to a workspace on the team plan.
async fn team_user(app: &TestApp) -> String {
    let session = app.signed_in_user("ada@example.com").await;
    app.team_workspace(&session, "Engines").await;
    session
}

async fn add_key(app: &TestApp, session: &str, key: &mut SoftToken, name: &str) -> crate::helpers::Response {
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(session), json!({"name": name})).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let options: CreationChallengeResponse = serde_json::from_value(start.body["options"].clone()).unwrap();
    let credential = key.do_registration(origin(app), options).unwrap();
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    app.post("/api/v1/me/2fa/webauthn/register/finish", Some(session), body).await
}

/// The password step; returns the mfa_token and the assertion request.
async fn first_step(app: &TestApp) -> (String, RequestChallengeResponse) {
    let r = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    assert!(r.body["methods"].as_array().unwrap().contains(&json!("webauthn")));
    let options = serde_json::from_value(r.body["webauthn"].clone()).unwrap();
    (r.body["mfa_token"].as_str().unwrap().to_owned(), options)
}

async fn second_step(app: &TestApp, mfa_token: &str, assertion: &Value) -> crate::helpers::Response {
    app.post("/api/v1/auth/mfa", None, json!({"mfa_token": mfa_token, "method": "webauthn", "credential": assertion}))
        .await
}

#[tokio::test]
async fn security_keys_need_a_team_plan() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    app.post("/api/v1/workspaces", Some(&session), json!({"name": "Free", "plan": "free"})).await;
    let r = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "YubiKey"})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "plan_required");
}

#[tokio::test]
async fn a_first_key_turns_2fa_on_and_signs_in() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    let mut key = token();
    let added = add_key(&app, &session, &mut key, "YubiKey 5C").await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.body["name"], "YubiKey 5C");
    assert_eq!(added.body["backup_codes"].as_array().unwrap().len(), 10);
    assert_eq!(
        app.get("/api/v1/me", &session).await.body["two_factor"],
        json!({"enabled": true, "methods": ["webauthn"]})
    );
    assert_eq!(app.get("/api/v1/me/2fa", &session).await.body["webauthn_keys"], 1);

    let (mfa_token, options) = first_step(&app).await;
    let assertion = serde_json::to_value(key.do_authentication(origin(&app), options).unwrap()).unwrap();
    let done = second_step(&app, &mfa_token, &assertion).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "ok");
    let keys = app.get("/api/v1/me/2fa/webauthn", &session).await.body;
    assert_eq!(keys[0]["name"], "YubiKey 5C");
    assert!(keys[0]["last_used_at"].is_string());

    // Replayed: the same assertion cannot finish another sign-in, nor the same one again.
    let (again, _) = first_step(&app).await;
    assert_error(&second_step(&app, &again, &assertion).await, StatusCode::UNAUTHORIZED, "invalid_code");
    assert_error(&second_step(&app, &mfa_token, &assertion).await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
}

#[tokio::test]
async fn an_assertion_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    let mut key = token();
    add_key(&app, &session, &mut key, "Solo").await;
    let (mfa_token, options) = first_step(&app).await;
    // Same host, another port: a different origin, which the key signs for but the server refuses.
    let port = origin(&app).port().unwrap();
    let phishing = Url::parse(&format!("http://localhost:{}", port + 1)).unwrap();
    let assertion = serde_json::to_value(key.do_authentication(phishing, options).unwrap()).unwrap();
    assert_error(&second_step(&app, &mfa_token, &assertion).await, StatusCode::UNAUTHORIZED, "invalid_code");
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_reported() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    let mut key = token();
    add_key(&app, &session, &mut key, "Titan").await;
    // A clone of the key as it is now.
    let mut clone: SoftToken = serde_cbor_2::from_slice(&serde_cbor_2::to_vec(&key).unwrap()).unwrap();

    let (mfa_token, options) = first_step(&app).await;
    let assertion = serde_json::to_value(key.do_authentication(origin(&app), options).unwrap()).unwrap();
    assert_eq!(second_step(&app, &mfa_token, &assertion).await.status, StatusCode::OK);

    let (mfa_token, options) = first_step(&app).await;
    let cloned = serde_json::to_value(clone.do_authentication(origin(&app), options).unwrap()).unwrap();
    assert_error(&second_step(&app, &mfa_token, &cloned).await, StatusCode::UNAUTHORIZED, "invalid_code");
    let events = app.get("/api/v1/me/security-events", &session).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "webauthn_counter_regression"), "{events}");

    // The real key still works.
    let (mfa_token, options) = first_step(&app).await;
    let assertion = serde_json::to_value(key.do_authentication(origin(&app), options).unwrap()).unwrap();
    assert_eq!(second_step(&app, &mfa_token, &assertion).await.status, StatusCode::OK);
}

#[tokio::test]
async fn keys_already_registered_are_excluded_and_the_last_factor_stays() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    let mut key = token();
    let added = add_key(&app, &session, &mut key, "First").await;
    let first_id = added.body["id"].as_str().unwrap().to_owned();
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Second"})).await;
    assert_eq!(start.body["options"]["publicKey"]["excludeCredentials"].as_array().unwrap().len(), 1);

    assert_error(
        &app.delete(&format!("/api/v1/me/2fa/webauthn/{first_id}"), &session).await,
        StatusCode::CONFLICT,
        "last_factor",
    );
    let mut second = token();
    let r = add_key(&app, &session, &mut second, "Second").await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["backup_codes"], Value::Null, "2FA was already on");
    assert_eq!(
        app.delete(&format!("/api/v1/me/2fa/webauthn/{first_id}"), &session).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get("/api/v1/me/2fa/webauthn", &session).await.body.as_array().unwrap().len(), 1);
    assert_error(&app.delete("/api/v1/me/2fa/webauthn/nope", &session).await, StatusCode::NOT_FOUND, "not_found");

    // With an authenticator app as well, the last key may go.
    let (auth, _) = app.start_totp_setup(&session).await;
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&session), json!({"code": app.code(&auth)})).await;
    assert_eq!(r.body, json!({"backup_codes": null}), "2FA was already on");
    let last = app.get("/api/v1/me/2fa/webauthn", &session).await.body[0]["id"].as_str().unwrap().to_owned();
    app.advance_clock(Duration::minutes(11));
    assert_error(
        &app.delete(&format!("/api/v1/me/2fa/webauthn/{last}"), &session).await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    );
    // A 2FA account re-authenticates with a factor, not its password.
    let r = app.post("/api/v1/auth/reauth", Some(&session), json!({"password": PASSWORD})).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "mfa_required");
    let r = app.post("/api/v1/auth/reauth", Some(&session), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.delete(&format!("/api/v1/me/2fa/webauthn/{last}"), &session).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete("/api/v1/me/2fa/totp", &session).await.status, StatusCode::CONFLICT, "now TOTP is the last");
}

#[tokio::test]
async fn a_finished_or_foreign_ceremony_cannot_be_finished_again() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    let mut key = token();
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "K"})).await;
    let options: CreationChallengeResponse = serde_json::from_value(start.body["options"].clone()).unwrap();
    let credential = key.do_registration(origin(&app), options).unwrap();
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body.clone()).await.status,
        StatusCode::CREATED
    );
    let again = app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "challenge_expired");
}

#[tokio::test]
async fn ceremonies_started_on_one_instance_finish_on_the_other_once() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let session = team_user(&a).await;
    let mut key = token();

    // Registration: started on A, finished on B; the ceremony is then gone for both.
    let start = a.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "K"})).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let options: CreationChallengeResponse = serde_json::from_value(start.body["options"].clone()).unwrap();
    let credential = key.do_registration(origin(&a), options).unwrap();
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    let finished = b.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body.clone()).await;
    assert_eq!(finished.status, StatusCode::CREATED, "{}", finished.text);
    let again = a.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "challenge_expired");

    // Sign-in: the password on B, the key's assertion on A.
    let (mfa_token, options) = first_step(&b).await;
    let assertion = serde_json::to_value(key.do_authentication(origin(&b), options).unwrap()).unwrap();
    let done = second_step(&a, &mfa_token, &assertion).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(b.get("/api/v1/me", done.body["token"].as_str().unwrap()).await.status, StatusCode::OK);
    // The same assertion, replayed on B, finishes nothing: not that sign-in, not a new one.
    assert_error(&second_step(&b, &mfa_token, &assertion).await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
    let (fresh, _) = first_step(&b).await;
    assert_error(&second_step(&b, &fresh, &assertion).await, StatusCode::UNAUTHORIZED, "invalid_code");
}

#[tokio::test]
async fn a_stale_session_cannot_register_a_key() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Mine"})).await;
    assert_eq!(start.status, StatusCode::OK);
    app.advance_clock(Duration::minutes(11));
    let r = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Theirs"})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    // Nor finish one begun while the sign-in was recent.
    let options: CreationChallengeResponse = serde_json::from_value(start.body["options"].clone()).unwrap();
    let credential = token().do_registration(origin(&app), options).unwrap();
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    let r = app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    assert_eq!(app.get("/api/v1/me/2fa", &session).await.body["webauthn_keys"], 0);
}

#[tokio::test]
async fn two_deletes_racing_for_the_last_two_factors_always_leave_one() {
    let app = &spawn_app().await;
    let session = &team_user(app).await;
    let mut key = token();
    assert_eq!(add_key(app, session, &mut key, "Key").await.status, StatusCode::CREATED);
    let (auth, _) = app.start_totp_setup(session).await;
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(session), json!({"code": app.code(&auth)})).await;
    assert_eq!(r.status, StatusCode::OK);
    // A device remembered before the race is forgotten with the factor that goes.
    let first = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ada@example.com", "password": PASSWORD, "remember_device": true}),
        )
        .await;
    let done = app.mfa(first.body["mfa_token"].as_str().unwrap(), "totp", &app.next_code(&auth)).await;
    assert!(done.body["trusted_device_token"].is_string(), "{}", done.text);

    // Each round begins with the authenticator app in place: it proves the re-auth.
    let mut auth = auth;
    for round in 0..20 {
        let reauth = app.post("/api/v1/auth/reauth", Some(session), json!({"code": app.next_code(&auth)})).await;
        assert_eq!(reauth.status, StatusCode::NO_CONTENT, "{}", reauth.text);
        let key_id = app.get("/api/v1/me/2fa/webauthn", session).await.body[0]["id"].as_str().unwrap().to_owned();
        let key_path = format!("/api/v1/me/2fa/webauthn/{key_id}");
        let (totp_gone, key_gone) =
            tokio::join!(app.delete("/api/v1/me/2fa/totp", session), app.delete(&key_path, session));
        let answers = [&totp_gone, &key_gone];
        let removed = answers.iter().filter(|r| r.status == StatusCode::NO_CONTENT).count();
        assert_eq!(removed, 1, "round {round}: exactly one removal wins: {} / {}", totp_gone.text, key_gone.text);
        for r in answers.iter().filter(|r| r.status != StatusCode::NO_CONTENT) {
            assert_error(r, StatusCode::CONFLICT, "last_factor");
        }
        let status = app.get("/api/v1/me/2fa", session).await.body;
        assert_eq!(status["enabled"], true, "round {round}: a factor remains: {status}");
        if round == 0 {
            assert_eq!(app.get("/api/v1/me/trusted-devices", session).await.body, json!([]));
        }
        // Put back whichever went.
        if totp_gone.status == StatusCode::NO_CONTENT {
            let (fresh, _) = app.start_totp_setup(session).await;
            let r =
                app.post("/api/v1/me/2fa/totp/confirm", Some(session), json!({"code": app.next_code(&fresh)})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            auth = fresh;
        } else {
            key = token();
            assert_eq!(add_key(app, session, &mut key, "Key").await.status, StatusCode::CREATED);
        }
        assert_eq!(status["webauthn_keys"].as_u64().unwrap() + u64::from(status["totp"].is_object()), 1);
    }
}

#[tokio::test]
async fn an_account_holds_at_most_ten_keys() {
    let app = spawn_app().await;
    let session = team_user(&app).await;
    for i in 0..10 {
        let r = add_key(&app, &session, &mut token(), &format!("Key {i}")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Eleventh"})).await;
    assert_error(&r, StatusCode::CONFLICT, "limit_reached");
    assert_eq!(app.get("/api/v1/me/2fa/webauthn", &session).await.body.as_array().unwrap().len(), 10);
}
