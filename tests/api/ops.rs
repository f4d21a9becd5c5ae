use reqwest::StatusCode;

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.state.store.close().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_logins_by_outcome() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    app.login("ada@example.com", "Wrong-Password-1!").await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"latchkey_http_requests_total{method="POST",route="/api/v1/auth/signup",status="201"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"latchkey_logins_total{outcome="failure"} 1"#), "{text}");
    assert!(text.contains("latchkey_http_request_duration_seconds_bucket"), "{text}");

    // Made-up methods and unknown paths all land in one series each: an anonymous client
    // cannot grow the label sets (and the server's memory) at will.
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        app.client.request(method, app.url(&format!("/no/such/path/{i}"))).send().await.unwrap();
    }
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("BREW"), "{text}");
    assert!(!text.contains("/no/such/path"), "{text}");
    let other =
        text.lines().filter(|l| l.starts_with("latchkey_http_requests_total{") && l.contains(r#"method="other""#));
    let other: Vec<&str> = other.collect();
    assert_eq!(other.len(), 1, "one series for them all: {other:?}");
    assert!(other[0].contains(r#"route="other""#) && other[0].ends_with(" 20"), "{other:?}");
}

#[tokio::test]
async fn the_openapi_description_lists_every_route() {
    let app = spawn_app().await;
    let spec: serde_json::Value =
        app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let expected = [
        ("/api/v1/auth/signup", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/me/sessions", "get"),
        ("/api/v1/me/sessions/{id}", "delete"),
        ("/api/v1/me/sessions/revoke-others", "post"),
        ("/api/v1/me/login-history", "get"),
        ("/api/v1/auth/mfa", "post"),
        ("/api/v1/auth/reauth", "post"),
        ("/api/v1/auth/reauth/passkey/start", "post"),
        ("/api/v1/me/2fa", "get"),
        ("/api/v1/me/2fa/totp/setup", "post"),
        ("/api/v1/me/2fa/totp/confirm", "post"),
        ("/api/v1/me/2fa/totp", "delete"),
        ("/api/v1/me/2fa/backup-codes", "post"),
        ("/api/v1/me/2fa/disable", "post"),
        ("/api/v1/me/security-events", "get"),
        ("/api/v1/me/trusted-devices", "get"),
        ("/api/v1/me/trusted-devices", "delete"),
        ("/api/v1/me/trusted-devices/{id}", "delete"),
        ("/api/v1/workspaces", "post"),
        ("/api/v1/me/workspaces", "get"),
        ("/api/v1/workspaces/{id}", "get"),
        ("/api/v1/workspaces/{id}/members", "post"),
        ("/api/v1/workspaces/{id}/members", "get"),
        ("/api/v1/workspaces/{id}/policy", "put"),
        ("/api/v1/workspaces/{id}/policy", "get"),
        ("/api/v1/workspaces/{id}/members/{user_id}", "put"),
        ("/api/v1/workspaces/{id}/members/{user_id}", "delete"),
        ("/api/v1/workspaces/{id}/invitations", "post"),
        ("/api/v1/workspaces/{id}/invitations", "get"),
        ("/api/v1/workspaces/{id}/invitations/{invitation_id}", "delete"),
        ("/api/v1/workspaces/{id}/events", "get"),
        ("/api/v1/invitations/accept", "post"),
        ("/api/v1/me/tokens", "post"),
        ("/api/v1/me/tokens", "get"),
        ("/api/v1/me/tokens/{id}", "delete"),
        ("/api/v1/me/2fa/webauthn/register/start", "post"),
        ("/api/v1/me/2fa/webauthn/register/finish", "post"),
        ("/api/v1/me/2fa/webauthn", "get"),
        ("/api/v1/me/2fa/webauthn/{id}", "delete"),
        ("/api/v1/auth/providers", "get"),
        ("/api/v1/me/linked-providers", "get"),
        ("/api/v1/me/linked-providers/{provider}", "delete"),
        ("/api/v1/auth/device/code", "post"),
        ("/api/v1/auth/device/token", "post"),
        ("/api/v1/me/device/{user_code}", "get"),
        ("/api/v1/me/device/{user_code}/approve", "post"),
        ("/api/v1/me/device/{user_code}/deny", "post"),
        ("/api/v1/auth/passkey/start", "post"),
        ("/api/v1/auth/passkey/finish", "post"),
        ("/api/v1/auth/email/verify", "post"),
        ("/api/v1/auth/password/forgot", "post"),
        ("/api/v1/auth/password/reset", "post"),
        ("/api/v1/auth/password/reset/webauthn", "post"),
        ("/api/v1/auth/lock", "post"),
        ("/api/v1/introspect", "post"),
        ("/api/v1/me/email", "post"),
        ("/api/v1/me/email/verify/resend", "post"),
        ("/api/v1/me/notifications", "get"),
        ("/api/v1/me/notifications", "put"),
    ];
    for (path, method) in expected {
        assert!(spec["paths"][path][method].is_object(), "{method} {path} missing");
    }
    let listed: std::collections::HashSet<_> = expected.iter().map(|(p, _)| *p).collect();
    assert_eq!(spec["paths"].as_object().unwrap().len(), listed.len(), "a route is missing from this test's list");
}
