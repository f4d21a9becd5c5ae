//! The flows that reach a person by mail, end to end through the API and a real SMTP
//! server: password reset (with the second factor), the "this wasn't me" lock, changing
//! the address, and the alerts.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};

const NEW_PASSWORD: &str = "Another-Long-Phrase-42";

async fn forgot(app: &TestApp, email: &str) -> crate::helpers::Response {
    app.post("/api/v1/auth/password/forgot", None, json!({"email": email})).await
}

async fn reset(app: &TestApp, body: Value) -> crate::helpers::Response {
    app.post("/api/v1/auth/password/reset", None, body).await
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user("ada@example.com").await;
    assert_eq!(forgot(&app, "ada@example.com").await.status, StatusCode::ACCEPTED);
    assert_eq!(forgot(&app, "nobody@example.com").await.status, StatusCode::ACCEPTED);
    assert_eq!(forgot(&app, "not an address").await.status, StatusCode::ACCEPTED);
    let m = sink.message("ada@example.com", "Reset your password").await;
    let token = link_token(&m, "reset-password");

    let weak = reset(&app, json!({"token": token, "new_password": "short"})).await;
    assert_error(&weak, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    let reused = reset(&app, json!({"token": token, "new_password": PASSWORD})).await;
    assert_error(&reused, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    assert!(reused.text.contains("reused"), "{}", reused.text);

    let done = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    assert_error(&app.get("/api/v1/me", &session).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(
        &reset(&app, json!({"token": token, "new_password": "Yet-Another-Phrase-77"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    );
    let fresh = app.token_for("ada@example.com", NEW_PASSWORD).await;
    let me = app.get("/api/v1/me", &fresh).await.body;
    assert_eq!(me["email_verified"], true, "the link reached the address");
    let events = app.get("/api/v1/me/security-events", &fresh).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "password_reset"), "{events}");
    sink.message("ada@example.com", "Your password was reset").await;
    assert!(sink.messages().iter().all(|m| m["headers"]["to"] != "nobody@example.com"));
}

#[tokio::test]
async fn links_already_sent_stay_good_until_one_is_used_and_five_an_hour_is_the_most() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    app.signup("ada@example.com", PASSWORD).await;
    for _ in 0..7 {
        assert_eq!(forgot(&app, "ada@example.com").await.status, StatusCode::ACCEPTED);
    }
    sink.wait_for_subject("ada@example.com", "Reset your password", 5).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resets = sink.with_subject("ada@example.com", "Reset your password");
    assert_eq!(resets.len(), 5, "five mails per address and hour");
    let tokens: Vec<String> = resets.iter().map(|m| link_token(m, "reset-password")).collect();
    // Every link sent still works (a flood of requests never costs the owner theirs)...
    for t in &tokens {
        assert!(crate::email::reset_page_is_live(&app, t).await, "a link already sent stays good");
    }
    // ...until one is used: that voids the others.
    let used = reset(&app, json!({"token": tokens[0], "new_password": NEW_PASSWORD})).await;
    assert_eq!(used.status, StatusCode::NO_CONTENT, "{}", used.text);
    for t in &tokens[1..] {
        let r = reset(&app, json!({"token": t, "new_password": "Yet-Another-Phrase-77"})).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_token");
    }

    // Half an hour later a link is dead.
    app.advance_clock(chrono::Duration::hours(2));
    forgot(&app, "ada@example.com").await;
    sink.wait_for_subject("ada@example.com", "Reset your password", 6).await;
}

/// Whether the reset page of `token` offers the form (the link is live).
pub async fn reset_page_is_live(app: &TestApp, token: &str) -> bool {
    let page = app.client.get(app.url(&format!("/reset-password?token={token}"))).send().await.unwrap();
    page.text().await.unwrap().contains("name=\"new_password\"")
}

/// Confirms the account's address with the sign-up's link, as its owner would.
pub async fn confirm_address(app: &TestApp, sink: &SmtpSink, email: &str) {
    let token = link_token(&sink.message(email, "Confirm your email address").await, "verify-email");
    let r = app.post("/api/v1/auth/email/verify", None, json!({"token": token})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_reset_never_goes_around_the_second_factor() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user("ada@example.com").await;
    confirm_address(&app, &sink, "ada@example.com").await;
    let (auth, codes) = app.enable_totp(&session).await;
    forgot(&app, "ada@example.com").await;
    let token = link_token(&sink.message("ada@example.com", "Reset your password").await, "reset-password");

    let bare = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
    assert_error(&bare, StatusCode::UNAUTHORIZED, "mfa_required");
    assert_eq!(bare.body["methods"], json!(["totp", "backup_code"]));
    let wrong =
        reset(&app, json!({"token": token, "new_password": NEW_PASSWORD, "method": "totp", "code": "000000"})).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_code");
    let code = app.next_code(&auth);
    let right =
        reset(&app, json!({"token": token, "new_password": NEW_PASSWORD, "method": "totp", "code": code})).await;
    assert_eq!(right.status, StatusCode::NO_CONTENT, "{}", right.text);

    // A backup code works too, once.
    forgot(&app, "ada@example.com").await;
    let resets = sink.wait_for_subject("ada@example.com", "Reset your password", 2).await;
    let token = resets.iter().map(|m| link_token(m, "reset-password")).find(|t| *t != token).unwrap();
    let body =
        json!({"token": token, "new_password": "Third-Long-Phrase-99", "method": "backup_code", "code": codes[0]});
    assert_eq!(reset(&app, body).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn forgot_answers_alike_and_in_the_same_time_for_known_and_unknown_addresses() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    app.signup("ada@example.com", PASSWORD).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..10 {
        let t = Instant::now();
        let a = forgot(&app, "ada@example.com").await;
        known.push(t.elapsed());
        let t = Instant::now();
        let b = forgot(&app, &format!("nobody{i}@example.com")).await;
        unknown.push(t.elapsed());
        assert_eq!((a.status, a.text), (b.status, b.text));
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[5].as_secs_f64() * 1000.0, unknown[5].as_secs_f64() * 1000.0);
    assert!((k - u).abs() < 15.0, "median {k:.1} ms for a known address, {u:.1} ms for an unknown one");
}

#[tokio::test]
async fn this_wasnt_me_locks_everything_and_sends_a_reset_link() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user("ada@example.com").await;
    let api_token = app.post("/api/v1/me/tokens", Some(&session), json!({"name": "ci"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let alert = sink.message("ada@example.com", "An API token was created for your account").await;
    let text = alert["text"].as_str().unwrap();
    assert!(text.contains("From: 127.0.0.1"), "{text}");
    assert!(text.contains("\"ci\""), "{text}");
    let lock = link_token(&alert, "lock");

    let r = app.post("/api/v1/auth/lock", None, json!({"token": lock})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_error(&app.get("/api/v1/me", &session).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&app.get("/api/v1/me", &api_token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(
        &app.post("/api/v1/auth/lock", None, json!({"token": lock})).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    );
    let stolen = app.login("ada@example.com", PASSWORD).await;
    assert_error(&stolen, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let token = link_token(&sink.message("ada@example.com", "Reset your password").await, "reset-password");
    assert_eq!(reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await.status, StatusCode::NO_CONTENT);
    let fresh = app.token_for("ada@example.com", NEW_PASSWORD).await;
    let events = app.get("/api/v1/me/security-events", &fresh).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "account_locked"), "{events}");
}

#[tokio::test]
async fn changing_the_address_takes_the_new_addresss_link() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user("ada@example.com").await;
    let r = app.post("/api/v1/me/email", Some(&session), json!({"email": "ada@lovelace.example"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let notice = sink.message("ada@example.com", "Your email address is about to change").await;
    assert!(notice["text"].as_str().unwrap().contains("ada@lovelace.example"));
    assert_eq!(app.get("/api/v1/me", &session).await.body["email"], "ada@example.com", "not before the link is used");
    let token = link_token(&sink.message("ada@lovelace.example", "Confirm your email address").await, "verify-email");
    assert_eq!(
        app.post("/api/v1/auth/email/verify", None, json!({"token": token})).await.status,
        StatusCode::NO_CONTENT
    );
    let me = app.get("/api/v1/me", &session).await.body;
    assert_eq!((me["email"].clone(), me["email_verified"].clone()), (json!("ada@lovelace.example"), json!(true)));
    // The alert goes to the old address: the one that can say "this wasn't me".
    sink.message("ada@example.com", "Your account's email address was changed").await;
    assert!(!app.token_for("ada@lovelace.example", PASSWORD).await.is_empty());

    // Needs a recent sign-in.
    app.advance_clock(chrono::Duration::minutes(11));
    let stale = app.post("/api/v1/me/email", Some(&session), json!({"email": "x@example.com"})).await;
    assert_error(&stale, StatusCode::FORBIDDEN, "reauth_required");
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_alerts_unless_turned_off() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    app.signed_in_user("ada@example.com").await;
    let login_as = |ua: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/api/v1/auth/login"))
                .header("user-agent", ua)
                .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
        }
    };
    // The same device as the first sign-in: nothing.
    login_as("latchkey-tests/1.0").await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let token = login_as(firefox).await;
    let alert = sink.message("ada@example.com", "New sign-in to your account").await;
    assert!(alert["text"].as_str().unwrap().contains("Firefox"), "{}", alert["text"]);
    login_as(firefox).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alerts = || sink.with_subject("ada@example.com", "New sign-in to your account").len();
    assert_eq!(alerts(), 1, "a known device is not news");

    assert_eq!(app.get("/api/v1/me/notifications", &token).await.body, json!({"new_sign_in": true}));
    let off = app
        .request(reqwest::Method::PUT, "/api/v1/me/notifications", Some(&token), Some(json!({"new_sign_in": false})))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    login_as("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(alerts(), 1, "turned off");
}

#[tokio::test]
async fn running_low_on_backup_codes_alerts() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user("ada@example.com").await;
    let (_, codes) = app.enable_totp(&session).await;
    sink.message("ada@example.com", "A sign-in factor was added to your account").await;
    for code in &codes[..8] {
        let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
        assert_eq!(app.mfa(&mfa, "backup_code", code).await.status, StatusCode::OK);
    }
    sink.wait_for_subject("ada@example.com", "You are running out of backup codes", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let low = sink.with_subject("ada@example.com", "You are running out of backup codes");
    assert_eq!(low.len(), 1, "at 2 left, not before");
    assert!(low[0]["text"].as_str().unwrap().contains("2 left"));
}

#[tokio::test]
async fn a_burst_of_reset_requests_gets_the_address_limit_and_five_mails() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    app.signup("ada@example.com", PASSWORD).await;
    let answers = futures::future::join_all((0..60).map(|_| forgot(&app, "ada@example.com"))).await;
    let accepted = answers.iter().filter(|r| r.status == StatusCode::ACCEPTED).count();
    let limited = answers.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((accepted, limited), (30, 30), "30 per address in 15 minutes, however parallel");
    sink.wait_for_subject("ada@example.com", "Reset your password", 5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.with_subject("ada@example.com", "Reset your password").len(), 5, "five per address and hour");
}

#[tokio::test]
async fn an_account_made_through_a_provider_sets_its_first_password_by_the_reset_flow() {
    use crate::oidc::{Browser, Person, spawn_app_with_provider};
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with_provider(move |c| c.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    let person = Person { sub: "only-1", email: "only@example.com", verified: true };
    let token = Browser::new(&app).sign_in(&person).await.session_token().unwrap();
    assert_eq!(app.get("/api/v1/me", &token).await.body["has_password"], false);
    forgot(&app, "only@example.com").await;
    let m = sink.message("only@example.com", "Set a password").await;
    let link = link_token(&m, "reset-password");
    assert_eq!(reset(&app, json!({"token": link, "new_password": NEW_PASSWORD})).await.status, StatusCode::NO_CONTENT);
    let fresh = app.token_for("only@example.com", NEW_PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &fresh).await.body["has_password"], true);
}

#[tokio::test]
async fn a_device_remembered_at_its_first_sign_in_is_still_new_and_its_token_makes_it_known() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let session = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&session).await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let send =
        |path: &str, body: Value| app.client.post(app.url(path)).header("user-agent", firefox).json(&body).send();
    let first =
        send("/api/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD, "remember_device": true}))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
    let code = app.next_code(&auth);
    let done = send("/api/v1/auth/mfa", json!({"mfa_token": first["mfa_token"], "method": "totp", "code": code}))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let trusted = done["trusted_device_token"].as_str().expect("remembered").to_owned();
    sink.wait_for_subject("ada@example.com", "New sign-in to your account", 1).await;
    // The next sign-in from it skips 2FA on its trusted-device token, and is not news.
    let again = send(
        "/api/v1/auth/login",
        json!({"email": "ada@example.com", "password": PASSWORD, "trusted_device_token": trusted}),
    )
    .await
    .unwrap();
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "ok");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.with_subject("ada@example.com", "New sign-in to your account").len(), 1);
}
