//! Signing in with a passkey alone: user verification, single-use challenges, counters and backup flags.

use super::*;

#[tokio::test]
async fn a_passkey_signs_in_alone_with_no_second_step() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let start_reg = app
        .post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Phone", "passkey": true}))
        .await;
    let selection = &start_reg.body["options"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{selection}");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");

    let mut phone = SoftPasskey::synced();
    let added = register(&app, &session, &mut phone, true).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!((added.body["passkey"].clone(), added.body["backup_eligible"].clone()), (json!(true), json!(true)));
    assert_eq!(added.body["backed_up"], true);
    assert_eq!(added.body["backup_codes"].as_array().unwrap().len(), 10, "a first factor turns 2FA on");

    let (id, options) = start(&app).await;
    let request = &options["publicKey"];
    assert!(request["allowCredentials"].as_array().is_none_or(|a| a.is_empty()), "{request}");
    assert_eq!(request["userVerification"], "required");
    assert!(options.get("mediation").is_none(), "the page chooses the mediation: {options}");
    let done = finish(&app, &id, &phone.assert(&origin(&app), &options)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["status"], "ok");
    let token = done.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &token).await.body["email"], "ada@example.com");

    // A synced passkey's counter stays 0: the second sign-in is as good as the first.
    assert_eq!(sign_in(&app, &mut phone).await.status, StatusCode::OK);
    let history = app.get("/api/v1/me/login-history", &token).await.body;
    assert_eq!((history[0]["method"].clone(), history[0]["success"].clone()), (json!("passkey"), json!(true)));
    assert_eq!(history[0]["mfa_challenged"], true, "user verification is the second factor");
    let listed = keys(&app, &session).await;
    assert_eq!(listed[0]["passkey"], true);
    assert!(listed[0]["last_used_at"].is_string());
}

#[tokio::test]
async fn user_verification_is_required_to_register_and_to_sign_in() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let mut careless = SoftPasskey::synced();
    careless.user_verified = false;
    assert_error(
        &register(&app, &session, &mut careless, true).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_credential",
    );

    let mut phone = SoftPasskey::synced();
    assert_eq!(register(&app, &session, &mut phone, true).await.status, StatusCode::CREATED);
    phone.user_verified = false;
    assert_error(&sign_in(&app, &mut phone).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let history = app.get("/api/v1/me/login-history", &session).await.body;
    assert_eq!(
        (history[0]["method"].clone(), history[0]["failure"].clone()),
        (json!("passkey"), json!("invalid_passkey"))
    );
    phone.user_verified = true;
    assert_eq!(sign_in(&app, &mut phone).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_answers_once_and_an_assertion_cannot_be_replayed() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let mut phone = SoftPasskey::synced();
    register(&app, &session, &mut phone, true).await;
    let (id, options) = start(&app).await;
    let assertion = phone.assert(&origin(&app), &options);
    assert_eq!(finish(&app, &id, &assertion).await.status, StatusCode::OK);
    assert_error(&finish(&app, &id, &assertion).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The same assertion against a new challenge: it signed the old one.
    let (fresh, _) = start(&app).await;
    assert_error(&finish(&app, &fresh, &assertion).await, StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Two finishes racing for one challenge: exactly one signs in.
    let (id, options) = start(&app).await;
    let assertion = phone.assert(&origin(&app), &options);
    let (a, b) = tokio::join!(finish(&app, &id, &assertion), finish(&app, &id, &assertion));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);

    // A challenge older than five minutes is gone.
    let (id, options) = start(&app).await;
    app.advance_clock(chrono::Duration::minutes(6));
    assert_error(
        &finish(&app, &id, &phone.assert(&origin(&app), &options)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn backup_flags_that_change_after_registration_still_sign_in() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    // Registered as a device-bound passkey with no counter, then moved into a password
    // manager that syncs it: backup eligibility and state both turn on.
    let mut moved = SoftPasskey::new(None, false, false);
    assert_eq!(register(&app, &session, &mut moved, true).await.status, StatusCode::CREATED);
    assert_eq!((keys(&app, &session).await[0]["backup_eligible"].clone()), json!(false));
    moved.backup_eligible = true;
    moved.backed_up = true;
    assert_eq!(sign_in(&app, &mut moved).await.status, StatusCode::OK);
    let listed = keys(&app, &session).await;
    assert_eq!((listed[0]["backup_eligible"].clone(), listed[0]["backed_up"].clone()), (json!(true), json!(true)));
    // Its sync paused, then turned off for good: it still signs in.
    moved.backed_up = false;
    assert_eq!(sign_in(&app, &mut moved).await.status, StatusCode::OK);
    assert_eq!(keys(&app, &session).await[0]["backed_up"], false);
    moved.backup_eligible = false;
    assert_eq!(sign_in(&app, &mut moved).await.status, StatusCode::OK);
    assert_eq!(keys(&app, &session).await[0]["backup_eligible"], false);
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_reported() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let mut key = SoftPasskey::device_bound();
    register(&app, &session, &mut key, true).await;
    assert_eq!(sign_in(&app, &mut key).await.status, StatusCode::OK);
    assert_eq!(sign_in(&app, &mut key).await.status, StatusCode::OK);
    // A clone made before those two sign-ins signs with counter 1 again.
    key.counter = Some(0);
    assert_error(&sign_in(&app, &mut key).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let events = app.get("/api/v1/me/security-events", &session).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "webauthn_counter_regression"), "{events}");
    // The real key, further on, still works.
    key.counter = Some(10);
    assert_eq!(sign_in(&app, &mut key).await.status, StatusCode::OK);
}

#[tokio::test]
async fn only_a_live_passkey_of_the_account_its_handle_names_signs_in() {
    let app = spawn_app().await;
    let ada = team_user(&app, "ada@example.com").await;
    let bob = team_user(&app, "bob@example.com").await;
    let bob_id = app.get("/api/v1/me", &bob).await.body["id"].as_str().unwrap().replace('-', "");

    let mut never_registered = SoftPasskey::synced();
    never_registered.user_handle = hex::decode(&bob_id).unwrap();
    assert_error(&sign_in(&app, &mut never_registered).await, StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Ada's passkey, claiming to be Bob's.
    let mut phone = SoftPasskey::synced();
    register(&app, &ada, &mut phone, true).await;
    let own_handle = phone.user_handle.clone();
    phone.user_handle = hex::decode(&bob_id).unwrap();
    assert_error(&sign_in(&app, &mut phone).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    phone.user_handle = own_handle;
    assert_eq!(sign_in(&app, &mut phone).await.status, StatusCode::OK);

    // A security key is a second factor only, however the authenticator answers.
    let mut key = SoftPasskey::device_bound();
    key.user_verified = false;
    let added = register(&app, &ada, &mut key, false).await;
    assert_eq!((added.status, added.body["passkey"].clone()), (StatusCode::CREATED, json!(false)), "{}", added.text);
    key.user_verified = true;
    assert_error(&sign_in(&app, &mut key).await, StatusCode::UNAUTHORIZED, "invalid_credentials");

    // A deleted passkey is refused at once.
    let passkey_id = keys(&app, &ada).await.iter().find(|k| k["passkey"] == true).unwrap()["id"].clone();
    let deleted = app.delete(&format!("/api/v1/me/2fa/webauthn/{}", passkey_id.as_str().unwrap()), &ada).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_error(&sign_in(&app, &mut phone).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let events = app.get("/api/v1/me/security-events", &ada).await.body;
    assert!(
        events.as_array().unwrap().iter().any(|e| e["kind"] == "factor_removed" && e["detail"] == "passkey \"Phone\""),
        "{events}"
    );
}

#[tokio::test]
async fn failures_count_against_the_account_and_address_before_they_are_checked() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let mut phone = SoftPasskey::synced();
    register(&app, &session, &mut phone, true).await;
    phone.user_verified = false;
    let mut attempts = Vec::new();
    for _ in 0..20 {
        let (id, options) = start(&app).await;
        attempts.push((id, phone.assert(&origin(&app), &options)));
    }
    let answers = futures::future::join_all(attempts.iter().map(|(id, a)| finish(&app, id, a))).await;
    let refused = answers.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    let limited = answers.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((refused, limited), (5, 15), "five free failures per account, however parallel");
    // The same lock as wrong passwords: the password waits too.
    assert_error(&app.login("ada@example.com", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let events = app.get("/api/v1/me/security-events", &session).await.body;
    assert!(events.as_array().unwrap().iter().any(|e| e["kind"] == "locked_out"), "{events}");
}

#[tokio::test]
async fn a_malformed_credential_is_a_clear_400() {
    let app = spawn_app().await;
    let (id, _) = start(&app).await;
    let r = app.post("/api/v1/auth/passkey/finish", None, json!({"challenge_id": id, "credential": {"id": 7}})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = app.post("/api/v1/auth/passkey/finish", None, json!({"credential": {}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn a_burst_of_passkey_starts_gets_the_addresss_300() {
    let app = spawn_app().await;
    let starts = (0..320).map(|_| app.post("/api/v1/auth/passkey/start", None, json!({})));
    let answers = futures::future::join_all(starts).await;
    let ok = answers.iter().filter(|r| r.status == StatusCode::OK).count();
    let limited = answers.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((ok, limited), (300, 20), "300 per address in 15 minutes, however parallel");
}
