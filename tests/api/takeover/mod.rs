//! Recovery, email and device flows never turn into an account takeover. Each test is an
//! attack as an intruder would run it (a stolen session, a known password, a squatter who
//! signed up first, a device code), then the assertion that the door is shut.
//!
//! `links`: the lock, address changes, disabled accounts and mail caps; `reset`: what a
//! reset asks and voids; `devices`: device sign-ins, the new-device alert and its switch;
//! `in_flight`: writes by a request that was authenticated before a lock landed.

mod devices;
mod in_flight;
mod links;
mod reset;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Response, TestApp};
use crate::smtp::{SmtpSink, link_token};

pub(super) const OWNER: &str = "ada@example.com";
pub(super) const EVIL: &str = "mallory@evil.example";
pub(super) const NEW_PASSWORD: &str = "Another-Long-Phrase-42";

pub(super) async fn forgot(app: &TestApp, email: &str) {
    let r = app.post("/api/v1/auth/password/forgot", None, json!({"email": email})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

pub(super) async fn reset(app: &TestApp, body: Value) -> Response {
    app.post("/api/v1/auth/password/reset", None, body).await
}

/// The newest reset link mailed to `to` (after `n` of them arrived).
pub(super) async fn reset_link(sink: &SmtpSink, to: &str, n: usize) -> String {
    let mails = sink.wait_for_subject(to, "Reset your password", n).await;
    link_token(mails.last().unwrap(), "reset-password")
}

pub(super) async fn start_device(app: &TestApp) -> (String, String) {
    let body = json!({"client_name": "cmdop CLI", "device": {"kind": "desktop", "name": "cmdop CLI"}});
    let r = app.post("/api/v1/auth/device/code", None, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (r.body["device_code"].as_str().unwrap().to_owned(), r.body["user_code"].as_str().unwrap().to_owned())
}

pub(super) async fn approve(app: &TestApp, session: &str, user_code: &str) {
    let r = app.post(&format!("/api/v1/me/device/{user_code}/approve"), Some(session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

pub(super) async fn poll(app: &TestApp, device_code: &str) -> Response {
    app.advance_clock(Duration::seconds(30));
    app.post("/api/v1/auth/device/token", None, json!({"device_code": device_code})).await
}

pub(super) async fn api_token(app: &TestApp, session: &str) -> String {
    let r = app.post("/api/v1/me/tokens", Some(session), json!({"name": "backdoor"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

pub(super) async fn events(app: &TestApp, token: &str) -> Vec<String> {
    let body = app.get("/api/v1/me/security-events", token).await.body;
    body.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

pub(super) async fn lock(app: &TestApp, token: &str) {
    let r = app.post("/api/v1/auth/lock", None, json!({"token": token})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}
