//! What a reset asks for, how often a link may be tried, what it voids, and how long a
//! refused sign-in takes.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::email::confirm_address;
use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};
use crate::soft_passkey::SoftPasskey;

#[tokio::test]
async fn a_reset_of_a_never_verified_account_reclaims_it_from_the_squatter() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    // The squatter signed up first with the owner's address (never confirmed) and set up
    // a token, a second factor and an approved device code.
    let squatter = app.signed_in_user(OWNER).await;
    let backdoor = api_token(&app, &squatter).await;
    app.enable_totp(&squatter).await;
    let (device_code, user_code) = start_device(&app).await;
    approve(&app, &squatter, &user_code).await;

    // The owner asks for a reset: the mailbox is the first proof, no second factor asked.
    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 1).await;
    let r = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    assert_error(&app.get("/api/v1/me", &backdoor).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&app.get("/api/v1/me", &squatter).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&poll(&app, &device_code).await, StatusCode::BAD_REQUEST, "access_denied");
    let owner = app.token_for(OWNER, NEW_PASSWORD).await;
    let me = app.get("/api/v1/me", &owner).await.body;
    assert_eq!(me["two_factor"]["enabled"], false, "the squatter's TOTP is gone: {me}");
    assert_eq!(me["email_verified"], true);
    assert_eq!(app.get("/api/v1/me/tokens", &owner).await.body, json!([]));
    assert!(events(&app, &owner).await.contains(&"account_reclaimed".to_owned()));
}

#[tokio::test]
async fn a_reset_link_serves_five_refused_tries_and_a_burst_checks_at_most_five() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user(OWNER).await;
    confirm_address(&app, &sink, OWNER).await;
    let (auth, _) = app.enable_totp(&session).await;
    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 1).await;
    for _ in 0..5 {
        let wrong = json!({"token": token, "new_password": NEW_PASSWORD, "method": "totp", "code": "000000"});
        assert_error(&reset(&app, wrong).await, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    let code = app.next_code(&auth);
    let right = json!({"token": token, "new_password": NEW_PASSWORD, "method": "totp", "code": code});
    assert_error(&reset(&app, right).await, StatusCode::BAD_REQUEST, "invalid_token");

    // 200 at once with one new link: at most 5 are checked (each refused for its missing
    // second factor); the rest are refused before anything is checked.
    app.advance_clock(Duration::hours(2));
    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 2).await;
    let burst = (0..200).map(|_| reset(&app, json!({"token": token, "new_password": PASSWORD})));
    let answers = futures::future::join_all(burst).await;
    let checked = answers.iter().filter(|r| r.body["error"] == "mfa_required").count();
    let cheap =
        answers.iter().filter(|r| r.body["error"] == "invalid_token" || r.body["error"] == "rate_limited").count();
    assert_eq!((checked, cheap), (5, 195), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());

    // Without 2FA, each check hashes: a reused password is refused after an Argon2
    // comparison with the history, and still only 5 of 200 get that far.
    app.advance_clock(Duration::minutes(16));
    app.signup("bob@example.com", PASSWORD).await;
    forgot(&app, "bob@example.com").await;
    let token = reset_link(&sink, "bob@example.com", 1).await;
    let burst = (0..200).map(|_| reset(&app, json!({"token": token, "new_password": PASSWORD})));
    let answers = futures::future::join_all(burst).await;
    let hashed = answers.iter().filter(|r| r.status == StatusCode::UNPROCESSABLE_ENTITY).count();
    assert_eq!(hashed, 5, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_account_whose_only_factor_is_a_key_resets_with_that_key() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user(OWNER).await;
    confirm_address(&app, &sink, OWNER).await;
    app.team_workspace(&session, "Engines").await;
    let origin = app.state.config.public_url.clone();
    let mut key = SoftPasskey::device_bound();
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Key"})).await;
    let credential = key.register(&origin, &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await.status,
        StatusCode::CREATED
    );

    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 1).await;
    let bare = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
    assert_error(&bare, StatusCode::UNAUTHORIZED, "mfa_required");
    assert_eq!(bare.body["methods"], json!(["webauthn", "backup_code"]));
    let challenge = app.post("/api/v1/auth/password/reset/webauthn", None, json!({"token": token})).await;
    assert_eq!(challenge.status, StatusCode::OK, "{}", challenge.text);
    let assertion = key.assert(&origin, &challenge.body["options"]);
    let done = reset(
        &app,
        json!({"token": token, "new_password": NEW_PASSWORD, "method": "webauthn",
               "challenge_id": challenge.body["challenge_id"], "credential": assertion}),
    )
    .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    app.mfa_token(OWNER, NEW_PASSWORD).await; // the key is still the second factor
}

/// Locks the sign-in of each of `emails` (known or not) for 5 minutes: 11 failures, each
/// after the previous lock ended on the app's clock.
async fn lock_out(app: &TestApp, emails: &[&str]) {
    for _ in 0..11 {
        for email in emails {
            let r = app.login(email, "Not-The-Password-1").await;
            assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        app.advance_clock(Duration::seconds(61));
    }
    for email in emails {
        let r = app.login(email, "Not-The-Password-1").await;
        assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
}

#[tokio::test]
async fn a_429_takes_as_long_for_an_existing_account_as_for_an_unknown_email() {
    let app = crate::helpers::spawn_app().await;
    app.signup(OWNER, PASSWORD).await;
    lock_out(&app, &[OWNER, "nobody@example.com"]).await;
    // Pairs, in alternating order, so that the load of whatever else runs meanwhile falls
    // on both alike; the median of the differences is what the account's existence costs.
    let time = |email: &'static str| {
        let app = &app;
        async move {
            let t = std::time::Instant::now();
            let r = app.login(email, "Not-The-Password-1").await;
            assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
            t.elapsed().as_secs_f64() * 1000.0
        }
    };
    let mut unknown = Vec::new();
    let mut differences = Vec::new();
    for i in 0..300 {
        let (k, u) = if i % 2 == 0 {
            let k = time(OWNER).await;
            (k, time("nobody@example.com").await)
        } else {
            let u = time("nobody@example.com").await;
            (time(OWNER).await, u)
        };
        unknown.push(u);
        differences.push(k - u);
    }
    unknown.sort_by(f64::total_cmp);
    differences.sort_by(f64::total_cmp);
    let (d, u) = (differences[150], unknown[150]);
    // Within 5% (or 0.1 ms, below which a loaded machine's jitter decides).
    assert!(d.abs() <= (0.05 * u).max(0.1), "the account's 429 takes {d:+.3} ms more than nobody's ({u:.3} ms)");
}

#[tokio::test]
async fn wrong_codes_spread_over_sign_in_reset_and_re_authentication_share_one_lock() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let stolen = app.signed_in_user(OWNER).await;
    confirm_address(&app, &sink, OWNER).await;
    let (auth, _) = app.enable_totp(&stolen).await;
    // Two wrong codes at sign-in, two on a reset link, one at re-authentication: five.
    for _ in 0..2 {
        let mfa = app.mfa_token(OWNER, PASSWORD).await;
        assert_error(&app.mfa(&mfa, "totp", "000000").await, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 1).await;
    for _ in 0..2 {
        let wrong = json!({"token": token, "new_password": NEW_PASSWORD, "method": "totp", "code": "000000"});
        assert_error(&reset(&app, wrong).await, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    let r = app.post("/api/v1/auth/reauth", Some(&stolen), json!({"code": "000000"})).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_code");
    // The account's lock is on (for a second after the fifth): the next guess waits,
    // wherever it is tried; apart, re-authentication would have had five more.
    let r = app.post("/api/v1/auth/reauth", Some(&stolen), json!({"code": "111111"})).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Whoever sent them got past the password: the owner hears of it, with the lock link.
    let alert = sink.message(OWNER, LOCKED_BY_CODES).await;
    link_token(&alert, "lock");
    // Once it ends, the owner's right code works.
    let r = app.post("/api/v1/auth/reauth", Some(&stolen), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(events(&app, &stolen).await.iter().filter(|e| *e == "locked_out").count(), 1);

    // A second lockout the same UTC day is recorded, and mails no one again.
    let mfa = app.mfa_token(OWNER, PASSWORD).await;
    for _ in 0..5 {
        assert_error(&app.mfa(&mfa, "totp", "000000").await, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    assert_eq!(events(&app, &stolen).await.iter().filter(|e| *e == "locked_out").count(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.with_subject(OWNER, LOCKED_BY_CODES).len(), 1, "one alert a day");
}

const LOCKED_BY_CODES: &str = "Sign-in to your account was locked after wrong codes";

#[tokio::test]
async fn a_lockout_by_wrong_passwords_mails_no_one() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let token = app.signed_in_user(OWNER).await;
    confirm_address(&app, &sink, OWNER).await;
    for _ in 0..5 {
        assert_error(&app.login(OWNER, "Wrong-Password-123!").await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    assert!(events(&app, &token).await.contains(&"locked_out".to_owned()));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let subjects: Vec<_> = sink.wait_for(OWNER, 0).await.iter().map(|m| m["headers"]["subject"].clone()).collect();
    assert!(!subjects.iter().any(|s| s.as_str().is_some_and(|s| s.contains("locked"))), "{subjects:?}");
}
