use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::json;

use super::{add, my_workspace, set_policy, workspace};
use crate::helpers::{TestApp, assert_error, spawn_app};
use crate::mail::app_mailing_to;
use crate::smtp::SmtpSink;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn soon(app: &TestApp, seconds: i64) -> String {
    rfc3339(app.state.clock.now() + Duration::seconds(seconds))
}

#[tokio::test]
async fn members_keep_access_in_grace_until_the_deadline_passes() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let member = app.signed_in_user("cy@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "cy@example.com", "member").await;

    let deadline = soon(&app, 3);
    let r = set_policy(&app, &owner, &ws, json!({"require_2fa": true, "enforce_at": deadline})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"require_2fa": true, "accepted_methods": "any", "enforce_at": deadline}));
    let mine = my_workspace(&app.get("/api/v1/me/workspaces", &member).await.body, &ws);
    assert_eq!((mine["access"].as_str(), mine["deadline"].as_str()), (Some("grace"), Some(deadline.as_str())));
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}"), &member).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}/policy"), &member).await.body["enforce_at"], deadline);
    let owners_view = my_workspace(&app.get("/api/v1/me/workspaces", &owner).await.body, &ws);
    assert_eq!((owners_view["access"].as_str(), owners_view["deadline"].is_null()), (Some("ok"), true));
    // Saving the policy again without a deadline keeps it.
    let again = set_policy(&app, &owner, &ws, json!({"require_2fa": true})).await;
    assert_eq!(again.body["enforce_at"], deadline);

    app.advance_clock(Duration::seconds(5));
    let mine = my_workspace(&app.get("/api/v1/me/workspaces", &member).await.body, &ws);
    assert_eq!((mine["access"].as_str(), mine["deadline"].is_null()), (Some("2fa_required"), true));
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}"), &member).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
    // The personal pages stay open; enrolling restores access.
    assert_eq!(app.get("/api/v1/me", &member).await.status, StatusCode::OK);
    let fresh = app.token_for("cy@example.com", crate::helpers::PASSWORD).await;
    app.enable_totp(&fresh).await;
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}"), &fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deadlines_are_bounded_and_the_past_means_now() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let ws = workspace(&app, &owner, "Engines").await;
    let far = soon(&app, 91 * 86_400);
    let r = set_policy(&app, &owner, &ws, json!({"require_2fa": true, "enforce_at": far})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    for bad in [
        json!({"require_2fa": true, "enforce_at": "tomorrow"}),
        json!({"require_2fa": true, "accepted_methods": "sms"}),
    ] {
        assert_error(&set_policy(&app, &owner, &ws, bad).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}/policy"), &owner).await.body["require_2fa"], false);
    let before = app.state.clock.now();
    let r = set_policy(&app, &owner, &ws, json!({"require_2fa": true, "enforce_at": "2020-01-01T00:00:00Z"})).await;
    let at: DateTime<Utc> = r.body["enforce_at"].as_str().unwrap().parse().unwrap();
    assert!(at >= before - Duration::seconds(1) && at <= app.state.clock.now(), "{at}");
    let off = set_policy(&app, &owner, &ws, json!({"require_2fa": false})).await;
    assert_eq!(off.body, json!({"require_2fa": false, "accepted_methods": "any", "enforce_at": null}));
}

#[tokio::test]
async fn changing_the_policy_is_a_sensitive_action() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let ws = workspace(&app, &owner, "Engines").await;
    // A stolen session that is no longer fresh cannot turn the requirement off.
    app.advance_clock(Duration::minutes(11));
    assert_error(
        &set_policy(&app, &owner, &ws, json!({"require_2fa": false})).await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    );
    let pat =
        app.post("/api/v1/me/tokens", Some(&app.signed_in_user("bob@example.com").await), json!({"name": "bot"})).await;
    let bob_ws = workspace(&app, pat.body["token"].as_str().unwrap(), "Bots").await;
    let r = set_policy(&app, pat.body["token"].as_str().unwrap(), &bob_ws, json!({"require_2fa": false})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "session_required");
}

#[tokio::test]
async fn a_totp_only_member_is_blocked_under_the_phishing_resistant_tier() {
    use crate::soft_passkey::SoftPasskey;
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let ws = app.team_workspace(&owner, "Engines").await;
    let mut key = SoftPasskey::device_bound();
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&owner), json!({"name": "Key"})).await;
    let credential = key.register(&app.state.config.public_url, &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&owner), body).await.status,
        StatusCode::CREATED
    );
    let member = app.signed_in_user("cy@example.com").await;
    app.enable_totp(&member).await;
    add(&app, &owner, &ws, "cy@example.com", "member").await;

    let r = set_policy(&app, &owner, &ws, json!({"require_2fa": true, "accepted_methods": "phishing_resistant"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}"), &member).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
    assert_eq!(my_workspace(&app.get("/api/v1/me/workspaces", &member).await.body, &ws)["access"], "2fa_required");
    let listed = app.get(&format!("/api/v1/workspaces/{ws}/members?two_factor=off"), &owner).await.body;
    assert_eq!(listed[0]["email"], "cy@example.com");
    assert_eq!(listed[0]["two_factor_enabled"], true, "2FA, but not of a kind this workspace accepts");
    // Forward auth follows the same policy.
    let verify =
        app.client.get(app.url(&format!("/auth/verify?workspace={ws}"))).bearer_auth(&member).send().await.unwrap();
    assert_eq!(verify.status(), StatusCode::FORBIDDEN);
    // Widening the tier lets the member back in.
    set_policy(&app, &owner, &ws, json!({"require_2fa": true, "accepted_methods": "any"})).await;
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}"), &member).await.status, StatusCode::OK);
}

#[tokio::test]
async fn turning_the_policy_on_or_narrowing_it_mails_those_who_do_not_qualify() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let with_app = app.signed_in_user("bob@example.com").await;
    app.enable_totp(&with_app).await;
    app.signed_in_user("cy@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "bob@example.com", "member").await;
    add(&app, &owner, &ws, "cy@example.com", "member").await;
    const SUBJECT: &str = "Engines requires two-factor authentication";

    let deadline = soon(&app, 7 * 86_400);
    assert_eq!(
        set_policy(&app, &owner, &ws, json!({"require_2fa": true, "enforce_at": deadline})).await.status,
        StatusCode::OK
    );
    let m = sink.message("cy@example.com", SUBJECT).await;
    assert!(m["text"].as_str().unwrap().contains(&deadline), "{m}");
    // Saving it unchanged mails nobody again.
    set_policy(&app, &owner, &ws, json!({"require_2fa": true})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.with_subject("cy@example.com", SUBJECT).len(), 1);
    assert!(sink.with_subject("bob@example.com", SUBJECT).is_empty(), "bob qualifies");
    assert!(sink.with_subject("ada@example.com", SUBJECT).is_empty());
}

#[tokio::test]
async fn switching_the_policy_off_and_on_cannot_flood_the_members() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    app.signed_in_user("cy@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "cy@example.com", "member").await;
    for _ in 0..7 {
        assert_eq!(set_policy(&app, &owner, &ws, json!({"require_2fa": true})).await.status, StatusCode::OK);
        assert_eq!(set_policy(&app, &owner, &ws, json!({"require_2fa": false})).await.status, StatusCode::OK);
    }
    sink.wait_for_subject("cy@example.com", "Engines requires two-factor authentication", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.with_subject("cy@example.com", "Engines requires two-factor authentication").len(), 5);
    // The policy itself still changed every time.
    let log = app.get(&format!("/api/v1/workspaces/{ws}/events?limit=200"), &owner).await.body;
    let changes = log.as_array().unwrap().iter().filter(|e| e["kind"] == "policy_changed").count();
    assert_eq!(changes, 14);
}
