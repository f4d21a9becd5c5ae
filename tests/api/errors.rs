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

#[tokio::test]
async fn text_with_a_nul_character_is_400_on_every_backend() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let json = |path: &str, body: &str| {
        app.client
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    for (path, body) in [
        ("/api/v1/auth/login", r#"{"email": "a\u0000@example.com", "password": "x"}"#),
        ("/api/v1/auth/signup", r#"{"email": "b@example.com", "password": "Correct-Horse-\u0000-9"}"#),
        ("/api/v1/me/tokens", r#"{"name": "bot\u0000"}"#),
        ("/api/v1/workspaces", r#"{"name": "Engines\u0000"}"#),
    ] {
        assert_error(&read(json(path, body).await.unwrap()).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // An escaped backslash before `u0000` is text, not a NUL.
    let r =
        read(json("/api/v1/auth/login", r#"{"email": "a\\u0000@example.com", "password": "x"}"#).await.unwrap()).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
    for path in ["/api/v1/me/sessions/ab%00cd", "/api/v1/me/login-history?limit=5%00"] {
        let r = app.client.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_error(&read(r).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let r = app.client.delete(app.url("/api/v1/me/trusted-devices/x%00")).bearer_auth(&token).send().await.unwrap();
    assert_error(&read(r).await, StatusCode::BAD_REQUEST, "invalid_request");
    // Forms too (the pages).
    let form = app.client.post(app.url("/login")).form(&[("email", "a\0@example.com"), ("password", "x")]);
    assert_eq!(form.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    // Nothing was lost: the account still works.
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_api_answer_says_no_store() {
    let app = crate::helpers::spawn_app().await;
    let signup = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&serde_json::json!({"email": "ada@example.com", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.headers()["cache-control"], "no-store");
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "ada@example.com", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()["cache-control"], "no-store", "the answer that carries a token");
    let refused = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(refused.headers()["cache-control"], "no-store");
}
