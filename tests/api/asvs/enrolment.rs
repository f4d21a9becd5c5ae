//! `LATCHKEY_REQUIRE_2FA` (ASVS 6.3.3): past the deadline, an account without a second
//! factor keeps its personal pages and loses the rest until it enrols one.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app_with};
use latchkey::domain::enrolment::RequiredEnrolment;

const OWNER: &str = "owner@example.com";

async fn app_requiring_2fa_from(deadline: chrono::DateTime<Utc>) -> TestApp {
    spawn_app_with(|c| c.settings.required_enrolment = RequiredEnrolment::From(deadline)).await
}

async fn verify(app: &TestApp, token: &str) -> crate::helpers::Response {
    crate::helpers::read(app.client.get(app.url("/auth/verify")).bearer_auth(token).send().await.unwrap()).await
}

#[tokio::test]
async fn an_account_without_a_factor_keeps_its_own_pages_and_nothing_else_until_it_enrols() {
    let app = app_requiring_2fa_from(Utc::now() - Duration::days(1)).await;
    let token = app.signed_in_user(OWNER).await;

    for path in ["/api/v1/me", "/api/v1/me/sessions", "/api/v1/me/2fa", "/api/v1/me/workspaces"] {
        assert_eq!(app.get(path, &token).await.status, StatusCode::OK, "{path} stays open");
    }
    let create = app.post("/api/v1/workspaces", Some(&token), json!({"name": "Acme"})).await;
    assert_error(&create, StatusCode::FORBIDDEN, "2fa_enrolment_required");
    assert_error(&verify(&app, &token).await, StatusCode::FORBIDDEN, "2fa_enrolment_required");

    app.enable_totp(&token).await;
    let create = app.post("/api/v1/workspaces", Some(&token), json!({"name": "Acme"})).await;
    assert_eq!(create.status, StatusCode::CREATED, "{}", create.text);
    assert_eq!(verify(&app, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_grace_period_ends_at_the_deadline_even_for_a_workspace_already_joined() {
    let app = app_requiring_2fa_from(Utc::now() + Duration::days(7)).await;
    let token = app.signed_in_user(OWNER).await;
    let created = app.post("/api/v1/workspaces", Some(&token), json!({"name": "Acme"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "before the deadline: {}", created.text);
    let workspace = format!("/api/v1/workspaces/{}", created.body["id"].as_str().unwrap());
    assert_eq!(app.get(&workspace, &token).await.status, StatusCode::OK);
    assert_eq!(verify(&app, &token).await.status, StatusCode::OK);

    app.advance_clock(Duration::days(8));
    assert_error(&app.get(&workspace, &token).await, StatusCode::FORBIDDEN, "2fa_enrolment_required");
    assert_error(&verify(&app, &token).await, StatusCode::FORBIDDEN, "2fa_enrolment_required");
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_sign_in_page_sends_an_account_that_must_enrol_to_the_two_factor_section() {
    let app = app_requiring_2fa_from(Utc::now() - Duration::days(1)).await;
    app.signup(OWNER, PASSWORD).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let public = app.state.config.public_url.clone();
    let r = client
        .post(app.url("/login"))
        .header("origin", &public)
        .form(&[("email", OWNER), ("password", PASSWORD), ("rd", &format!("{public}/tokens"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/security#twofa-h", "not back to the app it came from");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = client.get(app.url("/security")).header("cookie", cookie).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("This service requires two-factor authentication"));
}
