//! What passkeys may do beyond signing in: workspace 2FA, plans, the last way in, re-authentication.

use super::*;

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
