//! A thief with a stolen session can keep requests in flight, so that one is always past
//! authentication when the owner's lock commits. Such a request must make nothing that
//! outlives the lock: each write re-checks its credential under the account's lock, the
//! lock the void holds. Here the "request in flight" is a caller authenticated before the
//! lock and used after it, which is the worst such a request can do.

use reqwest::StatusCode;
use serde_json::json;

use super::{EVIL, OWNER, api_token, lock, start_device};
use crate::helpers::{PASSWORD, TestApp};
use crate::mail::app_mailing_to;
use crate::smtp::{SmtpSink, link_token};
use latchkey::domain::token::SecretToken;
use latchkey::domain::workspace::Role;
use latchkey::error::Error;
use latchkey::service::{self, Caller, ClientContext};

async fn caller(app: &TestApp, token: &str) -> Caller {
    let token = SecretToken::parse(token).expect("a token");
    service::sessions::authenticate(&app.state, &token).await.expect("live")
}

fn refused<T>(what: &str, r: Result<T, Error>) {
    match r {
        Err(Error::Unauthenticated) => {}
        Err(e) => panic!("{what}: {e:?}"),
        Ok(_) => panic!("{what}: made after the lock"),
    }
}

#[tokio::test]
async fn a_write_authenticated_before_the_lock_and_made_after_it_makes_nothing() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let owner = app.signed_in_user(OWNER).await;
    let r = app.post("/api/v1/workspaces", Some(&owner), json!({"name": "Engines"})).await;
    let ws = r.body["id"].as_str().unwrap().to_owned();
    app.signup(EVIL, PASSWORD).await;
    let (device_code, user_code) = start_device(&app).await;

    // The thief's session and API token, each authenticated (and its membership read)
    // just before the lock commits.
    let stolen = app.token_for(OWNER, PASSWORD).await;
    let pat = api_token(&app, &stolen).await;
    let (by_session, by_token) = (caller(&app, &stolen).await, caller(&app, &pat).await);
    let membership = app.state.store.membership(&ws, &by_session.user_id).await.unwrap().unwrap();
    app.enable_totp(&stolen).await;
    let alert = sink.message(OWNER, "A sign-in factor was added to your account").await;
    lock(&app, &link_token(&alert, "lock")).await;

    let ctx = ClientContext {
        ip: "127.0.0.1".parse().unwrap(),
        user_agent: None,
        location: latchkey::domain::location::Location::local_network(),
    };
    let state = &app.state;
    refused("API token", service::api_tokens::create(state, &by_session, &ctx, "late", None).await);
    refused("address change", service::email::request_change(state, &by_session, EVIL).await);
    refused("confirmation link", service::email::resend_verification(state, &by_session).await);
    refused("device approval", service::device_grant::approve(state, &by_session, &ctx, &user_code).await);
    for by in [&by_session, &by_token] {
        let added = service::workspaces::members::add(state, by, &membership, EVIL, Role::Admin).await;
        refused("member", added);
        refused("invitation", service::workspaces::invitations::send(state, by, &membership, EVIL, Role::Owner).await);
    }

    // Nothing of theirs is left: the owner alone in the workspace, nothing pending, no
    // token, and the device code was never approved.
    let members: Vec<String> = app.state.store.members(&ws).await.unwrap().into_iter().map(|m| m.email).collect();
    assert_eq!(members, [OWNER]);
    let now = app.state.clock.now();
    assert!(app.state.store.pending_invitations(&ws, now).await.unwrap().is_empty());
    assert!(app.state.store.api_tokens_of(&by_session.user_id).await.unwrap().is_empty());
    let r = super::poll(&app, &device_code).await;
    assert_ne!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["error"], "authorization_pending", "{}", r.text);
}
