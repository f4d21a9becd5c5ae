//! Device sign-ins, the new-device alert and its switch, and the one void rule's reach.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::email::confirm_address;
use crate::helpers::{PASSWORD, assert_error};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};

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
             WHERE table_schema = 'public' AND column_name IN ('user_id', 'link_user_id', 'invited_by', 'added_by', 'actor_id')",
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
             WHERE m.type = 'table' AND p.name IN ('user_id', 'link_user_id', 'invited_by', 'added_by', 'actor_id')",
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
