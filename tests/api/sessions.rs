use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn sessions_list_marks_the_current_one_newest_first() {
    let app = spawn_app().await;
    let first = app.signed_in_user("ada@example.com").await;
    let second = app.token_for("ada@example.com", PASSWORD).await;
    let r = app.get("/api/v1/me/sessions", &second).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[1]["current"], false);
    for s in list {
        assert_eq!(s["ip"], "127.0.0.1");
        assert_eq!(s["location"], json!({"label": "Local network"}));
        assert_eq!(s["device"]["kind"], "browser");
        assert_eq!(s["device"]["name"], "latchkey-tests");
        for field in ["created_at", "last_activity_at"] {
            assert!(chrono::DateTime::parse_from_rfc3339(s[field].as_str().unwrap()).is_ok());
        }
    }
    assert_eq!(app.get("/api/v1/me/sessions", &first).await.body[0]["current"], false);
}

#[tokio::test]
async fn the_device_comes_from_the_login_body_or_the_user_agent() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    let desktop = json!({"email": "ada@example.com", "password": PASSWORD, "device": {"kind": "desktop", "name": "CMDOP Desktop 2.3 (macOS)"}});
    let token = app.post("/api/v1/auth/login", None, desktop).await.body["token"].as_str().unwrap().to_owned();
    let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", iphone)
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list = app.get("/api/v1/me/sessions", &token).await.body;
    let devices: Vec<_> = list.as_array().unwrap().iter().map(|s| s["device"].clone()).collect();
    assert!(devices.contains(&json!({"kind": "desktop", "name": "CMDOP Desktop 2.3 (macOS)"})), "{devices:?}");
    assert!(devices.iter().any(|d| d["kind"] == "mobile" && d["name"] == "Safari on iPhone"), "{devices:?}");
}

#[tokio::test]
async fn a_revoked_session_is_refused_on_the_next_request() {
    let app = spawn_app().await;
    let mine = app.signed_in_user("ada@example.com").await;
    let other = app.token_for("ada@example.com", PASSWORD).await;
    let other_id = app.get("/api/v1/me/sessions", &other).await.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &other).await.status, StatusCode::OK);
    let r = app.delete(&format!("/api/v1/me/sessions/{other_id}"), &mine).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(&app.get("/api/v1/me", &other).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(app.get("/api/v1/me", &mine).await.status, StatusCode::OK);
}

#[tokio::test]
async fn another_accounts_session_cannot_be_revoked() {
    let app = spawn_app().await;
    let ada = app.signed_in_user("ada@example.com").await;
    let bob = app.signed_in_user("bob@example.com").await;
    let bob_session = app.get("/api/v1/me/sessions", &bob).await.body[0]["id"].as_str().unwrap().to_owned();
    assert_error(
        &app.delete(&format!("/api/v1/me/sessions/{bob_session}"), &ada).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(app.get("/api/v1/me", &bob).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_others_keeps_the_current_session() {
    let app = spawn_app().await;
    let mine = app.signed_in_user("ada@example.com").await;
    let others = [app.token_for("ada@example.com", PASSWORD).await, app.token_for("ada@example.com", PASSWORD).await];
    let r = app.post("/api/v1/me/sessions/revoke-others", Some(&mine), json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"revoked": 2}));
    for t in &others {
        assert_error(&app.get("/api/v1/me", t).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let list = app.get("/api/v1/me/sessions", &mine).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["current"], true);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.advance_clock(Duration::days(13));
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    app.advance_clock(Duration::days(15));
    assert_error(&app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn last_activity_moves_at_the_documented_resolution() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let before = app.get("/api/v1/me/sessions", &token).await.body[0]["last_activity_at"].clone();
    app.advance_clock(Duration::minutes(5));
    app.get("/api/v1/me", &token).await;
    // The touch is written off the request path; give it a moment.
    let mut after = before.clone();
    for _ in 0..50 {
        after = app.get("/api/v1/me/sessions", &token).await.body[0]["last_activity_at"].clone();
        if after != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let parse = |v: &serde_json::Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(parse(&after) - parse(&before) >= Duration::minutes(5), "{before} -> {after}");
}

#[tokio::test]
async fn cookie_writes_need_our_origin() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let cookie = format!("latchkey_session={token}");
    let url = app.url("/api/v1/me/sessions/revoke-others");
    let cross =
        app.client.post(&url).header("cookie", &cookie).header("origin", "https://evil.example").send().await.unwrap();
    assert_error(&crate::helpers::read(cross).await, StatusCode::FORBIDDEN, "csrf_failed");
    let bare = app.client.post(&url).header("cookie", &cookie).send().await.unwrap();
    assert_error(&crate::helpers::read(bare).await, StatusCode::FORBIDDEN, "csrf_failed");
    let same = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", &app.state.config.public_url)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    let read = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "reads by cookie need no origin");
}
