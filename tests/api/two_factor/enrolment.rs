//! Setting up TOTP, backup codes, and removing factors.

use super::*;

#[tokio::test]
async fn setup_changes_nothing_until_confirmed() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, body) = app.start_totp_setup(&token).await;
    assert_eq!(auth.base32.len(), 32, "160-bit secret");
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Latchkey:ada%40example.com?"), "{uri}");
    assert!(uri.contains(&format!("secret={}", auth.base32)));
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    let status = app.get("/api/v1/me/2fa", &token).await.body;
    assert_eq!(status, json!({"enabled": false, "totp": null, "webauthn_keys": 0, "backup_codes_remaining": 0}));
    assert_eq!(app.login("ada@example.com", PASSWORD).await.body["status"], "ok");
}

#[tokio::test]
async fn confirming_turns_2fa_on_with_ten_backup_codes() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (_, codes) = app.enable_totp(&token).await;
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert!(c.len() == 11 && &c[5..6] == "-", "{c}");
    }
    let me = app.get("/api/v1/me", &token).await.body;
    assert_eq!(me["two_factor"], json!({"enabled": true, "methods": ["totp"]}));
    let status = app.get("/api/v1/me/2fa", &token).await.body;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["backup_codes_remaining"], 10);
    assert!(status["totp"]["created_at"].is_string());
    let events = app.get("/api/v1/me/security-events", &token).await.body;
    assert_eq!(events[0]["kind"], "2fa_enabled");
}

#[tokio::test]
async fn a_wrong_code_or_no_setup_cannot_confirm() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": "123456"})).await;
    assert_error(&r, StatusCode::CONFLICT, "setup_required");
    let (auth, _) = app.start_totp_setup(&token).await;
    let wrong = if app.code(&auth) == "000000" { "111111" } else { "000000" };
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": wrong})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_code");
    assert_eq!(app.get("/api/v1/me/2fa", &token).await.body["enabled"], false);
}

#[tokio::test]
async fn a_code_from_oathtool_is_accepted() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.start_totp_setup(&token).await;
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", &auth.base32])
        .output()
        .expect("oathtool is installed by scripts/test");
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 6);
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": code})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn the_qr_code_decodes_to_exactly_the_otpauth_uri() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (_, body) = app.start_totp_setup(&token).await;
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("qr.svg");
    let png = dir.path().join("qr.png");
    std::fs::write(&svg, body["qr_svg"].as_str().unwrap()).unwrap();
    let raster = std::process::Command::new("rsvg-convert").arg("-w").arg("400").arg("-o").arg(&png).arg(&svg).status();
    assert!(raster.expect("rsvg-convert is installed by scripts/test").success());
    let out = std::process::Command::new("zbarimg").args(["--raw", "-q"]).arg(&png).output().expect("zbarimg");
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), body["otpauth_uri"].as_str().unwrap());
}

#[tokio::test]
async fn regenerating_backup_codes_voids_the_old_ones_and_needs_a_recent_sign_in() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (_, old) = app.enable_totp(&token).await;
    let r = app.post("/api/v1/me/2fa/backup-codes", Some(&token), json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    let new: Vec<String> =
        r.body["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_error(&app.mfa(&mfa, "backup_code", &old[0]).await, StatusCode::UNAUTHORIZED, "invalid_code");
    assert_eq!(app.mfa(&mfa, "backup_code", &new[0]).await.status, StatusCode::OK);

    app.advance_clock(Duration::minutes(11));
    let r = app.post("/api/v1/me/2fa/backup-codes", Some(&token), json!({})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
}

#[tokio::test]
async fn the_only_factor_cannot_be_deleted_but_2fa_can_be_disabled() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&token).await;
    assert_error(&app.delete("/api/v1/me/2fa/totp", &token).await, StatusCode::CONFLICT, "last_factor");
    let wrong = app.post("/api/v1/me/2fa/disable", Some(&token), json!({"password": "Not-The-Password-1"})).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_password");
    let r = app.post("/api/v1/me/2fa/disable", Some(&token), json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/me/2fa", &token).await.body,
        json!({"enabled": false, "totp": null, "webauthn_keys": 0, "backup_codes_remaining": 0})
    );
    assert_eq!(app.login("ada@example.com", PASSWORD).await.body["status"], "ok");
    let again = app.post("/api/v1/me/2fa/disable", Some(&token), json!({"password": PASSWORD})).await;
    assert_error(&again, StatusCode::CONFLICT, "2fa_not_enabled");
}

#[tokio::test]
async fn totp_secrets_are_sealed_at_rest() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let user_id = app.get("/api/v1/me", &token).await.body["id"].as_str().unwrap().to_owned();
    let stored = app.state.store.totp(&user_id).await.unwrap().unwrap();
    assert!(!stored.secret_sealed.contains(&auth.base32));
    assert!(!stored.secret_sealed.contains(&hex::encode(auth.secret.as_bytes())));
    let other_key = latchkey::secrets::Secrets::from_master_key(&[9; 32]).unwrap();
    assert!(other_key.open(&stored.secret_sealed, &user_id).is_err());
}

#[tokio::test]
async fn a_wrong_secret_key_stops_the_server_at_start() {
    let key_a = "a".repeat(64);
    let app = crate::helpers::spawn_app_with(|c| c.secret_key = Some(key_a.clone().into())).await;
    let mut config = (*app.state.config).clone();
    let again = latchkey::server::build_state(config.clone(), latchkey::clock::Clock::default()).await;
    assert!(again.is_ok(), "the same key opens the same database");
    config.secret_key = Some("b".repeat(64).into());
    let err = latchkey::server::build_state(config, latchkey::clock::Clock::default()).await.err().unwrap();
    assert!(err.to_string().contains("secret key does not match"), "{err}");
}

#[tokio::test]
async fn admin_reset_removes_every_factor_and_session() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&token).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["user", "reset-2fa", "ada@example.com", "--database", &app.state.config.database_url, "--data-dir"])
        .arg(&app.state.config.data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_error(&app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let fresh = app.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(app.get("/api/v1/me/2fa", &fresh).await.body["enabled"], false);
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["user", "reset-2fa", "nobody@example.com", "--database", &app.state.config.database_url, "--data-dir"])
        .arg(&app.state.config.data_dir)
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));
}

#[tokio::test]
async fn a_stale_session_cannot_swap_in_its_own_authenticator() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (owners, _) = app.enable_totp(&token).await;
    // A setup started while the sign-in was recent cannot be confirmed once it is not.
    let (pending, _) = app.start_totp_setup(&token).await;
    app.advance_clock(Duration::minutes(11));
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": app.code(&pending)})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    let r = app.post("/api/v1/me/2fa/totp/setup", Some(&token), json!({})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    // So the attacker's next steps (re-auth with their own app, new codes) never open.
    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": app.code(&pending)})).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_code");
    let r = app.post("/api/v1/me/2fa/backup-codes", Some(&token), json!({})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    let r = app.post("/api/v1/me/tokens", Some(&token), json!({"name": "exfil", "expires_in_days": 365})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "reauth_required");
    // The owner's authenticator is unchanged and still signs in.
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_eq!(app.mfa(&mfa, "totp", &app.next_code(&owners)).await.status, StatusCode::OK);
}
