//! Passkeys: registered as discoverable credentials with user verification, then used to
//! sign in with no email and no password. Driven by a software passkey whose counter and
//! backup flags each test chooses (`tests/support/soft_passkey.rs`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Response, TestApp, assert_error, spawn_app, spawn_app_with};
use crate::oidc::{Browser, PROVIDER_ID, Person, spawn_app_with_provider};
use crate::soft_passkey::SoftPasskey;

fn origin(app: &TestApp) -> String {
    app.state.config.public_url.clone()
}

async fn team_user(app: &TestApp, email: &str) -> String {
    let session = app.signed_in_user(email).await;
    app.team_workspace(&session, "Engines").await;
    session
}

async fn register(app: &TestApp, session: &str, key: &mut SoftPasskey, passkey: bool) -> Response {
    let start = app
        .post("/api/v1/me/2fa/webauthn/register/start", Some(session), json!({"name": "Phone", "passkey": passkey}))
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let credential = key.register(&origin(app), &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    app.post("/api/v1/me/2fa/webauthn/register/finish", Some(session), body).await
}

/// A passkey sign-in's start: the challenge id and the options the browser gets.
async fn start(app: &TestApp) -> (String, Value) {
    let r = app.post("/api/v1/auth/passkey/start", None, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (r.body["challenge_id"].as_str().unwrap().to_owned(), r.body["options"].clone())
}

async fn finish(app: &TestApp, challenge_id: &str, assertion: &Value) -> Response {
    app.post("/api/v1/auth/passkey/finish", None, json!({"challenge_id": challenge_id, "credential": assertion})).await
}

async fn sign_in(app: &TestApp, key: &mut SoftPasskey) -> Response {
    let (id, options) = start(app).await;
    let assertion = key.assert(&origin(app), &options);
    finish(app, &id, &assertion).await
}

async fn keys(app: &TestApp, session: &str) -> Vec<Value> {
    app.get("/api/v1/me/2fa/webauthn", session).await.body.as_array().unwrap().clone()
}

mod rules;
mod sign_in;
