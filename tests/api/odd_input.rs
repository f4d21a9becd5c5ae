//! Odd bytes (NUL, a control character, 20,000 characters, non-ASCII, nothing, and bodies
//! that are not UTF-8) into every field the mail and passkey routes take: a clear answer,
//! never a 500, on both databases.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

fn clear(path: &str, value: &str, r: &crate::helpers::Response) {
    assert!(r.status.is_client_error(), "{path} with {:.20?}: {} {}", value, r.status, r.text);
    assert!(r.body["error"].is_string(), "{path}: the contract's error shape: {}", r.text);
}

async fn not_utf8(app: &TestApp, path: &str, token: Option<&str>) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(b"{\"token\": \"\xff\xfe\", \"email\": \"\xc3\x28\"}".to_vec());
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let status = request.send().await.unwrap().status();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
}

#[tokio::test]
async fn odd_bytes_into_the_mail_and_passkey_routes_get_a_clear_answer() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    app.team_workspace(&session, "Engines").await;
    let long = "x".repeat(20_000);
    for v in ["a\u{0}b", "\u{7}", long.as_str(), "\u{ff}\u{fe}", ""] {
        let public: [(&str, Value); 6] = [
            ("/api/v1/auth/email/verify", json!({"token": v})),
            ("/api/v1/auth/lock", json!({"token": v})),
            ("/api/v1/auth/password/reset", json!({"token": v, "new_password": v})),
            ("/api/v1/auth/password/reset", json!({"token": v, "new_password": PASSWORD, "method": v, "code": v})),
            ("/api/v1/auth/passkey/finish", json!({"challenge_id": v, "credential": {"id": v, "rawId": v, "type": v}})),
            ("/api/v1/auth/passkey/finish", json!({"challenge_id": v, "credential": v})),
        ];
        for (path, body) in public {
            clear(path, v, &app.post(path, None, body).await);
        }
        // The same answer for any text: 202, unless the request itself is refused (NUL).
        let forgot = app.post("/api/v1/auth/password/forgot", None, json!({"email": v})).await;
        assert!(forgot.status == StatusCode::ACCEPTED || forgot.status.is_client_error(), "{}", forgot.text);
        let signed_in: [(&str, Value); 3] = [
            ("/api/v1/me/email", json!({"email": v})),
            ("/api/v1/me/2fa/webauthn/register/start", json!({"name": v, "passkey": true})),
            ("/api/v1/auth/reauth", json!({"challenge_id": v, "credential": {"id": v}})),
        ];
        for (path, body) in signed_in {
            let r = app.post(path, Some(&session), body).await;
            if path.ends_with("register/start") && v == "\u{ff}\u{fe}" {
                assert_eq!(r.status, StatusCode::OK, "a name in any script is a name: {}", r.text);
                continue;
            }
            clear(path, v, &r);
        }
        let switch = app
            .request(reqwest::Method::PUT, "/api/v1/me/notifications", Some(&session), Some(json!({"new_sign_in": v})))
            .await;
        clear("/api/v1/me/notifications", v, &switch);
    }
    for path in [
        "/api/v1/auth/email/verify",
        "/api/v1/auth/lock",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
    ] {
        not_utf8(&app, path, None).await;
    }
    not_utf8(&app, "/api/v1/me/email", Some(&session)).await;
    for page in ["/verify-email?token=%00%FF", "/lock?token=%FF%FE", "/reset-password?token=%00"] {
        let r = app.client.get(app.url(page)).send().await.unwrap();
        assert!(r.status().as_u16() < 500, "{page}: {}", r.status());
    }
}
