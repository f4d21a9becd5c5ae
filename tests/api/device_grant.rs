//! Device sign-in (RFC 8628): a CLI asks, a signed-in person approves, the CLI's poll gets
//! a session exactly once.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Response, TestApp, assert_error, spawn_app};

const ADA: &str = "ada@example.com";

struct Flow {
    device_code: String,
    user_code: String,
}

async fn start(app: &TestApp) -> (Flow, Value) {
    let body = json!({"client_name": "cmdop CLI 1.4", "device": {"kind": "desktop", "name": "cmdop CLI 1.4 on Linux"}});
    let r = app.post("/api/v1/auth/device/code", None, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let flow = Flow {
        device_code: r.body["device_code"].as_str().unwrap().to_owned(),
        user_code: r.body["user_code"].as_str().unwrap().to_owned(),
    };
    (flow, r.body)
}

async fn poll(app: &TestApp, flow: &Flow) -> Response {
    app.post("/api/v1/auth/device/token", None, json!({"device_code": flow.device_code})).await
}

/// Waits out the interval (the app's clock; at most 20 s in these tests), then polls.
async fn poll_later(app: &TestApp, flow: &Flow) -> Response {
    app.advance_clock(Duration::seconds(30));
    poll(app, flow).await
}

#[tokio::test]
async fn the_codes_follow_rfc_8628() {
    let app = spawn_app().await;
    let (_, body) = start(&app).await;
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.replace('-', "").bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{user_code}");
    let base = format!("http://localhost:{}", app.addr.port());
    assert_eq!(body["verification_uri"], format!("{base}/device"));
    assert_eq!(body["verification_uri_complete"], format!("{base}/device?user_code={user_code}"));
    assert_eq!((body["expires_in"].as_i64(), body["interval"].as_i64()), (Some(600), Some(5)));
    assert!(body["device_code"].as_str().unwrap().len() > 40);
    for bad in [json!({"client_name": ""}), json!({"client_name": "x".repeat(101)}), json!({})] {
        let r = app.post("/api/v1/auth/device/code", None, bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    }
}

#[tokio::test]
async fn pending_slow_down_approved_once_then_spent() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let (flow, _) = start(&app).await;

    assert_error(&poll(&app, &flow).await, StatusCode::BAD_REQUEST, "authorization_pending");
    // Again at once: too fast, and the interval grows to 10 s.
    assert_error(&poll(&app, &flow).await, StatusCode::BAD_REQUEST, "slow_down");
    app.advance_clock(Duration::seconds(6));
    assert_error(&poll(&app, &flow).await, StatusCode::BAD_REQUEST, "slow_down");
    // Now 15 s: 11 s later is still too soon (and makes it 20 s); 21 s later is not.
    app.advance_clock(Duration::seconds(11));
    assert_error(&poll(&app, &flow).await, StatusCode::BAD_REQUEST, "slow_down");
    app.advance_clock(Duration::seconds(21));
    assert_error(&poll(&app, &flow).await, StatusCode::BAD_REQUEST, "authorization_pending");

    // The preview shows what is asking; the code is typed any which way.
    let typed = flow.user_code.to_lowercase().replace('-', "");
    let preview = app.get(&format!("/api/v1/me/device/{typed}"), &session).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["client_name"], "cmdop CLI 1.4");
    assert_eq!(preview.body["device"]["name"], "cmdop CLI 1.4 on Linux");
    assert_eq!(preview.body["ip"], "127.0.0.1");
    assert_eq!(preview.body["user_code"], flow.user_code);

    let r = app.post(&format!("/api/v1/me/device/{}/approve", flow.user_code), Some(&session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let got = poll_later(&app, &flow).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "ok");
    let token = got.body["token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.body["email"], ADA);
    assert_error(&poll_later(&app, &flow).await, StatusCode::BAD_REQUEST, "invalid_grant");

    // An ordinary session: listed with the device asked for, and signed out like any other.
    let sessions = app.get("/api/v1/me/sessions", &session).await.body;
    let device = sessions.as_array().unwrap().iter().find(|s| s["id"] == got.body["session_id"]).expect("listed");
    assert_eq!(device["device"]["kind"], "desktop", "{device}");
    assert_eq!(device["device"]["name"], "cmdop CLI 1.4 on Linux");
    let history = app.get("/api/v1/me/login-history", &session).await.body;
    let row = history.as_array().unwrap().iter().find(|r| r["method"] == "device").expect("history row");
    assert_eq!((row["success"].as_bool(), row["mfa_challenged"].as_bool()), (Some(true), Some(false)));
    let events = app.get("/api/v1/me/security-events", &session).await.body;
    let approved = events.as_array().unwrap().iter().find(|e| e["kind"] == "device_approved").expect("event");
    assert!(approved["detail"].as_str().unwrap().contains("cmdop CLI 1.4"), "{approved}");
    let id = got.body["session_id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/me/sessions/{id}"), &session).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);
    // A used code cannot be approved again.
    let again = app.post(&format!("/api/v1/me/device/{}/approve", flow.user_code), Some(&session), json!({})).await;
    assert_error(&again, StatusCode::CONFLICT, "user_code_used");
}

#[tokio::test]
async fn racing_polls_get_the_token_at_most_once() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    for _ in 0..5 {
        let (flow, _) = start(&app).await;
        let r = app.post(&format!("/api/v1/me/device/{}/approve", flow.user_code), Some(&session), json!({})).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let polls = (0..20).map(|_| poll(&app, &flow));
        let answers = futures::future::join_all(polls).await;
        let mut tokens = 0;
        for a in &answers {
            match a.status {
                StatusCode::OK => tokens += 1,
                _ => assert!(
                    ["slow_down", "invalid_grant"].contains(&a.body["error"].as_str().unwrap_or("")),
                    "{}",
                    a.text
                ),
            }
        }
        assert_eq!(tokens, 1, "exactly one poll got the session");
    }
}

#[tokio::test]
async fn denied_and_expired_are_told_and_final() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let (denied, _) = start(&app).await;
    let r = app.post(&format!("/api/v1/me/device/{}/deny", denied.user_code), Some(&session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_error(&poll_later(&app, &denied).await, StatusCode::BAD_REQUEST, "access_denied");
    let approve = app.post(&format!("/api/v1/me/device/{}/approve", denied.user_code), Some(&session), json!({})).await;
    assert_error(&approve, StatusCode::CONFLICT, "user_code_used");

    let (expired, _) = start(&app).await;
    app.advance_clock(Duration::minutes(11));
    assert_error(&poll(&app, &expired).await, StatusCode::BAD_REQUEST, "expired_token");
    let session = app.token_for(ADA, PASSWORD).await; // the old one idled past nothing, but stay fresh
    let late = app.get(&format!("/api/v1/me/device/{}", expired.user_code), &session).await;
    assert_error(&late, StatusCode::GONE, "user_code_expired");
    let late = app.post(&format!("/api/v1/me/device/{}/approve", expired.user_code), Some(&session), json!({})).await;
    assert_error(&late, StatusCode::GONE, "user_code_expired");
    assert_error(
        &app.post("/api/v1/auth/device/token", None, json!({"device_code": "lk_dvc_nothing"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn approving_needs_a_recent_sign_in_and_a_session_not_an_api_token() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let pat = app.post("/api/v1/me/tokens", Some(&session), json!({"name": "bot"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (flow, _) = start(&app).await;
    let path = format!("/api/v1/me/device/{}/approve", flow.user_code);
    assert_error(&app.post(&path, Some(&pat), json!({})).await, StatusCode::FORBIDDEN, "session_required");
    app.advance_clock(Duration::minutes(11));
    assert_error(&app.post(&path, Some(&session), json!({})).await, StatusCode::FORBIDDEN, "reauth_required");
    let r = app.post("/api/v1/auth/reauth", Some(&session), json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // The grant has expired meanwhile (11 minutes): a fresh one is approved at once.
    let (flow, _) = start(&app).await;
    let r = app.post(&format!("/api/v1/me/device/{}/approve", flow.user_code), Some(&session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn wrong_user_codes_are_limited_per_session_and_address() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let (flow, _) = start(&app).await;
    // A burst of wrong guesses in parallel: five are looked up, the rest refused.
    let guesses = (0..40).map(|i| {
        let session = session.clone();
        let app = &app;
        async move {
            app.get(&format!("/api/v1/me/device/BCDF-{:0>4}", ["GHJK", "LMNP", "QRST", "VWXZ"][i % 4]), &session).await
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let wrong = answers.iter().filter(|a| a.body["error"] == "invalid_user_code").count();
    let limited = answers.iter().filter(|a| a.body["error"] == "rate_limited").count();
    assert_eq!((wrong, limited), (5, 35), "{:?}", answers.iter().map(|a| &a.body["error"]).collect::<Vec<_>>());
    // Even the right code now waits: the guesser learns nothing more.
    let right = app.get(&format!("/api/v1/me/device/{}", flow.user_code), &session).await;
    assert_error(&right, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn workspace_enforced_2fa_treats_the_device_like_the_approving_account() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    app.enable_totp(&session).await;
    let workspace = app.team_workspace(&session, "Acme").await;
    let policy = format!("/api/v1/workspaces/{workspace}/policy");
    let r = app.request(reqwest::Method::PUT, &policy, Some(&session), Some(json!({"require_2fa": true}))).await;
    assert!(r.status.is_success(), "{}", r.text);
    let (flow, _) = start(&app).await;
    let r = app.post(&format!("/api/v1/me/device/{}/approve", flow.user_code), Some(&session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let got = poll_later(&app, &flow).await;
    let token = got.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/workspaces/{workspace}"), &token).await.status, StatusCode::OK);
    let history = app.get("/api/v1/me/login-history", &token).await.body;
    let row = history.as_array().unwrap().iter().find(|r| r["method"] == "device").expect("history row");
    assert_eq!(row["mfa_challenged"], true, "the approving account had passed 2FA");

    // Without 2FA the device's session is locked out of the workspace, as its owner would be.
    let r = app.post("/api/v1/me/2fa/disable", Some(&session), json!({"password": PASSWORD})).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{workspace}"), &token).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
}

#[tokio::test]
async fn a_disabled_account_gets_no_device_session() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let (flow, _) = start(&app).await;
    let r = app.post(&format!("/api/v1/me/device/{}/approve", flow.user_code), Some(&session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let out = crate::cli::latchkey(&app, &["user", "disable", ADA], None);
    assert!(out.status.success());
    assert_error(&poll_later(&app, &flow).await, StatusCode::BAD_REQUEST, "access_denied");
}

#[tokio::test]
async fn a_burst_of_device_sign_ins_from_one_address_gets_the_allowance() {
    let app = spawn_app().await;
    let starts = (0..100).map(|_| app.post("/api/v1/auth/device/code", None, json!({"client_name": "burst"})));
    let answers = futures::future::join_all(starts).await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    let limited = answers.iter().filter(|a| a.body["error"] == "rate_limited").count();
    assert_eq!((ok, limited), (60, 40), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
}

/// Odd bytes into every field device sign-in adds get a 4xx, never a 500, on either database.
#[tokio::test]
async fn odd_bytes_in_device_fields_are_refused_cleanly() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    for body in [
        json!({"client_name": "cli\u{0}"}),
        json!({"client_name": "x".repeat(10_000)}),
        json!({"client_name": "a\u{7}b"}),
    ] {
        let r = app.post("/api/v1/auth/device/code", None, body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let long_name = json!({"client_name": "cli", "device": {"kind": "desktop", "name": "n".repeat(10_000)}});
    let r = app.post("/api/v1/auth/device/code", None, long_name).await;
    assert_eq!(r.status, StatusCode::OK, "a long device name is cut, not refused: {}", r.text);
    let not_utf8 = app
        .client
        .post(app.url("/api/v1/auth/device/code"))
        .header("content-type", "application/json")
        .body(b"{\"client_name\": \"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(not_utf8.status(), StatusCode::BAD_REQUEST);
    for code in ["lk_dvc_\u{0}", &"lk_dvc_".repeat(2_000), "\u{ff}"] {
        let r = app.post("/api/v1/auth/device/token", None, json!({"device_code": code})).await;
        assert!(r.status == StatusCode::BAD_REQUEST, "{code:.20}: {}", r.text);
    }
    for path in ["BCDF%00GHJK", "%FF%FE", &"B".repeat(5_000)] {
        let r = app.get(&format!("/api/v1/me/device/{path}"), &session).await;
        assert!(r.status.is_client_error(), "{path:.20}: {} {}", r.status, r.text);
    }
}
