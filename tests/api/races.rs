//! Requests that race each other. (One backup code and one TOTP code racing twenty
//! times are in `two_factor`.)

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn a_sign_in_racing_a_password_change_never_outlives_it() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let mut current = PASSWORD.to_owned();
    for round in 0..6 {
        let next = format!("Rotated-Secret-{round}-Xy!");
        let change =
            app.post("/api/v1/me/password", Some(&session), json!({"current_password": current, "new_password": next}));
        let logins = futures::future::join_all((0..3).map(|_| app.login("ada@example.com", &current)));
        let (changed, logins) = tokio::join!(change, logins);
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
        for login in logins {
            if let Some(token) = login.body["token"].as_str() {
                let me = app.get("/api/v1/me", token).await;
                assert_error(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
            }
        }
        current = next;
    }
    assert_eq!(app.get("/api/v1/me", &session).await.status, StatusCode::OK, "the changing session stays");
}

#[tokio::test]
async fn a_request_racing_its_sessions_revocation_is_refused_afterwards() {
    let app = spawn_app().await;
    let mine = app.signed_in_user("ada@example.com").await;
    for _ in 0..10 {
        let other = app.token_for("ada@example.com", PASSWORD).await;
        let id = app.get("/api/v1/me/sessions", &other).await.body[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/me/sessions/{id}");
        let (revoked, during) = tokio::join!(app.delete(&path, &mine), app.get("/api/v1/me", &other));
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert!(during.status == StatusCode::OK || during.status == StatusCode::UNAUTHORIZED, "{}", during.text);
        assert_error(&app.get("/api/v1/me", &other).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn unknown_email_and_wrong_password_take_the_same_time() {
    let app = &spawn_app().await;
    const SAMPLES: usize = 25;
    // Distinct accounts, so the per-account lockout never starts.
    for i in 0..SAMPLES {
        app.signup(&format!("user{i}@example.com"), PASSWORD).await;
    }
    let timed = |email: String| async move {
        let t = std::time::Instant::now();
        assert_eq!(app.login(&email, "Wrong-Password-1!").await.status, StatusCode::UNAUTHORIZED);
        t.elapsed().as_secs_f64()
    };
    // Interleaved pairs, alternating which goes first: this machine's speed drifts by
    // tens of percent between runs, so each pair is compared in the same moment.
    let mut pairs = Vec::new();
    for i in 0..SAMPLES {
        let (known, unknown) = if i % 2 == 0 {
            let k = timed(format!("user{i}@example.com")).await;
            (k, timed(format!("ghost{i}@example.com")).await)
        } else {
            let u = timed(format!("ghost{i}@example.com")).await;
            (timed(format!("user{i}@example.com")).await, u)
        };
        pairs.push((known, unknown));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let known = median(pairs.iter().map(|p| p.0).collect());
    let unknown = median(pairs.iter().map(|p| p.1).collect());
    let relative = median(pairs.iter().map(|(k, u)| (k - u) / k.max(*u)).collect());
    println!(
        "medians: wrong password {:.1} ms, unknown email {:.1} ms; median paired difference {:+.1}%",
        known * 1e3,
        unknown * 1e3,
        relative * 100.0
    );
    assert!(relative.abs() < 0.10, "paired medians differ by {:.1}%", relative * 100.0);
}
