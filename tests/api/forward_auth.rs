//! `GET /auth/verify`, as nginx `auth_request`, Traefik `forwardAuth` and Caddy
//! `forward_auth` call it: who the caller is, in headers, or 401/403 with the contract's
//! JSON; every requirement; revocation seen on the very next request, on any instance.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, read, spawn_app};
use crate::soft_passkey::SoftPasskey;

const ADA: &str = "ada@example.com";

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: crate::helpers::Response,
}

async fn verify(app: &TestApp, query: &str, token: Option<&str>) -> Answer {
    let mut req = app.client.get(app.url(&format!("/auth/verify{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    Answer { status, headers, body: read(r).await }
}

fn header<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
    a.headers.get(name).map(|v| v.to_str().unwrap())
}

async fn api_token(app: &TestApp, session: &str) -> String {
    let r = app.post("/api/v1/me/tokens", Some(session), json!({"name": "bot"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

async fn workspace(app: &TestApp, owner: &str) -> String {
    let r = app.post("/api/v1/workspaces", Some(owner), json!({"name": "Engines"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_session_passes_with_who_it_is_and_how_it_was_proven() {
    let app = spawn_app().await;
    let token = app.signed_in_user(ADA).await;
    let me = app.get("/api/v1/me", &token).await.body;
    let sessions = app.get("/api/v1/me/sessions", &token).await.body;
    let ok = verify(&app, "", Some(&token)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body.text);
    assert!(ok.body.text.is_empty(), "an empty body");
    assert_eq!(header(&ok, "remote-user"), me["id"].as_str());
    assert_eq!(header(&ok, "remote-email"), Some(ADA));
    assert_eq!(header(&ok, "remote-session"), sessions[0]["id"].as_str());
    assert_eq!(header(&ok, "remote-amr"), Some("pwd"));
    let at: i64 = header(&ok, "remote-auth-time").unwrap().parse().unwrap();
    assert!((app.state.clock.now().timestamp() - at).abs() < 5, "{at}");
    assert!(ok.headers.get("set-cookie").is_none(), "sets no cookie");

    // The browser's cookie is as good as the bearer token.
    let by_cookie = app.client.get(app.url("/auth/verify")).header("cookie", format!("latchkey_session={token}"));
    assert_eq!(by_cookie.send().await.unwrap().status(), StatusCode::OK);

    for (query, token) in [("", None), ("", Some("lk_ses_not-a-real-token")), ("?mfa=true", None)] {
        let refused = verify(&app, query, token).await;
        assert_error(&refused.body, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    assert_error(&verify(&app, "?max_age=soon", Some(&token)).await.body, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn mfa_and_max_age_are_asked_for_with_rfc_9470s_answer() {
    let app = spawn_app().await;
    let password_only = app.signed_in_user(ADA).await;
    let (auth, _) = app.enable_totp(&password_only).await;
    let refused = verify(&app, "?mfa=true", Some(&password_only)).await;
    assert_error(&refused.body, StatusCode::FORBIDDEN, "insufficient_user_authentication");
    let challenge = header(&refused, "www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\", error_description=\""),
        "{challenge}"
    );

    let mfa = app.mfa_token(ADA, PASSWORD).await;
    let both = app.mfa(&mfa, "totp", &app.next_code(&auth)).await.body["token"].as_str().unwrap().to_owned();
    let ok = verify(&app, "?mfa=true&max_age=60", Some(&both)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body.text);
    assert_eq!(header(&ok, "remote-amr"), Some("pwd,otp,mfa"));

    app.advance_clock(Duration::minutes(2));
    let stale = verify(&app, "?max_age=60", Some(&both)).await;
    assert_error(&stale.body, StatusCode::FORBIDDEN, "insufficient_user_authentication");
    // A step-up (here a re-authentication with a code) raises the proof of the same session.
    let r = app.post("/api/v1/auth/reauth", Some(&password_only), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let raised = verify(&app, "?mfa=true&max_age=60", Some(&password_only)).await;
    assert_eq!(raised.status, StatusCode::OK, "{}", raised.body.text);
    // A TOTP code can be phished: it is not what phishing_resistant asks for.
    let phishable = verify(&app, "?phishing_resistant=true", Some(&both)).await;
    assert_error(&phishable.body, StatusCode::FORBIDDEN, "insufficient_user_authentication");
}

#[tokio::test]
async fn a_passkey_session_is_phishing_resistant() {
    let app = spawn_app().await;
    let session = app.signed_in_user(ADA).await;
    app.team_workspace(&session, "Engines").await;
    let origin = app.state.config.public_url.clone();
    let mut key = SoftPasskey::device_bound();
    let start =
        app.post("/api/v1/me/2fa/webauthn/register/start", Some(&session), json!({"name": "K", "passkey": true})).await;
    let credential = key.register(&origin, &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/me/2fa/webauthn/register/finish", Some(&session), body).await.status,
        StatusCode::CREATED
    );
    let start = app.post("/api/v1/auth/passkey/start", None, json!({})).await;
    let assertion = key.assert(&origin, &start.body["options"]);
    let body = json!({"challenge_id": start.body["challenge_id"], "credential": assertion});
    let token = app.post("/api/v1/auth/passkey/finish", None, body).await.body["token"].as_str().unwrap().to_owned();
    let ok = verify(&app, "?phishing_resistant=true&mfa=true", Some(&token)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body.text);
    assert_eq!(header(&ok, "remote-amr"), Some("hwk,user,mfa"));
}

#[tokio::test]
async fn an_api_token_passes_as_itself_and_meets_no_proof_requirement() {
    let app = spawn_app().await;
    let session = app.signed_in_user(ADA).await;
    let token = api_token(&app, &session).await;
    let ok = verify(&app, "", Some(&token)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body.text);
    assert_eq!(header(&ok, "remote-email"), Some(ADA));
    assert_eq!(header(&ok, "remote-amr"), Some(""));
    assert!(header(&ok, "remote-session").is_none() && header(&ok, "remote-auth-time").is_none());
    for query in ["?mfa=true", "?max_age=3600", "?phishing_resistant=true"] {
        let refused = verify(&app, query, Some(&token)).await;
        assert_error(&refused.body, StatusCode::FORBIDDEN, "insufficient_user_authentication");
    }
}

#[tokio::test]
async fn a_workspace_requirement_follows_membership_and_its_2fa_policy() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("owner@example.com").await;
    app.enable_totp(&owner).await;
    let ws = workspace(&app, &owner).await;
    let member = app.signed_in_user(ADA).await;
    let stranger = app.signed_in_user("stranger@example.com").await;
    let add = json!({"email": ADA, "role": "member"});
    assert_eq!(
        app.post(&format!("/api/v1/workspaces/{ws}/members"), Some(&owner), add).await.status,
        StatusCode::CREATED
    );
    let query = format!("?workspace={ws}");
    assert_eq!(verify(&app, &query, Some(&member)).await.status, StatusCode::OK);
    assert_error(&verify(&app, &query, Some(&stranger)).await.body, StatusCode::FORBIDDEN, "not_a_member");

    let policy = format!("/api/v1/workspaces/{ws}/policy");
    let r = app.request(reqwest::Method::PUT, &policy, Some(&owner), Some(json!({"require_2fa": true}))).await;
    assert!(r.status.is_success(), "{}", r.text);
    let blocked = verify(&app, &query, Some(&member)).await;
    assert_error(&blocked.body, StatusCode::FORBIDDEN, "insufficient_user_authentication");
    app.enable_totp(&member).await;
    assert_eq!(verify(&app, &query, Some(&member)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revocation_is_seen_on_the_next_request_on_every_instance() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    let token = app.signed_in_user(ADA).await;
    let keep = app.token_for(ADA, PASSWORD).await;
    assert_eq!(verify(&other, "", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(app.post("/api/v1/auth/logout", Some(&token), json!({})).await.status, StatusCode::NO_CONTENT);
    assert_error(&verify(&other, "", Some(&token)).await.body, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(verify(&other, "", Some(&keep)).await.status, StatusCode::OK);
    let id = app.get("/api/v1/me/sessions", &keep).await.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&format!("/api/v1/me/sessions/{id}"), &keep).await.status, StatusCode::NO_CONTENT);
    assert_error(&verify(&other, "", Some(&keep)).await.body, StatusCode::UNAUTHORIZED, "unauthenticated");
}

/// Without `workspace=` (and without the operator's 2FA requirement) the lookup leaves
/// out the factor counts; with it, it reads the whole account. Both refuse every dead
/// token at once.
#[tokio::test]
async fn every_dead_token_is_refused_with_or_without_the_factor_counts() {
    let app = spawn_app().await;
    let owner = app.signed_in_user(ADA).await;
    let ws = workspace(&app, &owner).await;
    let queries = ["".to_owned(), format!("?workspace={ws}")];
    let refused = |a: Answer| assert_error(&a.body, StatusCode::UNAUTHORIZED, "unauthenticated");
    // A fresh session, and an API token it makes (which needs a recent sign-in).
    let new_token = |days: u32| {
        let app = &app;
        async move {
            let session = app.token_for(ADA, PASSWORD).await;
            let body = json!({"name": format!("bot {days}"), "expires_in_days": days});
            let r = app.post("/api/v1/me/tokens", Some(&session), body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            (session, r.body["id"].as_str().unwrap().to_owned(), r.body["token"].as_str().unwrap().to_owned())
        }
    };
    for query in &queries {
        let (idle, id, revoked) = new_token(30).await;
        let (signed_out, _, expiring) = new_token(1).await;
        for live in [&revoked, &expiring, &signed_out, &idle] {
            assert_eq!(verify(&app, query, Some(live)).await.status, StatusCode::OK, "{query}");
        }
        assert_eq!(app.delete(&format!("/api/v1/me/tokens/{id}"), &idle).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.post("/api/v1/auth/logout", Some(&signed_out), json!({})).await.status, StatusCode::NO_CONTENT);
        for dead in [&revoked, &signed_out, "lk_ses_unknown", "not a token"] {
            refused(verify(&app, query, Some(dead)).await);
        }
        app.advance_clock(Duration::days(2));
        refused(verify(&app, query, Some(&expiring)).await);
        app.advance_clock(Duration::days(13));
        refused(verify(&app, query, Some(&idle)).await);
    }
    let (session, _, token) = new_token(30).await;
    for query in &queries {
        assert_eq!(verify(&app, query, Some(&token)).await.status, StatusCode::OK, "{query}");
    }
    let email = latchkey::domain::email::Email::parse(ADA).unwrap();
    let operator = latchkey::service::operator::Operator("test".into());
    latchkey::service::operator::disable(&app.state, &email, &operator).await.unwrap();
    for query in &queries {
        refused(verify(&app, query, Some(&session)).await);
        refused(verify(&app, query, Some(&token)).await);
    }
}

/// A disable also ends the account's sessions and tokens; the flag alone must refuse
/// them too, on every lookup (a disable whose voiding another writer raced, say).
#[tokio::test]
async fn a_disabled_account_is_refused_by_the_flag_alone() {
    let app = spawn_app().await;
    let session = app.signed_in_user(ADA).await;
    let token = api_token(&app, &session).await;
    let ws = workspace(&app, &session).await;
    let queries = ["".to_owned(), format!("?workspace={ws}")];
    for (query, live) in queries.iter().flat_map(|q| [(q, &session), (q, &token)]) {
        assert_eq!(verify(&app, query, Some(live)).await.status, StatusCode::OK, "{query}");
    }
    app.execute_sql("UPDATE users SET disabled_at = 1 WHERE email = $1", &[ADA]).await;
    for (query, live) in queries.iter().flat_map(|q| [(q, &session), (q, &token)]) {
        assert_error(&verify(&app, query, Some(live)).await.body, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    for live in [&session, &token] {
        assert_error(&app.get("/api/v1/me", live).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn traefik_and_caddy_get_a_redirect_when_they_ask_and_only_back_to_allowed_origins() {
    let app = spawn_app().await;
    let public = app.state.config.public_url.clone();
    let host = public.trim_start_matches("http://").to_owned();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ask = |host: String, uri: &'static str, redirect: bool| {
        let query = if redirect { "?redirect=true" } else { "" };
        client
            .get(app.url(&format!("/auth/verify{query}")))
            .header("x-forwarded-proto", "http")
            .header("x-forwarded-host", host)
            .header("x-forwarded-uri", uri)
            .send()
    };
    let r = ask(host.clone(), "/app/?a=1&b=2", true).await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let rd: String = url::form_urlencoded::byte_serialize(format!("{public}/app/?a=1&b=2").as_bytes()).collect();
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{public}/?rd={rd}"));
    // Without redirect=true (nginx): the 401 stands, with the same Location for nginx to use.
    let r = read(ask(host.clone(), "/app/", false).await.unwrap()).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    // Another origin is no return address: no redirect, no Location.
    for evil in ["evil.example", "localhost.evil.example"] {
        let r = ask(evil.to_owned(), "/", true).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{evil}");
        assert!(r.headers().get("location").is_none(), "{evil}");
    }
}
