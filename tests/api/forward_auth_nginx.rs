//! Real nginx in front of a small app, asking Latchkey with `auth_request`, configured by
//! deploy/nginx/forward-auth.conf as shipped (only ports and the listen address changed):
//! signed out, the browser goes to the sign-in page with `rd`; signed in, the app sees who
//! it is; a location that needs a second factor sends a password-only session to
//! /step-up, and lets it through once the session proved one; signed out again, back to
//! the sign-in page.

use std::net::TcpListener;
use std::time::Duration;

use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app_with};
use crate::load_balancer::{Processes, start_nginx, wait_until_up};

/// The app behind the proxy: it answers with the identity headers the proxy passed on.
pub async fn start_app() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = |headers: HeaderMap| async move {
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        format!(
            "user={} email={} amr={} session={} auth_time={}",
            get("remote-user"),
            get("remote-email"),
            get("remote-amr"),
            get("remote-session"),
            // Unix seconds vary: shown as their shape.
            match get("remote-auth-time") {
                t if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => "<unix>".to_owned(),
                t => t,
            },
        )
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    addr
}

#[tokio::test]
async fn nginx_auth_request_lets_signed_in_sessions_through_and_sends_the_rest_to_sign_in_or_step_up() {
    let edge = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = edge.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let app = app_behind_proxy(&base).await;
    let protected = start_app().await;

    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/forward-auth.conf")).unwrap();
    for placeholder in ["listen 80;", "server 127.0.0.1:8080;", "server 127.0.0.1:9000;"] {
        assert!(shipped.contains(placeholder), "the shipped config has {placeholder}");
    }
    let site = shipped
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("server 127.0.0.1:8080;", &format!("server {};", app.addr))
        .replace("server 127.0.0.1:9000;", &format!("server {protected};"));
    let tmp = tempfile::tempdir().unwrap();
    let _children = Processes(vec![start_nginx(tmp.path(), &site, &edge)]);
    through_the_proxy(&app, &base).await;
}

/// Latchkey behind a proxy at `base` on this machine: its public URL, and the proxy's
/// `X-Forwarded-*` believed.
pub async fn app_behind_proxy(base: &str) -> crate::helpers::TestApp {
    let public = base.to_owned();
    spawn_app_with(move |c| {
        c.public_url = public;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
}

/// A port no one listens on, for a proxy that cannot take a socket handed over (it is
/// released first, so another process could take it in between; the test would then fail
/// to start, not pass).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a browser meets through a proxy at `base` that asks Latchkey (`app`, whose public
/// URL is `base`) about `/app/` and, with a second factor, `/app/admin/`: the same steps
/// for every proxy configuration shipped in deploy/.
pub async fn through_the_proxy(app: &crate::helpers::TestApp, base: &str) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_until_up(&client, &format!("{base}/livez")).await;
    let sign_in_for = |path: &str| {
        let rd: String = url::form_urlencoded::byte_serialize(format!("{base}{path}").as_bytes()).collect();
        format!("{base}/?rd={rd}")
    };

    // Signed out: to the sign-in page, with rd naming the page asked for.
    let r = client.get(format!("{base}/app/hello?x=1&y=2")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"].to_str().unwrap(), sign_in_for("/app/hello?x=1&y=2"));

    // Signed in (through nginx, as a browser would): the app sees who it is.
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    assert_eq!(client.post(format!("{base}/api/v1/auth/signup")).json(&body).send().await.unwrap().status(), 201);
    let login: Value =
        client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await.unwrap().json().await.unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let sid = login["session_id"].as_str().unwrap().to_owned();
    let cookie = format!("latchkey_session={token}");
    let id = app.get("/api/v1/me", &token).await.body["id"].as_str().unwrap().to_owned();
    // Identity headers the browser made up never reach the app: the proxy replaces them.
    let forged = |r: reqwest::RequestBuilder| {
        r.header("remote-user", "forged-user")
            .header("remote-email", "boss@example.com")
            .header("remote-amr", "pwd,otp,mfa")
            .header("remote-session", "forged-session")
            .header("remote-auth-time", "forged")
    };
    let r = forged(client.get(format!("{base}/app/hello"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!("user={id} email=ada@example.com amr=pwd session={sid} auth_time=<unix>")
    );
    // An API token: no session and no proof, so those headers reach the app empty, never forged.
    let api = app.post("/api/v1/me/tokens", Some(&token), json!({"name": "deploy bot"})).await;
    assert_eq!(api.status, StatusCode::CREATED, "{}", api.text);
    let api_token = api.body["token"].as_str().unwrap();
    let r = forged(client.get(format!("{base}/app/hello"))).bearer_auth(api_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), format!("user={id} email=ada@example.com amr= session= auth_time="));

    // A location that needs a second factor: a password-only session goes to /step-up.
    let (auth, _) = app.enable_totp(&token).await;
    let r = client.get(format!("{base}/app/admin/users")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let rd: String = url::form_urlencoded::byte_serialize(format!("{base}/app/admin/users").as_bytes()).collect();
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{base}/step-up?rd={rd}"));
    // The session proves a second factor (the step-up), and is let through.
    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = client.get(format!("{base}/app/admin/users")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!("user={id} email=ada@example.com amr=pwd,otp,mfa session={sid} auth_time=<unix>")
    );

    // Signed out: back to the sign-in page at the very next request.
    let out = client.post(format!("{base}/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let r = client.get(format!("{base}/app/hello")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"].to_str().unwrap(), sign_in_for("/app/hello"));
}
