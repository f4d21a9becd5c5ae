//! The lock, address changes, links on disabled accounts, and mail caps.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::email::confirm_address;
use crate::helpers::{PASSWORD, assert_error};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};

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

#[tokio::test]
async fn a_lock_and_a_reset_racing_on_one_account_never_fail_the_server() {
    // Both take the account row before its links, so neither waits on the other forever
    // (on PostgreSQL a deadlock would abort one with a 500).
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    for i in 0..4 {
        let email = format!("race{i}@example.com");
        let session = app.signed_in_user(&email).await;
        confirm_address(&app, &sink, &email).await;
        app.post("/api/v1/me/tokens", Some(&session), json!({"name": "t"})).await;
        let alert = sink.message(&email, "An API token was created for your account").await;
        forgot(&app, &email).await;
        let token = reset_link(&sink, &email, 1).await;
        let (locked, reset_done) = tokio::join!(
            app.post("/api/v1/auth/lock", None, json!({"token": link_token(&alert, "lock")})),
            reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})),
        );
        assert_eq!(locked.status, StatusCode::NO_CONTENT, "{}", locked.text);
        assert!(
            reset_done.status == StatusCode::NO_CONTENT || reset_done.body["error"] == "invalid_token",
            "{}",
            reset_done.text
        );
    }
}
