use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app};

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> crate::helpers::Response {
    app.post("/api/v1/me/password", Some(token), json!({"current_password": current, "new_password": new})).await
}

#[tokio::test]
async fn each_policy_rule_is_reported_on_its_own() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada.lovelace@example.com").await;
    let cases = [
        ("Sh0rt!Pw", "too_short"),
        ("NO-LOWER-CASE-HERE-9", "missing_lowercase"),
        ("no-upper-case-here-9", "missing_uppercase"),
        ("No-Digits-Anywhere-Here", "missing_digit"),
        ("NoSymbolsAnywhere9Here", "missing_symbol"),
        ("Password123!", "too_common"),
        ("Ada.Lovelace-Rules-99", "contains_email"),
        (PASSWORD, "reused"),
    ];
    for (password, code) in cases {
        let r = change(&app, &token, PASSWORD, password).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
        assert_eq!(r.body["violations"], json!([code]), "{password}");
    }
    // None of the refusals changed anything.
    assert_eq!(app.login("ada.lovelace@example.com", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_current_password_is_401() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    assert_error(
        &change(&app, &token, "Not-The-Password-1", "Brand-New-Secret-77").await,
        StatusCode::UNAUTHORIZED,
        "invalid_password",
    );
    let missing = app.post("/api/v1/me/password", Some(&token), json!({"new_password": "Brand-New-Secret-77"})).await;
    assert_error(&missing, StatusCode::UNAUTHORIZED, "invalid_password");
}

#[tokio::test]
async fn the_last_five_passwords_are_refused_and_the_sixth_oldest_allowed() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let history = [
        PASSWORD,
        "Second-Secret-22",
        "Third-Secret-333",
        "Fourth-Secret-4444",
        "Fifth-Secret-55555",
        "Sixth-Secret-666666",
    ];
    for pair in history.windows(2) {
        assert_eq!(change(&app, &token, pair[0], pair[1]).await.status, StatusCode::NO_CONTENT);
    }
    let current = history[5];
    for old in &history[1..] {
        let r = change(&app, &token, current, old).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
        assert_eq!(r.body["violations"], json!(["reused"]), "{old}");
    }
    assert_eq!(change(&app, &token, current, history[0]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.login("ada@example.com", history[0]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_change_signs_out_every_other_session_and_keeps_this_one() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let other = app.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(change(&app, &token, PASSWORD, "Brand-New-Secret-77").await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    assert_error(&app.get("/api/v1/me", &other).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&app.login("ada@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(app.login("ada@example.com", "Brand-New-Secret-77").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_old_sign_in_must_reauthenticate_first() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.advance_clock(Duration::minutes(11));
    assert_error(
        &change(&app, &token, PASSWORD, "Brand-New-Secret-77").await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    );
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status, StatusCode::OK, "the password is unchanged");
}

#[tokio::test]
async fn an_account_without_a_password_may_set_one_without_the_current() {
    let app = spawn_app().await;
    let email = latchkey::domain::email::Email::parse("oauth@example.com").unwrap();
    let user = latchkey::service::auth::create_account(&app.state, &email, None).await.unwrap();
    // Stand in for an OAuth sign-in, which the OAuth issue adds.
    let ctx = latchkey::service::ClientContext {
        ip: "127.0.0.1".parse().unwrap(),
        user_agent: None,
        location: latchkey::domain::location::Location::local_network(),
    };
    let device = latchkey::domain::device::Device::identify(None, None, None);
    let method = latchkey::domain::sign_in::SignInMethod::Device;
    let ending = latchkey::service::sign_in::Ending {
        user_id: &user.id,
        device: &device,
        method: &method,
        mfa_challenged: false,
        amr: latchkey::domain::proof::Amr::default(),
        origin: Default::default(),
    };
    let (token, _) = latchkey::service::sign_in::finish(&app.state, &ctx, ending).await.unwrap();
    let token = token.expose();
    assert_eq!(app.get("/api/v1/me", token).await.body["has_password"], false);
    let r = app.post("/api/v1/me/password", Some(token), json!({"new_password": "Brand-New-Secret-77"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.get("/api/v1/me", token).await.body["has_password"], true);
    assert_eq!(app.login("oauth@example.com", "Brand-New-Secret-77").await.status, StatusCode::OK);
}
