//! Limits under bursts of parallel requests: each attempt is counted before it is
//! checked, so however many arrive at once, no more are checked than the sequential
//! rules allow.

use std::time::{Duration, Instant};

use latchkey::domain::rate_limit::PROGRESSIVE_DELAYS;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, Response, TestApp, assert_error, read, spawn_app, spawn_app_with};

const WRONG: &str = "Wrong-Password-1!";

/// Wrong guesses that one account's progressive lock lets through within `elapsed` when
/// they come one after another as fast as allowed: five, then one more as each lock
/// (1 s, 3 s, 5 s, ...) runs out.
fn sequential_allowance(elapsed: Duration) -> usize {
    let mut unlocks_at = 0;
    let mut allowed = 5;
    for delay in PROGRESSIVE_DELAYS {
        unlocks_at += delay;
        if elapsed.as_secs_f64() >= unlocks_at as f64 {
            allowed += 1;
        }
    }
    allowed
}

/// Every response is `expected`, a 429, or (on a machine too slow to hash them all in
/// time) a 503 for an attempt that was let through but never checked. Returns how many
/// attempts were let through: the `expected` answers plus the 503s.
#[track_caller]
fn count_let_through(responses: &[Response], expected: (StatusCode, &str)) -> usize {
    let mut let_through = 0;
    for r in responses {
        match r.status {
            StatusCode::TOO_MANY_REQUESTS => {
                assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                assert!(r.body["retry_after"].as_u64().is_some_and(|s| s >= 1), "{}", r.text);
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "overloaded");
                let_through += 1;
            }
            _ => {
                assert_error(r, expected.0, expected.1);
                let_through += 1;
            }
        }
    }
    let_through
}

async fn behind_proxy() -> TestApp {
    spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await
}

#[tokio::test]
async fn two_hundred_parallel_wrong_passwords_from_as_many_addresses_get_the_sequential_allowance() {
    let app = &behind_proxy().await;
    app.signup("ada@example.com", PASSWORD).await;
    let started = Instant::now();
    let responses = futures::future::join_all((0..200).map(|i| async move {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("198.51.{}.{}", i / 250, i % 250 + 1))
            .json(&json!({"email": "ada@example.com", "password": WRONG}))
            .send()
            .await
            .unwrap();
        read(r).await
    }))
    .await;
    let allowance = sequential_allowance(started.elapsed());
    let checked = count_let_through(&responses, (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    assert!(checked >= 5, "the five free attempts are let through: {checked}");
    assert!(checked <= allowance, "{checked} wrong passwords were let through; sequentially {allowance} would be");

    // Once the locks are over the owner's password works, and the history holds one row
    // for the refused flood, not 195.
    app.advance_clock(chrono::Duration::minutes(16));
    let token = app.token_for("ada@example.com", PASSWORD).await;
    let history = app.get("/api/v1/me/login-history?limit=500", &token).await.body;
    let refused = history.as_array().unwrap().iter().filter(|r| r["failure"] == "rate_limited").count();
    assert_eq!(refused, 1, "one row for the window's refusals: {history}");
}

#[tokio::test]
async fn four_hundred_parallel_wrong_codes_on_one_mfa_token_get_five_answers() {
    let app = &spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let mfa_token = &app.mfa_token("ada@example.com", PASSWORD).await;
    let right = app.next_code(&auth);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let wrong = &wrong;
    let responses = futures::future::join_all((0..400).map(|_| app.mfa(mfa_token, "totp", wrong))).await;
    let mut checked = 0;
    for r in &responses {
        match (r.status, r.body["error"].as_str()) {
            (StatusCode::UNAUTHORIZED, Some("invalid_code")) => checked += 1,
            (StatusCode::UNAUTHORIZED, Some("mfa_token_expired")) | (StatusCode::TOO_MANY_REQUESTS, _) => {}
            _ => panic!("unexpected answer: {} {}", r.status, r.text),
        }
    }
    assert!((1..=5).contains(&checked), "{checked} codes were checked against one mfa_token; at most 5 may be");
    // The token is spent: even the right code does not sign in with it.
    assert_error(&app.mfa(mfa_token, "totp", &right).await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
}

#[tokio::test]
async fn a_burst_of_wrong_reauth_passwords_gets_the_sequential_allowance() {
    let app = &spawn_app().await;
    let token = &app.signed_in_user("ada@example.com").await;
    let started = Instant::now();
    let responses = futures::future::join_all(
        (0..200).map(|_| app.post("/api/v1/auth/reauth", Some(token), json!({"password": WRONG}))),
    )
    .await;
    let allowance = sequential_allowance(started.elapsed());
    let checked = count_let_through(&responses, (StatusCode::UNAUTHORIZED, "invalid_password"));
    assert!((5..=allowance).contains(&checked), "{checked} re-auth passwords checked; sequentially {allowance}");
}

#[tokio::test]
async fn a_burst_of_wrong_current_passwords_gets_the_sequential_allowance() {
    let app = &spawn_app().await;
    let token = &app.signed_in_user("ada@example.com").await;
    let change = json!({"current_password": WRONG, "new_password": "Brand-New-Secret-77"});
    let started = Instant::now();
    let responses =
        futures::future::join_all((0..200).map(|_| app.post("/api/v1/me/password", Some(token), change.clone()))).await;
    let allowance = sequential_allowance(started.elapsed());
    let checked = count_let_through(&responses, (StatusCode::UNAUTHORIZED, "invalid_password"));
    assert!((5..=allowance).contains(&checked), "{checked} current passwords checked; sequentially {allowance}");
}

#[tokio::test]
async fn one_address_gets_no_more_than_ninety_nine_failures_in_a_burst() {
    let app = &behind_proxy().await;
    let responses = futures::future::join_all((0..150).map(|i| async move {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"email": format!("user{i}@example.com"), "password": WRONG}))
            .send()
            .await
            .unwrap();
        read(r).await
    }))
    .await;
    let checked = count_let_through(&responses, (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    assert_eq!(checked, 99, "the address's window allows 99 failures, in parallel as in sequence");
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64() {
    let app = &behind_proxy().await;
    let from = |ip: String, i: usize| async move {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": format!("user{i}@example.com"), "password": WRONG}))
            .send()
            .await
            .unwrap();
        read(r).await
    };
    // A fresh address of the same /64 for every guess does not reset the count.
    for i in 0..99 {
        assert_eq!(from(format!("2001:db8:1:2::{:x}", i + 1), i).await.status, StatusCode::UNAUTHORIZED, "{i}");
    }
    let r = from("2001:db8:1:2:ffff::1".into(), 100).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(from("2001:db8:1:3::1".into(), 101).await.status, StatusCode::UNAUTHORIZED, "the next /64 is another");
}

/// The 50-token cap is counted under the account's lock, with the creating session
/// re-checked there: 200 creations at once make exactly 50.
#[tokio::test]
async fn two_hundred_api_tokens_at_once_stop_at_the_cap_of_fifty() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let answers = futures::future::join_all(
        (0..200).map(|n| app.post("/api/v1/me/tokens", Some(&session), json!({"name": format!("bot {n}")}))),
    )
    .await;
    let created = answers.iter().filter(|r| r.status == StatusCode::CREATED).count();
    for refused in answers.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_error(refused, StatusCode::CONFLICT, "limit_reached");
    }
    assert_eq!(created, 50);
    assert_eq!(app.get("/api/v1/me/tokens", &session).await.body.as_array().unwrap().len(), 50);
}
