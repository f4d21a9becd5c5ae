//! The second step of a sign-in and of a re-authentication: TOTP and backup codes, once each, under one limit.

use super::*;

#[tokio::test]
async fn sign_in_asks_for_the_second_factor_and_accepts_a_totp_code() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let r = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(r.body["status"], "mfa_required");
    assert_eq!(r.body["methods"], json!(["totp", "backup_code"]));
    assert!(r.body.get("token").is_none(), "no session before the second factor");
    let done = app.mfa(r.body["mfa_token"].as_str().unwrap(), "totp", &app.next_code(&auth)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "ok");
    let new_token = done.body["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", new_token).await.status, StatusCode::OK);
    let history = app.get("/api/v1/me/login-history", new_token).await.body;
    assert_eq!(history[0]["success"], true);
    assert_eq!(history[0]["mfa_challenged"], true);
    assert_eq!(history[1]["mfa_challenged"], false, "the sign-in before 2FA was on");
}

#[tokio::test]
async fn a_totp_code_is_never_accepted_twice() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.start_totp_setup(&token).await;
    let confirming = app.code(&auth);
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": confirming})).await;
    assert_eq!(r.status, StatusCode::OK);
    // The confirming code's step is used up.
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_error(&app.mfa(&mfa, "totp", &confirming).await, StatusCode::UNAUTHORIZED, "invalid_code");
    let code = app.next_code(&auth);
    assert_eq!(app.mfa(&mfa, "totp", &code).await.status, StatusCode::OK);
    let again = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_error(&app.mfa(&again, "totp", &code).await, StatusCode::UNAUTHORIZED, "invalid_code");
}

#[tokio::test]
async fn drift_of_one_step_is_accepted_and_two_is_not() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    // The clock keeps running between taking a code and checking it: start each check
    // just after a step begins, so no boundary falls in between.
    let to_step_start = |app: &crate::helpers::TestApp| {
        let into = app.state.clock.now().timestamp().rem_euclid(30);
        app.advance_clock(Duration::seconds(31 - into));
    };
    app.advance_clock(Duration::seconds(300));
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    to_step_start(&app);
    let behind = auth.secret.code_at(app.state.clock.now().timestamp() as u64 - 30, 6).unwrap();
    assert_eq!(app.mfa(&mfa, "totp", &behind).await.status, StatusCode::OK);
    app.advance_clock(Duration::seconds(300));
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    to_step_start(&app);
    let far = auth.secret.code_at(app.state.clock.now().timestamp() as u64 - 60, 6).unwrap();
    assert_error(&app.mfa(&mfa, "totp", &far).await, StatusCode::UNAUTHORIZED, "invalid_code");
}

#[tokio::test]
async fn five_wrong_codes_end_the_mfa_token_and_are_in_history() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    for _ in 0..5 {
        assert_error(&app.mfa(&mfa, "totp", "000000").await, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    let right = app.next_code(&auth);
    assert_error(&app.mfa(&mfa, "totp", &right).await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
    let history = app.get("/api/v1/me/login-history", &token).await.body;
    let failures: Vec<&Value> = history.as_array().unwrap().iter().filter(|r| r["failure"] == "invalid_code").collect();
    assert_eq!(failures.len(), 5);
    assert!(failures.iter().all(|r| r["mfa_challenged"] == true && r["success"] == false));
}

#[tokio::test]
async fn an_mfa_token_expires_after_five_minutes_and_works_once() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    app.advance_clock(Duration::minutes(5) + Duration::seconds(1));
    assert_error(&app.mfa(&mfa, "totp", &app.code(&auth)).await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_eq!(app.mfa(&mfa, "totp", &app.next_code(&auth)).await.status, StatusCode::OK);
    assert_error(&app.mfa(&mfa, "totp", &app.next_code(&auth)).await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
    assert_error(&app.mfa("lk_mfa_forged", "totp", "123456").await, StatusCode::UNAUTHORIZED, "mfa_token_expired");
}

#[tokio::test]
async fn a_backup_code_works_once_in_any_case_and_with_or_without_the_dash() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (_, codes) = app.enable_totp(&token).await;
    let typed = codes[0].replace('-', "").to_uppercase();
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    let r = app.mfa(&mfa, "backup_code", &typed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_error(&app.mfa(&mfa, "backup_code", &codes[0]).await, StatusCode::UNAUTHORIZED, "invalid_code");
    assert_eq!(app.get("/api/v1/me/2fa", &token).await.body["backup_codes_remaining"], 9);
    let kinds: Vec<Value> = app
        .get("/api/v1/me/security-events", &token)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("backup_code_used")), "{kinds:?}");
}

#[tokio::test]
async fn twenty_racing_requests_with_one_backup_code_let_exactly_one_in() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (_, codes) = app.enable_totp(&token).await;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(app.mfa_token("ada@example.com", PASSWORD).await);
    }
    let attempts = tokens.iter().map(|t| app.mfa(t, "backup_code", &codes[3]));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(ok, 1, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_losers_refused(&results);
    assert_eq!(app.get("/api/v1/me/2fa", &token).await.body["backup_codes_remaining"], 9);
}

#[tokio::test]
async fn twenty_racing_requests_with_one_totp_code_let_exactly_one_in() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(app.mfa_token("ada@example.com", PASSWORD).await);
    }
    let code = app.next_code(&auth);
    let results = futures::future::join_all(tokens.iter().map(|t| app.mfa(t, "totp", &code))).await;
    let ok = results.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(ok, 1, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_losers_refused(&results);
}

/// Every answer of a race but the winner's is a refusal in the contract's shape: the
/// code (already used), or past five wrong codes for the account, the lock.
#[track_caller]
fn assert_losers_refused(results: &[crate::helpers::Response]) {
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        match r.status {
            StatusCode::TOO_MANY_REQUESTS => assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            _ => assert_error(r, StatusCode::UNAUTHORIZED, "invalid_code"),
        }
    }
    for winner in results.iter().filter(|r| r.status == StatusCode::OK) {
        assert_eq!(winner.body["status"], "ok", "{}", winner.text);
        assert!(winner.body["token"].as_str().is_some_and(|t| t.starts_with("lk_ses_")), "{}", winner.text);
    }
}

#[tokio::test]
async fn recovery_burns_a_backup_code_then_re_enrols_without_a_gap() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (old_auth, codes) = app.enable_totp(&token).await;
    // Phone lost: sign in with a backup code.
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    let session = app.mfa(&mfa, "backup_code", &codes[1]).await.body["token"].as_str().unwrap().to_owned();
    let (new_auth, _) = app.start_totp_setup(&session).await;
    // Until the new app is confirmed the old factor still protects the account.
    assert_eq!(app.get("/api/v1/me/2fa", &session).await.body["enabled"], true);
    let r = app.post("/api/v1/me/2fa/totp/confirm", Some(&session), json!({"code": app.next_code(&new_auth)})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"backup_codes": null}), "re-enrolment keeps the existing codes");
    let mfa = app.mfa_token("ada@example.com", PASSWORD).await;
    assert_error(&app.mfa(&mfa, "totp", &app.next_code(&old_auth)).await, StatusCode::UNAUTHORIZED, "invalid_code");
    assert_eq!(app.mfa(&mfa, "totp", &app.next_code(&new_auth)).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me/2fa", &session).await.body["backup_codes_remaining"], 9);
}

#[tokio::test]
async fn a_2fa_account_re_authenticates_by_code_and_sensitive_actions_reopen() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let (auth, _) = app.enable_totp(&token).await;
    app.advance_clock(Duration::minutes(11));
    let disable = json!({"password": PASSWORD});
    assert_error(
        &app.post("/api/v1/me/2fa/disable", Some(&token), disable.clone()).await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    );
    assert_error(&app.delete("/api/v1/me/2fa/totp", &token).await, StatusCode::FORBIDDEN, "reauth_required");

    let password = app.post("/api/v1/auth/reauth", Some(&token), json!({"password": PASSWORD})).await;
    assert_error(&password, StatusCode::UNAUTHORIZED, "mfa_required");
    let bad = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": "000000"})).await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, "invalid_code");
    assert_error(
        &app.post("/api/v1/auth/reauth", Some(&token), json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.post("/api/v1/me/2fa/backup-codes", Some(&token), json!({})).await.status, StatusCode::OK);

    app.advance_clock(Duration::minutes(11));
    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.post("/api/v1/me/2fa/disable", Some(&token), disable).await.status, StatusCode::NO_CONTENT);
}
