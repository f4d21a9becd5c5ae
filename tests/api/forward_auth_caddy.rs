//! Real Caddy (Debian's `caddy`) in front of a small app, asking Latchkey with
//! `forward_auth`, configured by deploy/caddy/Caddyfile as shipped (only the ports
//! changed): signed out, the browser goes to the sign-in page with `rd`; signed in, the
//! app sees who it is; `/app/admin/` sends a password-only session to /step-up and lets it
//! through once the session proved a second factor; a revoked session is sent away on its
//! very next request.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::forward_auth_nginx::start_app;
use crate::helpers::{PASSWORD, spawn_app_with};
use crate::load_balancer::{Processes, wait_until_up};

#[tokio::test]
async fn caddy_forward_auth_lets_signed_in_sessions_through_and_sends_the_rest_to_sign_in_or_step_up() {
    // Caddy 2.6 cannot take a socket handed over, so the port is picked and released.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let public = base.clone();
    let app = spawn_app_with(move |c| {
        c.public_url = public;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let protected = start_app().await;

    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/caddy/Caddyfile")).unwrap();
    for placeholder in [":80 {", "127.0.0.1:8080", "127.0.0.1:9000"] {
        assert!(shipped.contains(placeholder), "the shipped Caddyfile has {placeholder}");
    }
    let site = shipped
        .replace(":80 {", &format!("http://127.0.0.1:{port} {{"))
        .replace("127.0.0.1:8080", &app.addr.to_string())
        .replace("127.0.0.1:9000", &protected.to_string());
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Caddyfile"), site).unwrap();
    let caddy = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(tmp.path().join("Caddyfile"))
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path())
        .env("XDG_DATA_HOME", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("caddy (apt install caddy; scripts/test installs it)");
    let _children = Processes(vec![caddy]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_until_up(&client, &format!("{base}/livez")).await;
    let rd =
        |path: &str| -> String { url::form_urlencoded::byte_serialize(format!("{base}{path}").as_bytes()).collect() };

    // Signed out: to the sign-in page, with rd naming the page asked for.
    let r = client.get(format!("{base}/app/hello?x=1&y=2")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{base}/?rd={}", rd("/app/hello?x=1&y=2")));

    // Signed in through Caddy: the app sees who it is.
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    assert_eq!(client.post(format!("{base}/api/v1/auth/signup")).json(&body).send().await.unwrap().status(), 201);
    let login: Value =
        client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await.unwrap().json().await.unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let cookie = format!("latchkey_session={token}");
    let id = app.get("/api/v1/me", &token).await.body["id"].as_str().unwrap().to_owned();
    let r = client.get(format!("{base}/app/hello")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), format!("user={id} email=ada@example.com amr=pwd"));

    // /app/admin/ needs a second factor: a password-only session goes to /step-up...
    let (auth, _) = app.enable_totp(&token).await;
    let r = client.get(format!("{base}/app/admin/users")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{base}/step-up?rd={}", rd("/app/admin/users")));
    // ...and is let through once it proved one.
    let r = app.post("/api/v1/auth/reauth", Some(&token), json!({"code": app.next_code(&auth)})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = client.get(format!("{base}/app/admin/users")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), format!("user={id} email=ada@example.com amr=pwd,otp,mfa"));

    // Signed out: away at the very next request.
    let out = client.post(format!("{base}/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let r = client.get(format!("{base}/app/hello")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("{base}/?rd={}", rd("/app/hello")));
}
