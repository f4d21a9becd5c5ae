use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app};

async fn create(app: &TestApp, token: &str, name: &str) -> String {
    let r = app.post("/api/v1/workspaces", Some(token), json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn add(app: &TestApp, token: &str, ws: &str, email: &str, role: &str) -> crate::helpers::Response {
    app.post(&format!("/api/v1/workspaces/{ws}/members"), Some(token), json!({"email": email, "role": role})).await
}

async fn set_policy(app: &TestApp, token: &str, ws: &str, on: bool) -> crate::helpers::Response {
    app.request(
        reqwest::Method::PUT,
        &format!("/api/v1/workspaces/{ws}/policy"),
        Some(token),
        Some(json!({"require_2fa": on})),
    )
    .await
}

#[tokio::test]
async fn creating_a_workspace_makes_the_caller_its_owner() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let r = app.post("/api/v1/workspaces", Some(&token), json!({"name": "Analytical Engines", "plan": "free"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["name"], "Analytical Engines");
    assert_eq!(r.body["plan"], "free");
    assert_eq!(r.body["require_2fa"], false);
    let id = r.body["id"].as_str().unwrap();
    let mine = app.get("/api/v1/me/workspaces", &token).await.body;
    assert_eq!(
        mine,
        json!([{"id": id, "name": "Analytical Engines", "role": "owner", "plan": "free", "require_2fa": false, "access": "ok", "deadline": null}])
    );
    let ws = app.get(&format!("/api/v1/workspaces/{id}"), &token).await;
    assert_eq!(ws.status, StatusCode::OK);
    assert_eq!(ws.body["role"], "owner");
    let default_plan = app.post("/api/v1/workspaces", Some(&token), json!({"name": "Side"})).await;
    assert_eq!(default_plan.body["plan"], "free");
    for bad in [json!({"name": ""}), json!({"name": "x", "plan": "enterprise"}), json!({"name": "x".repeat(101)})] {
        let r = app.post("/api/v1/workspaces", Some(&token), bad).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn users_cannot_pick_a_plan_the_operator_sets_it() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let r = app.post("/api/v1/workspaces", Some(&token), json!({"name": "Bought", "plan": "team"})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "plan_not_allowed");
    assert_eq!(app.get("/api/v1/me/workspaces", &token).await.body, json!([]), "nothing was made");
    // Security keys stay behind the team plan.
    let start = app.post("/api/v1/me/2fa/webauthn/register/start", Some(&token), json!({"name": "Key"})).await;
    assert_error(&start, StatusCode::FORBIDDEN, "plan_required");

    // The operator's default plan is the one API workspaces get, and the only one asked for.
    let team = crate::helpers::spawn_app_with(|c| {
        c.settings.default_workspace_plan = latchkey::domain::workspace::Plan::Team;
    })
    .await;
    let token = team.signed_in_user("ada@example.com").await;
    assert_eq!(team.post("/api/v1/workspaces", Some(&token), json!({"name": "A"})).await.body["plan"], "team");
    let r = team.post("/api/v1/workspaces", Some(&token), json!({"name": "B", "plan": "team"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = team.post("/api/v1/workspaces", Some(&token), json!({"name": "C", "plan": "free"})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "plan_not_allowed");
}

#[tokio::test]
async fn members_are_managed_by_owners_and_admins_only() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let admin = app.signed_in_user("bob@example.com").await;
    let member = app.signed_in_user("cy@example.com").await;
    app.signed_in_user("dee@example.com").await;
    let ws = create(&app, &owner, "Engines").await;
    assert_eq!(add(&app, &owner, &ws, "bob@example.com", "admin").await.status, StatusCode::CREATED);
    let r = add(&app, &admin, &ws, "cy@example.com", "member").await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["email"], "cy@example.com");
    assert_eq!(r.body["two_factor_enabled"], false);
    assert_error(&add(&app, &admin, &ws, "dee@example.com", "owner").await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&add(&app, &member, &ws, "dee@example.com", "member").await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&add(&app, &owner, &ws, "cy@example.com", "member").await, StatusCode::CONFLICT, "already_member");
    assert_error(&add(&app, &owner, &ws, "nobody@example.com", "member").await, StatusCode::NOT_FOUND, "not_found");

    let members = app.get(&format!("/api/v1/workspaces/{ws}/members"), &admin).await.body;
    let emails: Vec<_> = members.as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com", "cy@example.com"]);
    assert_eq!(members[0]["role"], "owner");
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}/members"), &member).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(&set_policy(&app, &member, &ws, false).await, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn non_members_get_404() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let stranger = app.signed_in_user("eve@example.com").await;
    let ws = create(&app, &owner, "Engines").await;
    for path in [
        format!("/api/v1/workspaces/{ws}"),
        format!("/api/v1/workspaces/{ws}/members"),
        "/api/v1/workspaces/nope".to_owned(),
    ] {
        assert_error(&app.get(&path, &stranger).await, StatusCode::NOT_FOUND, "not_found");
    }
    assert_error(&set_policy(&app, &stranger, &ws, true).await, StatusCode::NOT_FOUND, "not_found");
    let r = app.request(reqwest::Method::GET, &format!("/api/v1/workspaces/{ws}"), None, None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn an_admin_without_2fa_cannot_require_it() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let ws = create(&app, &owner, "Engines").await;
    assert_error(&set_policy(&app, &owner, &ws, true).await, StatusCode::CONFLICT, "enable_2fa_first");
    app.enable_totp(&owner).await;
    let r = set_policy(&app, &owner, &ws, true).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["require_2fa"], true);
}

#[tokio::test]
async fn the_policy_locks_a_member_out_until_they_enrol_and_again_when_they_stop() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let member = app.signed_in_user("bob@example.com").await;
    let ws = app.team_workspace(&owner, "Engines").await;
    add(&app, &owner, &ws, "bob@example.com", "admin").await;
    let ws_path = format!("/api/v1/workspaces/{ws}");
    assert_eq!(app.get(&ws_path, &member).await.status, StatusCode::OK);

    app.enable_totp(&owner).await;
    assert_eq!(set_policy(&app, &owner, &ws, true).await.status, StatusCode::OK);

    // Locked out of the workspace, every route of it...
    assert_error(&app.get(&ws_path, &member).await, StatusCode::FORBIDDEN, "workspace_requires_2fa");
    assert_error(
        &app.get(&format!("{ws_path}/members"), &member).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
    assert_error(&set_policy(&app, &member, &ws, false).await, StatusCode::FORBIDDEN, "workspace_requires_2fa");
    // ...but never out of the personal pages, where enrolment happens.
    assert_eq!(app.get("/api/v1/me", &member).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me/sessions", &member).await.status, StatusCode::OK);
    let mine = app.get("/api/v1/me/workspaces", &member).await.body;
    assert_eq!(mine[0]["access"], "2fa_required");
    assert_eq!(mine[0]["require_2fa"], true);

    let members = app.get(&format!("{ws_path}/members"), &owner).await.body;
    let bob = members.as_array().unwrap().iter().find(|m| m["email"] == "bob@example.com").unwrap();
    assert_eq!(bob["two_factor_enabled"], false, "admins see who is not compliant");

    app.enable_totp(&member).await;
    assert_eq!(app.get(&ws_path, &member).await.status, StatusCode::OK, "access returns at once");
    assert_eq!(app.get("/api/v1/me/workspaces", &member).await.body[0]["access"], "ok");

    let r = app.post("/api/v1/me/2fa/disable", Some(&member), json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(&app.get(&ws_path, &member).await, StatusCode::FORBIDDEN, "workspace_requires_2fa");
}

#[tokio::test]
async fn an_admin_reset_locks_the_member_out_again() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let member = app.signed_in_user("bob@example.com").await;
    let ws = create(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "bob@example.com", "member").await;
    app.enable_totp(&owner).await;
    app.enable_totp(&member).await;
    set_policy(&app, &owner, &ws, true).await;
    let user_id = app.get("/api/v1/me", &member).await.body["id"].as_str().unwrap().to_owned();
    latchkey::service::second_factor::admin_reset(&app.state, &user_id).await.unwrap();
    let fresh = app.token_for("bob@example.com", PASSWORD).await;
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}"), &fresh).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
}

#[tokio::test]
async fn the_cli_creates_workspaces_for_an_owner() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .args(["--database", &app.state.config.database_url, "--data-dir"])
            .arg(&app.state.config.data_dir)
            .output()
            .unwrap()
    };
    let ok = run(&["workspace", "add", "Engines", "--owner", "ada@example.com", "--plan", "team"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let mine = app.get("/api/v1/me/workspaces", &token).await.body;
    assert_eq!(mine[0]["name"], "Engines");
    assert_eq!(mine[0]["plan"], "team");
    assert_eq!(mine[0]["role"], "owner");
    let unknown = run(&["workspace", "add", "X", "--owner", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert_eq!(String::from_utf8_lossy(&unknown.stderr).trim().lines().count(), 1);

    // The operator lists workspaces and moves one to another plan.
    let side = create(&app, &token, "Side").await;
    let list = run(&["workspace", "list"]);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let text = String::from_utf8_lossy(&list.stdout);
    let row = text.lines().find(|l| l.starts_with(&side)).unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, [side.as_str(), "Side", "free", "ada@example.com"], "{text}");
    let moved = run(&["workspace", "set-plan", &side, "team"]);
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
    let mine = app.get("/api/v1/me/workspaces", &token).await.body;
    let side_now = mine.as_array().unwrap().iter().find(|w| w["id"] == side.as_str()).unwrap();
    assert_eq!(side_now["plan"], "team");
    let missing = run(&["workspace", "set-plan", "no-such-workspace", "team"]);
    assert!(!missing.status.success());
    assert_eq!(String::from_utf8_lossy(&missing.stderr).trim().lines().count(), 1);
    let bad = run(&["workspace", "set-plan", &side, "enterprise"]);
    assert!(!bad.status.success());

    // A workspace whose only owner is locked out gets a new one from the operator, who is
    // named in its activity as nobody (the command line).
    let bob = app.signed_in_user("bob@example.com").await;
    let made = run(&["workspace", "add-owner", &side, "bob@example.com"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert_eq!(app.get(&format!("/api/v1/workspaces/{side}"), &bob).await.body["role"], "owner");
    let again = run(&["workspace", "add-owner", &side, "bob@example.com"]);
    assert!(again.status.success(), "making an owner an owner is no error");
    let log = app.get(&format!("/api/v1/workspaces/{side}/events"), &bob).await.body;
    assert_eq!(
        (log.as_array().unwrap().len(), &log[0]["kind"], &log[0]["actor_email"]),
        (1, &json!("member_added"), &json!(null))
    );
    for (args, why) in [
        (["workspace", "add-owner", "no-such-workspace", "bob@example.com"], "no workspace has the id"),
        (["workspace", "add-owner", side.as_str(), "nobody@example.com"], "nobody@example.com"),
    ] {
        let failed = run(&args);
        let err = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success() && err.contains(why) && err.trim().lines().count() == 1, "{err}");
    }
}
