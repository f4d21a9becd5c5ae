//! RFC 7662 introspection: clients made by `latchkey client add`, secrets only as hashes,
//! `{"active": false}` alone for every dead token kind, revocation seen at once, and a
//! per-client lock on wrong secrets.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::latchkey;
use crate::helpers::{PASSWORD, TestApp, assert_error, read, spawn_app};

const ADA: &str = "ada@example.com";

struct Client {
    id: String,
    secret: String,
}

fn add_client(app: &TestApp, name: &str) -> Client {
    let out = latchkey(app, &["client", "add", name], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_else(|| panic!("{text}")).to_owned()
    };
    let secret = field("client_secret");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "URL-safe: {secret}");
    Client { id: field("client_id"), secret }
}

async fn introspect(app: &TestApp, client: &Client, token: &str) -> crate::helpers::Response {
    let r = app
        .client
        .post(app.url("/api/v1/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    read(r).await
}

async fn active(app: &TestApp, client: &Client, token: &str) -> Value {
    let r = introspect(app, client, token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn a_live_session_and_api_token_are_described_and_every_dead_one_is_only_inactive() {
    let app = spawn_app().await;
    let client = add_client(&app, "billing backend");
    let session = app.signed_in_user(ADA).await;
    let me = app.get("/api/v1/me", &session).await.body;
    let sid = app.get("/api/v1/me/sessions", &session).await.body[0]["id"].clone();
    let body = active(&app, &client, &session).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!((body["sub"].clone(), body["username"].clone()), (me["id"].clone(), json!(ADA)));
    assert_eq!((body["token_type"].clone(), body["sid"].clone()), (json!("session"), sid));
    assert_eq!(body["amr"], json!(["pwd"]));
    let (iat, exp, auth_time) =
        (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap(), body["auth_time"].as_i64().unwrap());
    assert_eq!(exp - iat, 90 * 86_400, "the absolute lifetime");
    assert!((auth_time - iat).abs() <= 1);

    let pat = app.post("/api/v1/me/tokens", Some(&session), json!({"name": "ci"})).await.body;
    let body = active(&app, &client, pat["token"].as_str().unwrap()).await;
    assert_eq!(
        (body["active"].clone(), body["token_type"].clone(), body["amr"].clone()),
        (json!(true), json!("api_token"), json!([]))
    );
    assert!(body.get("sid").is_none() && body.get("auth_time").is_none() && body["exp"].is_i64(), "{body}");

    // Dead: unknown, malformed, other kinds, signed out, revoked, expired, disabled.
    let inactive = |body: Value| assert_eq!(body, json!({"active": false}));
    for junk in ["lk_ses_unknown", "not a token", "", "lk_mfa_whatever"] {
        inactive(active(&app, &client, junk).await);
    }
    let out = app.token_for(ADA, PASSWORD).await;
    assert_eq!(app.post("/api/v1/auth/logout", Some(&out), json!({})).await.status, StatusCode::NO_CONTENT);
    inactive(active(&app, &client, &out).await);
    let revoked = app.delete(&format!("/api/v1/me/tokens/{}", pat["id"].as_str().unwrap()), &session).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    inactive(active(&app, &client, pat["token"].as_str().unwrap()).await);
    let idle = app.token_for(ADA, PASSWORD).await;
    app.advance_clock(Duration::days(15));
    inactive(active(&app, &client, &idle).await);
    let fresh = app.token_for(ADA, PASSWORD).await;
    let email = latchkey::domain::email::Email::parse(ADA).unwrap();
    let operator = latchkey::service::operator::Operator("test".into());
    latchkey::service::operator::disable(&app.state, &email, &operator).await.unwrap();
    inactive(active(&app, &client, &fresh).await);
}

#[tokio::test]
async fn a_client_is_authenticated_and_locked_out_after_wrong_secrets() {
    let app = spawn_app().await;
    let client = add_client(&app, "reports");
    let token = app.signed_in_user(ADA).await;
    let no_auth =
        app.client.post(app.url("/api/v1/introspect")).form(&[("token", token.as_str())]).send().await.unwrap();
    assert_eq!(no_auth.headers()["www-authenticate"], "Basic realm=\"latchkey\"");
    assert_error(&read(no_auth).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let wrong = Client { id: client.id.clone(), secret: "lk_cli_wrong".into() };
    for _ in 0..5 {
        assert_error(&introspect(&app, &wrong, &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    // Counted before compared: even the right secret waits now.
    assert_error(&introspect(&app, &client, &token).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    app.advance_clock(Duration::seconds(2));
    assert_eq!(active(&app, &client, &token).await["active"], true);

    // The store holds only a hash; a removed client fails at once.
    let list = String::from_utf8(latchkey(&app, &["client", "list"], None).stdout).unwrap();
    assert!(list.contains("reports") && !list.contains(&client.secret), "{list}");
    assert!(latchkey(&app, &["client", "remove", &client.id], None).status.success());
    assert_error(&introspect(&app, &client, &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(!latchkey(&app, &["client", "remove", &client.id], None).status.success(), "no such client now");
}
