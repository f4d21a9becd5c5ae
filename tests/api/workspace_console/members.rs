use reqwest::StatusCode;
use serde_json::json;

use super::{add, events, my_workspace, put, set_policy, workspace};
use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn roles_change_under_the_owner_rules_and_the_log_names_who_did_it() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    let admin = app.signed_in_user("bob@example.com").await;
    let member = app.signed_in_user("cy@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    let ada = app.get("/api/v1/me", &owner).await.body["id"].as_str().unwrap().to_owned();
    let bob = add(&app, &owner, &ws, "bob@example.com", "admin").await;
    let cy = add(&app, &admin, &ws, "cy@example.com", "member").await;
    let role = |user: &str| format!("/api/v1/workspaces/{ws}/members/{user}");

    // An admin manages members but never touches an owner, nor makes one.
    let r = put(&app, &admin, &role(&cy), json!({"role": "admin"})).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"user_id": cy, "role": "admin"})));
    assert_error(&put(&app, &admin, &role(&cy), json!({"role": "owner"})).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&put(&app, &admin, &role(&ada), json!({"role": "member"})).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&app.delete(&role(&ada), &admin).await, StatusCode::FORBIDDEN, "forbidden");
    // A plain member manages nobody, not even themselves upwards.
    let r = put(&app, &owner, &role(&cy), json!({"role": "member"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_error(&put(&app, &member, &role(&cy), json!({"role": "admin"})).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&app.delete(&role(&bob), &member).await, StatusCode::FORBIDDEN, "forbidden");
    // The last owner can neither step down nor leave.
    assert_error(&put(&app, &owner, &role(&ada), json!({"role": "admin"})).await, StatusCode::CONFLICT, "last_owner");
    assert_error(&app.delete(&role(&ada), &owner).await, StatusCode::CONFLICT, "last_owner");
    assert_error(
        &put(&app, &owner, &role("nobody"), json!({"role": "admin"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    for bad in [json!({"role": "king"}), json!({})] {
        assert_error(&put(&app, &owner, &role(&bob), bad).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // With a second owner, the first may go.
    assert_eq!(put(&app, &owner, &role(&bob), json!({"role": "owner"})).await.status, StatusCode::OK);
    assert_eq!(app.delete(&role(&ada), &owner).await.status, StatusCode::NO_CONTENT);
    assert_error(&app.get(&format!("/api/v1/workspaces/{ws}"), &owner).await, StatusCode::NOT_FOUND, "not_found");

    let log = events(&app, &admin, &ws).await;
    let kinds: Vec<_> = log.iter().map(|e| (e["kind"].as_str().unwrap(), e["actor_email"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        [
            ("member_removed", "ada@example.com"),
            ("role_changed", "ada@example.com"),
            ("role_changed", "ada@example.com"),
            ("role_changed", "bob@example.com"),
            ("member_added", "bob@example.com"),
            ("member_added", "ada@example.com"),
        ]
    );
    assert_eq!(log[1]["detail"], json!({"email": "bob@example.com", "role": "owner", "from_role": "admin"}));
    assert_eq!(log[0]["detail"], json!({"email": "ada@example.com", "role": "owner"}));
    let page = app
        .get(&format!("/api/v1/workspaces/{ws}/events?limit=2&before={}", log[1]["id"].as_str().unwrap()), &admin)
        .await;
    assert_eq!(page.body.as_array().unwrap().len(), 2);
    assert_eq!(page.body[0]["id"], log[2]["id"]);
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}/events"), &member).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let r = app.get(&format!("/api/v1/workspaces/{ws}/events?limit=0"), &admin).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn two_racing_demotions_of_the_last_two_owners_leave_exactly_one() {
    let app = spawn_app().await;
    for round in 0..5 {
        let a = app.signed_in_user(&format!("a{round}@example.com")).await;
        let b = app.signed_in_user(&format!("b{round}@example.com")).await;
        let ws = workspace(&app, &a, "Race").await;
        let a_id = app.get("/api/v1/me", &a).await.body["id"].as_str().unwrap().to_owned();
        let b_id = add(&app, &a, &ws, &format!("b{round}@example.com"), "owner").await;
        // Each demotes the other at once (and, in odd rounds, themselves).
        let (first, second) = if round % 2 == 0 { (&b_id, &a_id) } else { (&a_id, &b_id) };
        let (p1, p2) =
            (format!("/api/v1/workspaces/{ws}/members/{first}"), format!("/api/v1/workspaces/{ws}/members/{second}"));
        let (r1, r2) =
            tokio::join!(put(&app, &a, &p1, json!({"role": "member"})), put(&app, &b, &p2, json!({"role": "member"})),);
        let statuses = [r1.status, r2.status];
        assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
        let members = app.state.store.members(&ws).await.unwrap();
        let owners = members.iter().filter(|m| m.role == latchkey::domain::workspace::Role::Owner).count();
        assert_eq!(owners, 1, "round {round}: {statuses:?}");
    }
}

#[tokio::test]
async fn a_member_the_policy_locks_out_may_still_leave() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let member = app.signed_in_user("cy@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    let cy = add(&app, &owner, &ws, "cy@example.com", "member").await;
    app.signed_in_user("bob@example.com").await;
    let bob = add(&app, &owner, &ws, "bob@example.com", "member").await;
    assert_eq!(set_policy(&app, &owner, &ws, json!({"require_2fa": true})).await.status, StatusCode::OK);
    let path = |u: &str| format!("/api/v1/workspaces/{ws}/members/{u}");
    assert_error(
        &app.get(&format!("/api/v1/workspaces/{ws}"), &member).await,
        StatusCode::FORBIDDEN,
        "workspace_requires_2fa",
    );
    // Removing someone else is still behind the policy; leaving is not.
    assert_error(&app.delete(&path(&bob), &member).await, StatusCode::FORBIDDEN, "workspace_requires_2fa");
    assert_eq!(app.delete(&path(&cy), &member).await.status, StatusCode::NO_CONTENT);
    assert_eq!(my_workspace(&app.get("/api/v1/me/workspaces", &member).await.body, &ws), serde_json::Value::Null);
    assert_error(&app.delete(&path(&cy), &member).await, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_member_list_shows_factors_and_access_and_filters_those_without() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.enable_totp(&owner).await;
    let bob = app.signed_in_user("bob@example.com").await;
    app.signed_in_user("cy@example.com").await;
    app.enable_totp(&bob).await;
    let ws = workspace(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "bob@example.com", "member").await;
    let cy = add(&app, &owner, &ws, "cy@example.com", "member").await;
    let list = app.get(&format!("/api/v1/workspaces/{ws}/members"), &owner).await.body;
    assert_eq!(list[0]["methods"], json!(["totp"]));
    assert_eq!(
        list[2],
        json!({"user_id": cy, "email": "cy@example.com", "role": "member", "two_factor_enabled": false, "methods": [], "access": "ok"})
    );
    let off = app.get(&format!("/api/v1/workspaces/{ws}/members?two_factor=off"), &owner).await.body;
    let emails: Vec<_> = off.as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["cy@example.com"]);
    let on = app.get(&format!("/api/v1/workspaces/{ws}/members?two_factor=on"), &owner).await.body;
    assert_eq!(on.as_array().unwrap().len(), 2);
    let r = app.get(&format!("/api/v1/workspaces/{ws}/members?two_factor=maybe"), &owner).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    // Under the phishing-resistant tier an authenticator app is not enough.
    let tomorrow = (app.state.clock.now() + chrono::Duration::days(1)).to_rfc3339();
    let r = set_policy(
        &app,
        &owner,
        &ws,
        json!({"require_2fa": true, "accepted_methods": "phishing_resistant", "enforce_at": tomorrow}),
    )
    .await;
    assert_error(&r, StatusCode::CONFLICT, "enable_2fa_first");
    let r = set_policy(&app, &owner, &ws, json!({"require_2fa": true, "enforce_at": tomorrow})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = app.get(&format!("/api/v1/workspaces/{ws}/members"), &owner).await.body;
    assert_eq!(list[2]["access"], "grace");
    assert_eq!(list[1]["access"], "ok");
}
