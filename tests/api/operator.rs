//! The operator's commands against this run's database, with servers running on it:
//! `user disable|enable|sign-out|show` and `backup`.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::latchkey;
use crate::helpers::{PASSWORD, ServerProcess, TestApp, assert_error, spawn_app};

const ADA: &str = "ada@example.com";

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn api_token(app: &TestApp, session: &str) -> String {
    let r = app.post("/api/v1/me/tokens", Some(session), json!({"name": "deploy bot"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_disabled_account_is_shut_out_of_every_instance_at_once_and_its_tokens_for_good() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    app.signup(ADA, PASSWORD).await;
    let here = app.token_for(ADA, PASSWORD).await;
    let there = other.token_for(ADA, PASSWORD).await;
    let pat = api_token(&app, &here).await;

    let out = ok(&latchkey(&app, &["user", "disable", ADA], None));
    assert!(out.contains("signed out 2 sessions"), "{out}");

    // Both instances refuse both sessions and the API token on the very next request.
    for (instance, token) in [(&app, &here), (&other, &there), (&app, &pat), (&other, &pat)] {
        assert_error(&instance.get("/api/v1/me", token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    // The right password gets the wrong password's answer: nothing says "disabled".
    let right = app.login(ADA, PASSWORD).await;
    assert_error(&right, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let wrong = app.login(ADA, "Not-The-Password-1").await;
    assert_eq!((right.status, &right.body["error"]), (wrong.status, &wrong.body["error"]));

    let out = ok(&latchkey(&app, &["user", "enable", ADA], None));
    assert!(out.contains("enabled"), "{out}");
    app.advance_clock(Duration::minutes(5)); // past the delay the two failures earned
    let session = app.token_for(ADA, PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &pat).await.status, StatusCode::UNAUTHORIZED, "a disable revoked the token");
    assert_eq!(app.get("/api/v1/me", &here).await.status, StatusCode::UNAUTHORIZED, "old sessions stay gone");

    let history = app.get("/api/v1/me/login-history", &session).await.body;
    let failures: Vec<_> = history.as_array().unwrap().iter().filter_map(|r| r["failure"].as_str()).collect();
    assert!(failures.contains(&"disabled") && failures.contains(&"invalid_password"), "{failures:?}");
    let events = app.get("/api/v1/me/security-events", &session).await.body;
    let find = |kind: &str| events.as_array().unwrap().iter().find(|e| e["kind"] == kind).cloned();
    let disabled = find("account_disabled").expect("account_disabled event");
    assert!(disabled["detail"].as_str().unwrap().contains("operator"), "{disabled}");
    assert!(find("account_enabled").is_some(), "{events}");
}

#[tokio::test]
async fn disable_stops_a_sign_in_half_way_through_its_second_step() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let (auth, _) = app.enable_totp(&session).await;
    let mfa_token = app.mfa_token(ADA, PASSWORD).await;

    ok(&latchkey(&app, &["user", "disable", ADA], None));
    let r = app.mfa(&mfa_token, "totp", &app.next_code(&auth)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.body.get("token").is_none(), "{}", r.text);
}

#[tokio::test]
async fn sign_out_revokes_sessions_and_trusted_devices_and_keeps_api_tokens() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    let pat = api_token(&app, &session).await;
    let (auth, _) = app.enable_totp(&session).await;
    let first = app
        .post("/api/v1/auth/login", None, json!({"email": ADA, "password": PASSWORD, "remember_device": true}))
        .await;
    let mfa_token = first.body["mfa_token"].as_str().unwrap().to_owned();
    let second = app.mfa(&mfa_token, "totp", &app.next_code(&auth)).await;
    let remembered = second.body["trusted_device_token"].as_str().unwrap().to_owned();
    let phone = second.body["token"].as_str().unwrap().to_owned();

    let out = ok(&latchkey(&app, &["user", "sign-out", ADA], None));
    assert!(out.starts_with("signed out 2 sessions and 1 trusted devices"), "{out}");
    for token in [&session, &phone] {
        assert_eq!(app.get("/api/v1/me", token).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get("/api/v1/me", &pat).await.status, StatusCode::OK);
    let again = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": ADA, "password": PASSWORD, "trusted_device_token": remembered}),
        )
        .await;
    assert_eq!(again.body["status"], "mfa_required", "the device is trusted no more: {}", again.text);
}

#[tokio::test]
async fn user_show_gives_one_account_to_people_and_to_scripts() {
    let app = spawn_app().await;
    app.signup(ADA, PASSWORD).await;
    let session = app.token_for(ADA, PASSWORD).await;
    app.enable_totp(&session).await;
    api_token(&app, &session).await;
    app.post("/api/v1/workspaces", Some(&session), json!({"name": "Acme"})).await;

    let text = ok(&latchkey(&app, &["user", "show", ADA], None));
    for expected in
        [ADA, "status          active", "password set    yes", "totp", "10 left", "deploy bot", "Acme", "2fa_enabled"]
    {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let json: Value = serde_json::from_str(&ok(&latchkey(&app, &["user", "show", ADA, "--json"], None))).unwrap();
    assert_eq!(json["email"], ADA);
    assert_eq!(json["email_verified"], false);
    assert_eq!(json["password_set"], true);
    assert_eq!(json["disabled"], false);
    assert_eq!(json["two_factor"]["methods"], json!(["totp"]));
    assert_eq!(json["two_factor"]["backup_codes_remaining"], 10);
    assert_eq!(json["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(json["api_tokens"][0]["name"], "deploy bot");
    assert_eq!(json["workspaces"][0]["name"], "Acme");
    assert_eq!(json["workspaces"][0]["role"], "owner");
    assert!(json["recent_sign_ins"][0]["success"].as_bool().unwrap());
    assert!(json["recent_security_events"].as_array().unwrap().iter().any(|e| e["kind"] == "2fa_enabled"));

    ok(&latchkey(&app, &["user", "disable", ADA], None));
    let json: Value = serde_json::from_str(&ok(&latchkey(&app, &["user", "show", ADA, "--json"], None))).unwrap();
    assert_eq!(json["disabled"], true);
    assert!(json["disabled_at"].is_string());
    assert!(ok(&latchkey(&app, &["user", "show", ADA], None)).contains("DISABLED since"));
}

#[tokio::test]
async fn every_operator_command_has_help_and_fails_with_one_line() {
    let app = spawn_app().await;
    for command in
        [&["user", "disable"][..], &["user", "enable"], &["user", "sign-out"], &["user", "show"], &["backup"]]
    {
        let help = ok(&latchkey(&app, &[command, &["--help"]].concat(), None));
        assert!(help.contains("Usage:"), "{help}");
    }
    for command in [&["user", "disable"][..], &["user", "enable"], &["user", "sign-out"], &["user", "show"]] {
        for (email, says) in
            [("nobody@example.com", "no account with email nobody@example.com"), ("not-an-email", "email")]
        {
            let out = latchkey(&app, &[command, &[email]].concat(), None);
            assert!(!out.status.success(), "{command:?} {email}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
            assert!(stderr.contains(says), "{stderr}");
        }
    }
}

/// On SQLite: a copy taken while accounts are being created is a whole database that a
/// server opens and signs into. On PostgreSQL: refused, pointing to pg_dump.
#[tokio::test]
async fn a_backup_taken_under_write_load_restores_and_signs_in() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("latchkey-backup.db");
    let target_arg = target.to_str().unwrap().to_owned();
    if !app.state.config.database_url.starts_with("sqlite:") {
        let out = latchkey(&app, &["backup", &target_arg], None);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("pg_dump") && stderr.trim_end().lines().count() == 1, "{stderr}");
        assert!(!target.exists());
        return;
    }
    app.signup(ADA, PASSWORD).await;

    // Sign-ups keep writing while the copy is taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (client, base, stop) = (app.client.clone(), app.url("/api/v1/auth/signup"), stop.clone());
        tokio::spawn(async move {
            let mut created = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let email = format!("load{created}@example.com");
                let r = client.post(&base).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                created += 1;
            }
            created
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let arg = target_arg.clone();
    let out = tokio::task::spawn_blocking({
        let (db, data) = (app.state.config.database_url.clone(), app.state.config.data_dir.clone());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                .args(["backup", &arg, "--database", &db])
                .arg("--data-dir")
                .arg(&data)
                .env_remove("LATCHKEY_CONFIG")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let created = writer.await.unwrap();
    let said = ok(&out);
    assert!(said.starts_with(&format!("wrote {target_arg}")), "{said}");
    assert!(created > 0, "the load ran");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("latchkey-backup.db")], "no partial file left");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600, "only its owner reads it");

    // Restore: the copy and the secret key in a new data dir, served, signed into.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&target, restored.path().join("latchkey.db")).unwrap();
    std::fs::copy(app.state.config.data_dir.join("secret.key"), restored.path().join("secret.key")).unwrap();
    let url = format!("sqlite://{}", restored.path().join("latchkey.db").display());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.args(["serve", "--database", &url]).arg("--data-dir").arg(restored.path());
    let server = ServerProcess::start(command);
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    let r = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": ADA, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let me = client.get(format!("{}/api/v1/me", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["email"], ADA);

    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut copy = sqlx::AnyConnection::connect(&url).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut copy).await.unwrap();
    assert_eq!(integrity, "ok");
}
