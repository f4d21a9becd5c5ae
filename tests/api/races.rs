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
    let app = &crate::helpers::spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    const SAMPLES: usize = 25;
    // Distinct accounts, so the per-account lockout never starts.
    for i in 0..SAMPLES {
        app.signup(&format!("user{i}@example.com"), PASSWORD).await;
    }
    // Each attempt from its own address (behind a trusted proxy), so the per-address
    // limit never answers instead of the password check.
    let attempt = std::sync::atomic::AtomicU32::new(0);
    let attempt = &attempt;
    let timed = |email: String| async move {
        let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ip = format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        let request = app.client.post(app.url("/api/v1/auth/login")).header("x-forwarded-for", ip);
        let t = std::time::Instant::now();
        let r =
            request.json(&serde_json::json!({"email": email, "password": "Wrong-Password-1!"})).send().await.unwrap();
        let elapsed = t.elapsed().as_secs_f64();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        elapsed
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Interleaved pairs, alternating which goes first: this machine's speed drifts by
    // tens of percent, and other tests run beside this one, so each pair is compared in
    // the same moment. A round spoiled by a burst of load is measured again, twice at most.
    let mut rounds = Vec::new();
    for round in 0..3 {
        let mut pairs = Vec::new();
        for i in 0..SAMPLES {
            let (k, u) = (format!("user{i}@example.com"), format!("ghost{round}-{i}@example.com"));
            let pair = if i % 2 == 0 {
                let k = timed(k).await;
                (k, timed(u).await)
            } else {
                let u = timed(u).await;
                (timed(k).await, u)
            };
            pairs.push(pair);
        }
        let known = median(pairs.iter().map(|p| p.0).collect());
        let unknown = median(pairs.iter().map(|p| p.1).collect());
        let relative = median(pairs.iter().map(|(k, u)| (k - u) / k.max(*u)).collect());
        println!(
            "round {round}: wrong password {:.1} ms, unknown email {:.1} ms, median paired difference {:+.1}%",
            known * 1e3,
            unknown * 1e3,
            relative * 100.0
        );
        rounds.push(relative);
        if relative.abs() < 0.10 {
            return;
        }
    }
    panic!("unknown-email and wrong-password sign-ins differ by more than 10% in every round: {rounds:?}");
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_account_and_a_revocation_holds_under_load() {
    let app = &spawn_app().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        let email = format!("user{i}@example.com");
        tokens.push((app.signed_in_user(&email).await, email));
    }
    // Many requests in flight at once share lookups: each must still get its own account.
    let tokens = &tokens;
    let load = || {
        futures::future::join_all(tokens.iter().cycle().take(64).map(|(token, email)| async move {
            let me = app.get("/api/v1/me", token).await;
            assert_eq!(me.status, StatusCode::OK, "{}", me.text);
            assert_eq!(me.body["email"], email.as_str(), "a request got another caller's account");
        }))
    };
    for _ in 0..5 {
        load().await;
    }
    // Revoke one session while the others keep the lookups busy: once the revocation
    // has answered, no request with that token may get through, however it is batched.
    let victim = app.token_for("user0@example.com", PASSWORD).await;
    let id = app.get("/api/v1/me/sessions", &victim).await.body[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/sessions/{id}");
    let (revoked, ()) = tokio::join!(app.delete(&path, &tokens[0].0), async {
        load().await;
    });
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text);
    let victims = futures::future::join_all((0..16).map(|_| app.get("/api/v1/me", &victim)));
    let (victims, ()) = tokio::join!(victims, async {
        load().await;
    });
    for me in victims {
        assert_error(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}
