use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{add, events, verified_user, workspace};
use crate::helpers::{Response, TestApp, assert_error};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};

const SUBJECT: &str = "You are invited to join Engines";

async fn invite(app: &TestApp, token: &str, ws: &str, email: &str, role: &str) -> Response {
    app.post(&format!("/api/v1/workspaces/{ws}/invitations"), Some(token), json!({"email": email, "role": role})).await
}

async fn accept(app: &TestApp, token: &str, link: &str) -> Response {
    app.post("/api/v1/invitations/accept", Some(token), json!({"token": link})).await
}

/// The shape of an answer with the values of its fields blanked (ids differ by design).
fn shape(r: &Response) -> (StatusCode, Vec<String>, usize) {
    let keys = r.body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    (r.status, keys, r.body["id"].as_str().map_or(0, str::len))
}

#[tokio::test]
async fn an_invitation_answers_the_same_for_accounts_members_and_strangers() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    app.signed_in_user("bob@example.com").await;
    app.signed_in_user("cy@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "cy@example.com", "member").await;

    let existing = invite(&app, &owner, &ws, "bob@example.com", "member").await;
    let unknown = invite(&app, &owner, &ws, "nobody@example.com", "member").await;
    let member = invite(&app, &owner, &ws, "cy@example.com", "member").await;
    assert_eq!(existing.status, StatusCode::ACCEPTED, "{}", existing.text);
    assert_eq!(shape(&existing), shape(&unknown));
    assert_eq!(shape(&existing), shape(&member));
    for to in ["bob@example.com", "nobody@example.com", "cy@example.com"] {
        let m = sink.message(to, SUBJECT).await;
        assert!(link_token(&m, "invite").starts_with("lk_inv_"));
    }
    let pending = app.get(&format!("/api/v1/workspaces/{ws}/invitations"), &owner).await.body;
    assert_eq!(pending.as_array().unwrap().len(), 3);
    assert_eq!(
        pending[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["created_at", "email", "expires_at", "id", "role"]
    );
}

#[tokio::test]
async fn only_the_verified_invited_address_can_accept_and_only_once() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    assert_eq!(invite(&app, &owner, &ws, "Bob@Example.com", "admin").await.status, StatusCode::ACCEPTED);
    invite(&app, &owner, &ws, "bob@example.com", "member").await;
    let mails = sink.wait_for_subject("bob@example.com", SUBJECT, 2).await;
    let link = link_token(&mails[0], "invite");
    let other_link = link_token(&mails[1], "invite");

    // A squatter who signed up with the address first but never confirmed it, and
    // someone else entirely, are both refused.
    let squatter = app.signed_in_user("bob@example.com").await;
    assert_error(&accept(&app, &squatter, &link).await, StatusCode::FORBIDDEN, "invitation_mismatch");
    let eve = verified_user(&app, &sink, "eve@example.com").await;
    assert_error(&accept(&app, &eve, &link).await, StatusCode::FORBIDDEN, "invitation_mismatch");
    assert_error(&accept(&app, &eve, "lk_inv_nonsense").await, StatusCode::BAD_REQUEST, "invalid_token");
    assert_error(&accept(&app, &eve, "").await, StatusCode::BAD_REQUEST, "invalid_token");

    let confirm = sink.message("bob@example.com", "Confirm your email address").await;
    app.post("/api/v1/auth/email/verify", None, json!({"token": link_token(&confirm, "verify-email")})).await;
    let bob = app.token_for("bob@example.com", crate::helpers::PASSWORD).await;
    let r = accept(&app, &bob, &link).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"workspace_id": ws, "role": "admin"})));
    assert_error(&accept(&app, &bob, &link).await, StatusCode::BAD_REQUEST, "invalid_token");
    // Accepting voided the address's other invitation to the workspace.
    assert_error(&accept(&app, &bob, &other_link).await, StatusCode::BAD_REQUEST, "invalid_token");
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}/invitations"), &owner).await.body, json!([]));
    assert_eq!(app.get(&format!("/api/v1/workspaces/{ws}"), &bob).await.body["role"], "admin");

    let log = events(&app, &owner, &ws).await;
    let kinds: Vec<_> = log.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["invitation_accepted", "invitation_sent", "invitation_sent"]);
    assert_eq!(log[0]["actor_email"], "bob@example.com");
    assert_eq!(log[0]["detail"], json!({"email": "bob@example.com", "role": "admin"}));
}

#[tokio::test]
async fn revoked_expired_and_member_invitations_behave() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    let admin = verified_user(&app, &sink, "bob@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    add(&app, &owner, &ws, "bob@example.com", "admin").await;
    // Only an owner invites an owner; a plain member invites nobody.
    assert_error(&invite(&app, &admin, &ws, "x@example.com", "owner").await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(
        &invite(&app, &admin, &ws, "not an address", "member").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );

    let revoked = invite(&app, &admin, &ws, "cy@example.com", "member").await.body["id"].as_str().unwrap().to_owned();
    let revoked_link = link_token(&sink.message("cy@example.com", SUBJECT).await, "invite");
    let path = format!("/api/v1/workspaces/{ws}/invitations/{revoked}");
    assert_eq!(app.delete(&path, &admin).await.status, StatusCode::NO_CONTENT);
    assert_error(&app.delete(&path, &admin).await, StatusCode::NOT_FOUND, "not_found");
    let cy = verified_user(&app, &sink, "cy@example.com").await;
    assert_error(&accept(&app, &cy, &revoked_link).await, StatusCode::BAD_REQUEST, "invalid_token");

    invite(&app, &owner, &ws, "cy@example.com", "member").await;
    let mails = sink.wait_for_subject("cy@example.com", SUBJECT, 2).await;
    let late = link_token(&mails[1], "invite");
    app.advance_clock(Duration::days(7) + Duration::seconds(1));
    let cy = app.token_for("cy@example.com", crate::helpers::PASSWORD).await;
    assert_error(&accept(&app, &cy, &late).await, StatusCode::BAD_REQUEST, "invalid_token");

    // A member already keeps their role.
    invite(&app, &owner, &ws, "bob@example.com", "member").await;
    let link = link_token(&sink.wait_for_subject("bob@example.com", SUBJECT, 1).await[0], "invite");
    let bob = app.token_for("bob@example.com", crate::helpers::PASSWORD).await;
    assert_eq!(accept(&app, &bob, &link).await.body, json!({"workspace_id": ws, "role": "admin"}));
    let kinds: Vec<Value> = events(&app, &owner, &ws).await.iter().map(|e| e["kind"].clone()).collect();
    assert!(kinds.contains(&json!("invitation_revoked")), "{kinds:?}");
}

#[tokio::test]
async fn invitation_mails_are_capped_per_address_and_invitations_per_workspace() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user("ada@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    let other = workspace(&app, &owner, "Other").await;
    for _ in 0..4 {
        assert_eq!(invite(&app, &owner, &ws, "target@example.com", "member").await.status, StatusCode::ACCEPTED);
    }
    // The cap counts every workspace's mails to the address: the 6th and 7th still answer
    // 202 and are listed, but nobody is mailed.
    for w in [&other, &ws, &ws] {
        assert_eq!(invite(&app, &owner, w, "target@example.com", "member").await.status, StatusCode::ACCEPTED);
    }
    let mails = sink.wait_for("target@example.com", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().iter().filter(|m| m["headers"]["to"] == "target@example.com").count(), 5);
    assert_eq!(
        app.get(&format!("/api/v1/workspaces/{ws}/invitations"), &owner).await.body.as_array().unwrap().len(),
        6
    );
    // Links already sent stay good: the flood voided nothing.
    let target = verified_user(&app, &sink, "target@example.com").await;
    let r = accept(&app, &target, &link_token(&mails[0], "invite")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // 50 invitations a day per workspace (one went out above), then 429.
    for n in 0..49 {
        let r = invite(&app, &owner, &other, &format!("p{n}@example.com"), "member").await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{n}: {}", r.text);
    }
    assert_error(
        &invite(&app, &owner, &other, "late@example.com", "member").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
}

#[tokio::test]
async fn a_reset_voids_the_invitations_a_stolen_session_sent_to_its_thief() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = verified_user(&app, &sink, "ada@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    // The thief, holding the owner's session, invites an address of their own...
    let stolen = app.token_for("ada@example.com", crate::helpers::PASSWORD).await;
    assert_eq!(invite(&app, &stolen, &ws, "mallory@evil.example", "admin").await.status, StatusCode::ACCEPTED);
    let link = link_token(&sink.message("mallory@evil.example", SUBJECT).await, "invite");
    let mallory = verified_user(&app, &sink, "mallory@evil.example").await;
    // ...and the owner takes the account back with a password reset (a lock, a reclaim,
    // the operator's sign-out or disable void the same list).
    app.post("/api/v1/auth/password/forgot", None, json!({"email": "ada@example.com"})).await;
    let reset = link_token(&sink.message("ada@example.com", "Reset your password").await, "reset-password");
    let body = json!({"token": reset, "new_password": "Another-Long-Phrase-42"});
    let r = app.post("/api/v1/auth/password/reset", None, body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_error(&accept(&app, &mallory, &link).await, StatusCode::BAD_REQUEST, "invalid_token");
    let owner_again = app.state.store.members(&ws).await.unwrap();
    assert_eq!(owner_again.len(), 1, "the thief never joined");
}

#[tokio::test]
async fn a_lock_removes_the_members_a_stolen_session_brought_in_and_theirs_and_keeps_the_owners_own() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = verified_user(&app, &sink, "ada@example.com").await;
    let ws = workspace(&app, &owner, "Engines").await;
    // Bob was brought in by the owner long before anything happened: he stays.
    verified_user(&app, &sink, "bob@example.com").await;
    add(&app, &owner, &ws, "bob@example.com", "member").await;
    app.advance_clock(Duration::days(8));

    // The thief, holding a session of the owner's, brings in two accounts of their own:
    // one added directly, one by an invitation it accepts (as an owner, to stay)...
    let stolen = app.token_for("ada@example.com", crate::helpers::PASSWORD).await;
    let mallory = verified_user(&app, &sink, "mallory@evil.example").await;
    add(&app, &stolen, &ws, "mallory@evil.example", "admin").await;
    // Mallory, an admin now, brings in more: Eve directly, Oscar by an invitation.
    verified_user(&app, &sink, "eve@evil.example").await;
    add(&app, &mallory, &ws, "eve@evil.example", "member").await;
    let oscar = verified_user(&app, &sink, "oscar@evil.example").await;
    assert_eq!(invite(&app, &mallory, &ws, "oscar@evil.example", "member").await.status, StatusCode::ACCEPTED);
    let oscars_link = link_token(&sink.message("oscar@evil.example", SUBJECT).await, "invite");
    let trudy = verified_user(&app, &sink, "trudy@evil.example").await;
    assert_eq!(invite(&app, &stolen, &ws, "trudy@evil.example", "owner").await.status, StatusCode::ACCEPTED);
    let link = link_token(&sink.message("trudy@evil.example", SUBJECT).await, "invite");
    assert_eq!(accept(&app, &trudy, &link).await.status, StatusCode::OK);
    // ...and adds a factor, whose alert reaches the owner with a "this wasn't me" link.
    app.enable_totp(&stolen).await;
    let alert = sink.message("ada@example.com", "A sign-in factor was added to your account").await;
    let r = app.post("/api/v1/auth/lock", None, json!({"token": link_token(&alert, "lock")})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let mut left: Vec<String> = app.state.store.members(&ws).await.unwrap().into_iter().map(|m| m.email).collect();
    left.sort();
    assert_eq!(left, ["ada@example.com", "bob@example.com"]);
    let r = app.get(&format!("/api/v1/workspaces/{ws}"), &trudy).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_error(&accept(&app, &oscar, &oscars_link).await, StatusCode::BAD_REQUEST, "invalid_token");
    // The workspace's log says who went, and that no member did it.
    let log = app.state.store.workspace_events(&ws, 50, None).await.unwrap();
    let mut removed: Vec<(String, Option<String>)> = log
        .iter()
        .filter(|e| e.kind == "member_removed")
        .map(|e| (e.detail.email.clone().unwrap_or_default(), e.actor_email.clone()))
        .collect();
    removed.sort();
    let expected = ["eve@evil.example", "mallory@evil.example", "trudy@evil.example"];
    assert_eq!(removed, expected.map(|e| (e.to_owned(), None)));
}

#[tokio::test]
async fn a_reclaim_removes_every_member_the_squatter_brought_in() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    // The squatter signed up first with the owner's address (never confirmed), made a
    // workspace and brought in an accomplice, long before the owner noticed.
    let squatter = app.signed_in_user("ada@example.com").await;
    let ws = workspace(&app, &squatter, "Engines").await;
    verified_user(&app, &sink, "mallory@evil.example").await;
    add(&app, &squatter, &ws, "mallory@evil.example", "admin").await;
    app.advance_clock(Duration::days(30));
    // The owner proves the mailbox with a reset link: a reclaim.
    app.post("/api/v1/auth/password/forgot", None, json!({"email": "ada@example.com"})).await;
    let reset = link_token(&sink.message("ada@example.com", "Reset your password").await, "reset-password");
    let body = json!({"token": reset, "new_password": "Another-Long-Phrase-42"});
    let r = app.post("/api/v1/auth/password/reset", None, body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let left: Vec<String> = app.state.store.members(&ws).await.unwrap().into_iter().map(|m| m.email).collect();
    assert_eq!(left, ["ada@example.com"], "the accomplice went, however long ago they came in");
}

/// A lock racing the thief's accomplices as they accept: each accept either comes first
/// (and the lock then removes the member it made) or finds its invitation void. Either
/// way nobody the thief invited is left, and nobody gets a 500 (on PostgreSQL the two
/// once took the workspace's and the invitations' locks in opposite orders: a deadlock).
#[tokio::test]
async fn a_lock_racing_the_accomplices_accepts_leaves_none_of_them() {
    const ACCOMPLICES: usize = 8;
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    // Three rounds, each with its own owner: the interleaving differs from run to run.
    for round in 0..3 {
        let owner_email = format!("ada{round}@example.com");
        let owner = verified_user(&app, &sink, &owner_email).await;
        let ws = workspace(&app, &owner, "Engines").await;
        let stolen = app.token_for(&owner_email, crate::helpers::PASSWORD).await;
        let mut accomplices = Vec::new();
        for n in 0..ACCOMPLICES {
            let email = format!("m{round}-{n}@evil.example");
            let session = verified_user(&app, &sink, &email).await;
            assert_eq!(invite(&app, &stolen, &ws, &email, "admin").await.status, StatusCode::ACCEPTED);
            accomplices.push((session, link_token(&sink.message(&email, SUBJECT).await, "invite")));
        }
        app.enable_totp(&stolen).await;
        let alert = sink.message(&owner_email, "A sign-in factor was added to your account").await;
        let lock = json!({"token": link_token(&alert, "lock")});

        let accepts = futures::future::join_all(accomplices.iter().map(|(session, link)| accept(&app, session, link)));
        let (locked, accepts) = tokio::join!(app.post("/api/v1/auth/lock", None, lock), accepts);
        assert_eq!(locked.status, StatusCode::NO_CONTENT, "{}", locked.text);
        for r in &accepts {
            match r.status {
                StatusCode::OK => {}
                _ => assert_error(r, StatusCode::BAD_REQUEST, "invalid_token"),
            }
        }
        let left: Vec<String> = app.state.store.members(&ws).await.unwrap().into_iter().map(|m| m.email).collect();
        let first = accepts.iter().filter(|r| r.status.is_success()).count();
        assert_eq!(left, [owner_email.as_str()], "round {round}, {first} accepted before the lock");
    }
}
