//! The workspace console (CONTRACT §3 Workspaces): members and roles under the last-owner
//! rule, the policy's deadline and tier, invitations by email, and the activity log.

mod attacks;
mod invitations;
mod members;
mod pages;
mod policy;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Response, TestApp};
use crate::smtp::{SmtpSink, link_token};

async fn workspace(app: &TestApp, token: &str, name: &str) -> String {
    let r = app.post("/api/v1/workspaces", Some(token), json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

fn invite_path(ws: &str) -> String {
    format!("/api/v1/workspaces/{ws}/invitations")
}

async fn add(app: &TestApp, token: &str, ws: &str, email: &str, role: &str) -> String {
    let r =
        app.post(&format!("/api/v1/workspaces/{ws}/members"), Some(token), json!({"email": email, "role": role})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["user_id"].as_str().unwrap().to_owned()
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    app.request(Method::PUT, path, Some(token), Some(body)).await
}

async fn set_policy(app: &TestApp, token: &str, ws: &str, body: Value) -> Response {
    put(app, token, &format!("/api/v1/workspaces/{ws}/policy"), body).await
}

async fn events(app: &TestApp, token: &str, ws: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/workspaces/{ws}/events"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body.as_array().unwrap().clone()
}

fn my_workspace(list: &Value, ws: &str) -> Value {
    list.as_array().unwrap().iter().find(|w| w["id"] == ws).cloned().unwrap_or(Value::Null)
}

/// A signed-in account whose address is confirmed through the link mailed at sign-up.
async fn verified_user(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    let session = app.signed_in_user(email).await;
    let m = sink.message(email, "Confirm your email address").await;
    let r = app.post("/api/v1/auth/email/verify", None, json!({"token": link_token(&m, "verify-email")})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    session
}
