//! Recovery, email and device flows never turn into an account takeover. Each test is an
//! attack as an intruder would run it (a stolen session, a known password, a squatter who
//! signed up first, a device code), then the assertion that the door is shut.

use std::time::Duration as StdDuration;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::email::confirm_address;
use crate::helpers::{PASSWORD, Response, TestApp, assert_error};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};
use crate::soft_passkey::SoftPasskey;

const OWNER: &str = "ada@example.com";
const EVIL: &str = "mallory@evil.example";
const NEW_PASSWORD: &str = "Another-Long-Phrase-42";

async fn forgot(app: &TestApp, email: &str) {
    let r = app.post("/api/v1/auth/password/forgot", None, json!({"email": email})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

async fn reset(app: &TestApp, body: Value) -> Response {
    app.post("/api/v1/auth/password/reset", None, body).await
}

/// The newest reset link mailed to `to` (after `n` of them arrived).
async fn reset_link(sink: &SmtpSink, to: &str, n: usize) -> String {
    let mails = sink.wait_for_subject(to, "Reset your password", n).await;
    link_token(mails.last().unwrap(), "reset-password")
}

async fn start_device(app: &TestApp) -> (String, String) {
    let body = json!({"client_name": "cmdop CLI", "device": {"kind": "desktop", "name": "cmdop CLI"}});
    let r = app.post("/api/v1/auth/device/code", None, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (r.body["device_code"].as_str().unwrap().to_owned(), r.body["user_code"].as_str().unwrap().to_owned())
}

async fn approve(app: &TestApp, session: &str, user_code: &str) {
    let r = app.post(&format!("/api/v1/me/device/{user_code}/approve"), Some(session), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

async fn poll(app: &TestApp, device_code: &str) -> Response {
    app.advance_clock(Duration::seconds(30));
    app.post("/api/v1/auth/device/token", None, json!({"device_code": device_code})).await
}

async fn api_token(app: &TestApp, session: &str) -> String {
    let r = app.post("/api/v1/me/tokens", Some(session), json!({"name": "backdoor"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

async fn events(app: &TestApp, token: &str) -> Vec<String> {
    let body = app.get("/api/v1/me/security-events", token).await.body;
    body.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

async fn lock(app: &TestApp, token: &str) {
    let r = app.post("/api/v1/auth/lock", None, json!({"token": token})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_lock_voids_the_intruders_pending_email_change_and_device_code() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    app.signup(OWNER, PASSWORD).await;
    confirm_address(&app, &sink, OWNER).await;
    // The intruder knows the password: a session, an address change to their own, and an
    // approved device code they have not collected yet.
    let intruder = app.token_for(OWNER, PASSWORD).await;
    let r = app.post("/api/v1/me/email", Some(&intruder), json!({"email": EVIL})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let change = link_token(&sink.message(EVIL, "Confirm your email address").await, "verify-email");
    let (device_code, user_code) = start_device(&app).await;
    approve(&app, &intruder, &user_code).await;

    // The owner's notice carries the lock link.
    let notice = sink.message(OWNER, "Your email address is about to change").await;
    lock(&app, &link_token(&notice, "lock")).await;

    let confirm = app.post("/api/v1/auth/email/verify", None, json!({"token": change})).await;
    assert_error(&confirm, StatusCode::BAD_REQUEST, "invalid_token");
    assert_error(&poll(&app, &device_code).await, StatusCode::BAD_REQUEST, "access_denied");
    assert_error(&app.get("/api/v1/me", &intruder).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // The address stayed the owner's: a reset link goes there, never to the intruder.
    forgot(&app, EVIL).await;
    let token = reset_link(&sink, OWNER, 1).await;
    assert_eq!(reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await.status, StatusCode::NO_CONTENT);
    assert!(sink.with_subject(EVIL, "Reset your password").is_empty());
}

#[tokio::test]
async fn the_email_changed_alert_reaches_the_old_address_and_its_lock_puts_it_back() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    app.signup(OWNER, PASSWORD).await;
    confirm_address(&app, &sink, OWNER).await;
    let intruder = app.token_for(OWNER, PASSWORD).await;
    app.post("/api/v1/me/email", Some(&intruder), json!({"email": EVIL})).await;
    let change = link_token(&sink.message(EVIL, "Confirm your email address").await, "verify-email");
    assert_eq!(
        app.post("/api/v1/auth/email/verify", None, json!({"token": change})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get("/api/v1/me", &intruder).await.body["email"], EVIL);

    // The alert goes to the address that can say "this wasn't me": the old one.
    let alert = sink.message(OWNER, "Your account's email address was changed").await;
    assert!(sink.with_subject(EVIL, "Your account's email address was changed").is_empty());
    lock(&app, &link_token(&alert, "lock")).await;

    let token = reset_link(&sink, OWNER, 1).await;
    assert_eq!(reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await.status, StatusCode::NO_CONTENT);
    let owner = app.token_for(OWNER, NEW_PASSWORD).await;
    let me = app.get("/api/v1/me", &owner).await.body;
    assert_eq!((me["email"].clone(), me["email_verified"].clone()), (json!(OWNER), json!(true)));
    assert_error(&app.login(EVIL, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn email_links_are_refused_while_the_account_is_disabled_and_lock_links_still_work() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user(OWNER).await;
    let verify = link_token(&sink.message(OWNER, "Confirm your email address").await, "verify-email");
    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 1).await;
    api_token(&app, &session).await;
    let alert = sink.message(OWNER, "An API token was created for your account").await;

    let operator = latchkey::service::operator::Operator("test".into());
    let email = latchkey::domain::email::Email::parse(OWNER).unwrap();
    latchkey::service::operator::disable(&app.state, &email, &operator).await.unwrap();
    latchkey::service::operator::enable(&app.state, &email, &operator).await.unwrap();
    // Disabling voided the links; a disabled account refuses new ones too.
    for (path, body) in [
        ("/api/v1/auth/email/verify", json!({"token": verify})),
        ("/api/v1/auth/password/reset", json!({"token": token, "new_password": NEW_PASSWORD})),
    ] {
        assert_error(&app.post(path, None, body).await, StatusCode::BAD_REQUEST, "invalid_token");
    }
    forgot(&app, OWNER).await;
    let fresh = reset_link(&sink, OWNER, 2).await;
    latchkey::service::operator::disable(&app.state, &email, &operator).await.unwrap();
    let r = reset(&app, json!({"token": fresh, "new_password": NEW_PASSWORD})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_token");
    lock(&app, &link_token(&alert, "lock")).await;
}

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

#[tokio::test]
async fn a_device_sign_in_is_never_fresher_than_the_session_that_approved_it() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let approver = app.signed_in_user(OWNER).await;
    app.advance_clock(Duration::minutes(9));
    let (device_code, user_code) = start_device(&app).await;
    approve(&app, &approver, &user_code).await;
    let device = poll(&app, &device_code).await;
    assert_eq!(device.status, StatusCode::OK, "{}", device.text);
    let device = device.body["token"].as_str().unwrap().to_owned();
    // 10 minutes after the approver's sign-in, the device's session is as stale as it.
    app.advance_clock(Duration::minutes(2));
    let mint = app.post("/api/v1/me/tokens", Some(&device), json!({"name": "x"})).await;
    assert_error(&mint, StatusCode::FORBIDDEN, "reauth_required");
    let change = app.post("/api/v1/me/email", Some(&device), json!({"email": EVIL})).await;
    assert_error(&change, StatusCode::FORBIDDEN, "reauth_required");
    // And the approval was alerted, with a lock link.
    let alert = sink.message(OWNER, "A device was signed in to your account with a code").await;
    assert!(alert["text"].as_str().unwrap().contains("cmdop CLI"), "{}", alert["text"]);
    link_token(&alert, "lock");
    assert!(events(&app, &device).await.contains(&"device_approved".to_owned()));
}

#[tokio::test]
async fn an_approved_code_not_yet_collected_dies_with_a_reset_and_an_operators_sign_out() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user(OWNER).await;
    confirm_address(&app, &sink, OWNER).await;
    let (by_reset, code) = start_device(&app).await;
    approve(&app, &session, &code).await;
    forgot(&app, OWNER).await;
    let token = reset_link(&sink, OWNER, 1).await;
    assert_eq!(reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await.status, StatusCode::NO_CONTENT);
    assert_error(&poll(&app, &by_reset).await, StatusCode::BAD_REQUEST, "access_denied");

    let session = app.token_for(OWNER, NEW_PASSWORD).await;
    let (by_sign_out, code) = start_device(&app).await;
    approve(&app, &session, &code).await;
    let email = latchkey::domain::email::Email::parse(OWNER).unwrap();
    let operator = latchkey::service::operator::Operator("test".into());
    latchkey::service::operator::sign_out_everywhere(&app.state, &email, &operator).await.unwrap();
    assert_error(&poll(&app, &by_sign_out).await, StatusCode::BAD_REQUEST, "access_denied");
}

#[tokio::test]
async fn a_client_cannot_silence_the_new_device_alert_by_naming_itself() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    app.signup(OWNER, PASSWORD).await;
    let login = |ua: &'static str, name: Option<&'static str>| {
        let body = match name {
            Some(n) => json!({"email": OWNER, "password": PASSWORD, "device": {"kind": "browser", "name": n}}),
            None => json!({"email": OWNER, "password": PASSWORD}),
        };
        app.client.post(app.url("/api/v1/auth/login")).header("user-agent", ua).json(&body).send()
    };
    assert_eq!(login(firefox, None).await.unwrap().status(), StatusCode::OK);
    // Another program claims to be the owner's Firefox.
    assert_eq!(login("evil-bot/1.0", Some("Firefox on Linux")).await.unwrap().status(), StatusCode::OK);
    let alert = sink.message(OWNER, "New sign-in to your account").await;
    assert!(alert["text"].as_str().unwrap().contains("From: 127.0.0.1"), "{}", alert["text"]);
}

#[tokio::test]
async fn turning_new_sign_in_alerts_off_needs_a_recent_sign_in_and_is_alerted() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let stolen = app.signed_in_user(OWNER).await;
    app.advance_clock(Duration::minutes(11));
    let put = |on: bool| {
        app.request(reqwest::Method::PUT, "/api/v1/me/notifications", Some(&stolen), Some(json!({"new_sign_in": on})))
    };
    assert_error(&put(false).await, StatusCode::FORBIDDEN, "reauth_required");
    assert_eq!(app.get("/api/v1/me/notifications", &stolen).await.body, json!({"new_sign_in": true}));
    let r = app.post("/api/v1/auth/reauth", Some(&stolen), json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(put(false).await.status, StatusCode::OK);
    let alert = sink.message(OWNER, "Your new-sign-in alerts were switched").await;
    link_token(&alert, "lock");
    assert!(events(&app, &stolen).await.contains(&"notifications_changed".to_owned()));
}

#[tokio::test]
async fn confirmation_mails_to_one_address_stop_at_five_an_hour() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user(OWNER).await;
    for _ in 0..7 {
        let r = app.post("/api/v1/me/email/verify/resend", Some(&session), json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    sink.wait_for_subject(OWNER, "Confirm your email address", 5).await;
    tokio::time::sleep(StdDuration::from_secs(1)).await;
    assert_eq!(sink.with_subject(OWNER, "Confirm your email address").len(), 5, "the sign-up's and four more");
    // Address changes aimed at one victim's mailbox stop too.
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(app.post("/api/v1/me/email", Some(&session), json!({"email": "victim@example.com"})).await.status);
    }
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::ACCEPTED).count(), 5, "{answers:?}");
    assert_eq!(answers.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}

/// Every table of the schema that holds something of an account's is either voided by
/// the one rule (`store::VOIDED_TABLES`) or kept on purpose (`store::KEPT_TABLES`): a new
/// kind of pending thing cannot be added without deciding what a lock does to it.
#[tokio::test]
async fn every_table_of_an_accounts_things_is_classified_by_the_void_rule() {
    use sqlx::{Connection, Row};
    let app = crate::helpers::spawn_app().await;
    let url = app.state.config.database_url.clone();
    let owned: Vec<String> = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(
            "SELECT DISTINCT table_name::text AS t FROM information_schema.columns
             WHERE table_schema = 'public' AND column_name IN ('user_id', 'link_user_id')",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("t"))
        .collect()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "SELECT DISTINCT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.name IN ('user_id', 'link_user_id')",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("t"))
        .collect()
    };
    assert!(owned.len() >= 15, "{owned:?}");
    for table in &owned {
        let voided = latchkey::store::VOIDED_TABLES.contains(&table.as_str());
        let kept = latchkey::store::KEPT_TABLES.contains(&table.as_str());
        assert!(voided ^ kept, "{table}: decide in store/pending.rs whether a lock voids it");
    }
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
