use reqwest::StatusCode;

use crate::helpers::{assert_error, read, spawn_app};

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/login");
    for body in ["{", "[]", r#"{"email": 5, "password": "x"}"#, r#"{"email": "a@b.co"}"#, "null"] {
        let r = app.client.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_error(&read(r).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let device = r#"{"email": "a@b.co", "password": "x", "device": {"kind": "toaster"}}"#;
    let r = app.client.post(&url).header("content-type", "application/json").body(device).send().await.unwrap();
    assert_error(&read(r).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn an_oversized_body_is_413_and_a_non_json_body_415() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/signup");
    let huge = format!(r#"{{"email": "a@b.co", "password": "{}"}}"#, "x".repeat(200_000));
    let r = app.client.post(&url).header("content-type", "application/json").body(huge).send().await.unwrap();
    assert_error(&read(r).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let r = app.client.post(&url).body("email=a").send().await.unwrap();
    assert_error(&read(r).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_error(&read(r).await, StatusCode::NOT_FOUND, "not_found");
    let r = app.client.put(app.url("/api/v1/auth/login")).send().await.unwrap();
    assert_error(&read(r).await, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}
