//! Passkeys: registered as discoverable credentials with user verification, then used to
//! sign in with no email and no password. Driven by a software passkey whose counter and
//! backup flags each test chooses (`tests/support/soft_passkey.rs`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Response, TestApp, assert_error, spawn_app, spawn_app_with};
use crate::oidc::{Browser, PROVIDER_ID, Person, spawn_app_with_provider};
use crate::soft_passkey::SoftPasskey;

fn origin(app: &TestApp) -> String {
    app.state.config.public_url.clone()
}

async fn team_user(app: &TestApp, email: &str) -> String {
    let session = app.signed_in_user(email).await;
    app.team_workspace(&session, "Engines").await;
    session
}

async fn register(app: &TestApp, session: &str, key: &mut SoftPasskey, passkey: bool) -> Response {
    let start = app
        .post("/api/v1/me/2fa/webauthn/register/start", Some(session), json!({"name": "Phone", "passkey": passkey}))
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let credential = key.register(&origin(app), &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    app.post("/api/v1/me/2fa/webauthn/register/finish", Some(session), body).await
}

/// A passkey sign-in's start: the challenge id and the options the browser gets.
async fn start(app: &TestApp) -> (String, Value) {
    let r = app.post("/api/v1/auth/passkey/start", None, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (r.body["challenge_id"].as_str().unwrap().to_owned(), r.body["options"].clone())
}

async fn finish(app: &TestApp, challenge_id: &str, assertion: &Value) -> Response {
    app.post("/api/v1/auth/passkey/finish", None, json!({"challenge_id": challenge_id, "credential": assertion})).await
}

async fn sign_in(app: &TestApp, key: &mut SoftPasskey) -> Response {
    let (id, options) = start(app).await;
    let assertion = key.assert(&origin(app), &options);
    finish(app, &id, &assertion).await
}

async fn keys(app: &TestApp, session: &str) -> Vec<Value> {
    app.get("/api/v1/me/2fa/webauthn", session).await.body.as_array().unwrap().clone()
}

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
async fn a_passkey_meets_a_workspaces_2fa_rule_and_a_disabled_account_is_refused() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let ws = app.team_workspace(&session, "Engines").await;
    let mut phone = SoftPasskey::synced();
    register(&app, &session, &mut phone, true).await;
    let policy = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/workspaces/{ws}/policy"),
            Some(&session),
            Some(json!({"require_2fa": true})),
        )
        .await;
    assert_eq!(policy.status, StatusCode::OK, "{}", policy.text);
    let token = sign_in(&app, &mut phone).await.body["token"].as_str().unwrap().to_owned();
    let members = app.get(&format!("/api/v1/workspaces/{ws}/members"), &token).await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.text);

    let account = app.get("/api/v1/me", &session).await.body["id"].as_str().unwrap().to_owned();
    let email = latchkey::domain::email::Email::parse("ada@example.com").unwrap();
    let operator = latchkey::service::operator::Operator("test".into());
    latchkey::service::operator::disable(&app.state, &email, &operator).await.unwrap();
    assert_error(&sign_in(&app, &mut phone).await, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let history = app.state.store.login_history(&account, 1).await.unwrap();
    assert_eq!((history[0].event.method.as_str(), history[0].event.failure.as_deref()), ("passkey", Some("disabled")));
}

#[tokio::test]
async fn passkeys_follow_the_plan_rule_unless_opened_to_all() {
    let app = spawn_app().await;
    let session = app.signed_in_user("ada@example.com").await;
    let start = json!({"name": "Phone", "passkey": true});
    let r = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), start.clone()).await;
    assert_error(&r, StatusCode::FORBIDDEN, "plan_required");

    let open = spawn_app_with(|c| c.settings.webauthn_plans = latchkey::domain::workspace::WebauthnPlans::All).await;
    let session = open.signed_in_user("ada@example.com").await;
    let mut phone = SoftPasskey::synced();
    assert_eq!(register(&open, &session, &mut phone, true).await.status, StatusCode::CREATED);
    assert_eq!(sign_in(&open, &mut phone).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_last_way_in_stays() {
    let app =
        spawn_app_with_provider(|c| c.settings.webauthn_plans = latchkey::domain::workspace::WebauthnPlans::All).await;
    let person = Person { sub: "only-1", email: "only@example.com", verified: true };
    let token = Browser::new(&app).sign_in(&person).await.session_token().unwrap();
    let mut phone = SoftPasskey::synced();
    assert_eq!(register(&app, &token, &mut phone, true).await.status, StatusCode::CREATED);
    // The passkey is a way in now, so the provider may go.
    let unlink = app.delete(&format!("/api/v1/me/linked-providers/{PROVIDER_ID}"), &token).await;
    assert_eq!(unlink.status, StatusCode::NO_CONTENT, "{}", unlink.text);

    let passkey_id = keys(&app, &token).await[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/2fa/webauthn/{passkey_id}");
    assert_error(&app.delete(&path, &token).await, StatusCode::CONFLICT, "last_sign_in_method");
    let off = app.post("/api/v1/me/2fa/disable", Some(&token), json!({})).await;
    assert_error(&off, StatusCode::CONFLICT, "last_sign_in_method");

    // A second passkey: now either may go, but not both.
    let mut laptop = SoftPasskey::device_bound();
    assert_eq!(register(&app, &token, &mut laptop, true).await.status, StatusCode::CREATED);
    assert_eq!(app.delete(&path, &token).await.status, StatusCode::NO_CONTENT);
    let last = keys(&app, &token).await[0]["id"].as_str().unwrap().to_owned();
    assert_error(
        &app.delete(&format!("/api/v1/me/2fa/webauthn/{last}"), &token).await,
        StatusCode::CONFLICT,
        "last_sign_in_method",
    );
    assert_eq!(sign_in(&app, &mut laptop).await.status, StatusCode::OK);
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
async fn a_synced_passkey_is_also_a_second_factor_after_a_password() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let mut phone = SoftPasskey::synced();
    register(&app, &session, &mut phone, true).await;
    let first = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(first.body["status"], "mfa_required", "{}", first.text);
    let assertion = phone.assert(&origin(&app), &first.body["webauthn"]);
    let body = json!({"mfa_token": first.body["mfa_token"], "method": "webauthn", "credential": assertion});
    let done = app.post("/api/v1/auth/mfa", None, body).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
}

#[tokio::test]
async fn a_passkey_reopens_the_reauth_window_once_per_ceremony() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let mut phone = SoftPasskey::synced();
    register(&app, &session, &mut phone, true).await;
    let mut laptop = SoftPasskey::device_bound();
    register(&app, &session, &mut laptop, true).await;
    app.advance_clock(chrono::Duration::minutes(11));
    let id = keys(&app, &session).await[1]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/2fa/webauthn/{id}");
    assert_error(&app.delete(&path, &session).await, StatusCode::FORBIDDEN, "reauth_required");

    let start = app.post("/api/v1/auth/reauth/passkey/start", Some(&session), json!({})).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    assert_eq!(start.body["options"]["publicKey"]["userVerification"], "required");
    assert_eq!(start.body["options"]["publicKey"]["allowCredentials"].as_array().unwrap().len(), 2);
    phone.user_verified = false;
    let unverified = phone.assert(&origin(&app), &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": unverified});
    assert_error(
        &app.post("/api/v1/auth/reauth", Some(&session), body).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    );

    phone.user_verified = true;
    let start = app.post("/api/v1/auth/reauth/passkey/start", Some(&session), json!({})).await;
    let answer = phone.assert(&origin(&app), &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": answer});
    let done = app.post("/api/v1/auth/reauth", Some(&session), body.clone()).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    assert_error(
        &app.post("/api/v1/auth/reauth", Some(&session), body).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    );
    assert_eq!(app.delete(&path, &session).await.status, StatusCode::NO_CONTENT);

    // Another account's session cannot use this account's ceremony.
    let bob = team_user(&app, "bob@example.com").await;
    let start = app.post("/api/v1/auth/reauth/passkey/start", Some(&session), json!({})).await;
    let answer = phone.assert(&origin(&app), &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": answer});
    assert_error(&app.post("/api/v1/auth/reauth", Some(&bob), body).await, StatusCode::UNAUTHORIZED, "invalid_code");
    let none = app.post("/api/v1/auth/reauth/passkey/start", Some(&bob), json!({})).await;
    assert_error(&none, StatusCode::BAD_REQUEST, "invalid_request");
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

#[tokio::test]
async fn a_stale_session_cannot_add_a_passkey() {
    let app = spawn_app().await;
    let session = team_user(&app, "ada@example.com").await;
    let start = app
        .post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Phone", "passkey": true}))
        .await;
    app.advance_clock(chrono::Duration::minutes(11));
    let late = app
        .post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "Phone", "passkey": true}))
        .await;
    assert_error(&late, StatusCode::FORBIDDEN, "reauth_required");
    // A ceremony started in time cannot be finished once the window has closed.
    let credential = SoftPasskey::synced().register(&origin(&app), &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    let finish = app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await;
    assert_error(&finish, StatusCode::FORBIDDEN, "reauth_required");
    assert!(keys(&app, &session).await.is_empty());
}
