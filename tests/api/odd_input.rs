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

/// The fields this session's routes added: the introspected token, the reset's WebAuthn
/// step, forward auth's query and `rd`. NUL, over-long and non-UTF-8 input gets a 4xx.
#[tokio::test]
async fn odd_bytes_into_introspection_reset_and_forward_auth_are_refused_cleanly() {
    let app = crate::helpers::spawn_app().await;
    let long = "x".repeat(10_000);
    for v in ["a\u{0}b", long.as_str(), "\u{202e}lk_ses_x"] {
        for (path, body) in [
            ("/api/v1/auth/password/reset/webauthn", serde_json::json!({"token": v})),
            (
                "/api/v1/auth/password/reset",
                serde_json::json!({"token": v, "new_password": v, "method": "webauthn", "challenge_id": v, "credential": {"id": v}}),
            ),
        ] {
            let r = app.post(path, None, body).await;
            assert!(r.status.is_client_error(), "{path} {}: {}", r.status, r.text);
        }
        let r =
            app.client.post(app.url("/api/v1/introspect")).basic_auth(v, Some(v)).form(&[("token", v)]).send().await;
        assert!(r.unwrap().status().is_client_error());
        for query in [format!("?workspace={v}"), format!("?max_age={v}"), format!("?rd={v}")] {
            let r = app.client.get(app.url(&format!("/auth/verify{query}"))).send().await.unwrap();
            assert!(r.status().is_client_error(), "{query}: {}", r.status());
            let r = app.client.get(app.url(&format!("/{query}"))).send().await.unwrap();
            assert!(r.status().as_u16() < 500, "sign-in page {query}: {}", r.status());
        }
    }
    // Not UTF-8 at all, as a form body and as a Basic credential.
    let r = app
        .client
        .post(app.url("/api/v1/introspect"))
        .header("authorization", "Basic /w==")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b't', b'o', b'k', b'e', b'n', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

/// 200 wrong client secrets at once get no more comparisons than 200 in a row: five.
#[tokio::test]
async fn two_hundred_wrong_client_secrets_at_once_get_five_comparisons() {
    let app = crate::helpers::spawn_app().await;
    let made = latchkey::service::introspection::add_client(&app.state, "burst").await.unwrap();
    let id = made.client.id.clone();
    let tries = (0..200).map(|_| {
        app.client
            .post(app.url("/api/v1/introspect"))
            .basic_auth(&id, Some("lk_cli_wrong"))
            .form(&[("token", "x")])
            .send()
    });
    let statuses: Vec<u16> =
        futures::future::join_all(tries).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 195);
}
