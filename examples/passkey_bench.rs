//! Passkey sign-in under load, for `bench/run`: wrk cannot sign WebAuthn assertions, so
//! this client does what a browser does (start, sign with a software passkey, finish)
//! from CONCURRENCY tasks for SECONDS, and prints sign-ins per second and latencies of the
//! whole sign-in (both requests).
//!
//!   cargo run --release --example passkey_bench -- http://127.0.0.1:PORT [SECONDS] [CONCURRENCY]
//!
//! The server must let every account add passkeys (`--webauthn-plans all`) and believe
//! X-Forwarded-For from loopback (`--trusted-proxy 127.0.0.1/32`): each sign-in comes from
//! its own address, as real ones do, so the per-address limits (300 starts per 15 minutes)
//! measure nothing but themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/soft_passkey.rs"]
mod soft_passkey;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use soft_passkey::SoftPasskey;

const PASSWORD: &str = "Correct-Horse-Battery-9";

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, from: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(ip) = from {
        request = request.header("x-forwarded-for", ip);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// An account with one passkey.
async fn enrol(client: &reqwest::Client, base: &str, origin: &str, n: usize) -> SoftPasskey {
    let email = format!("passkey{n}@example.com");
    let signup = client.post(format!("{base}/api/v1/auth/signup")).json(&json!({"email": email, "password": PASSWORD}));
    signup.send().await.expect("signup");
    let login =
        post(client, format!("{base}/api/v1/auth/login"), None, None, json!({"email": email, "password": PASSWORD}))
            .await;
    let token = login["token"].as_str().expect("no second step for a new account");
    let start = json!({"name": "Bench", "passkey": true});
    let start = post(client, format!("{base}/api/v1/me/2fa/webauthn/register/start"), Some(token), None, start).await;
    let mut passkey = SoftPasskey::synced();
    let credential = passkey.register(origin, &start["options"]);
    let finish = json!({"challenge_id": start["challenge_id"], "credential": credential});
    post(client, format!("{base}/api/v1/me/2fa/webauthn/register/finish"), Some(token), None, finish).await;
    passkey
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("BASE_URL");
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    // Signed for the public URL's origin, whatever address the requests go to.
    let origin = base.replace("127.0.0.1", "localhost");
    let client = reqwest::Client::new();
    let mut passkeys = Vec::new();
    for n in 0..concurrency {
        passkeys.push(enrol(&client, &base, &origin, n).await);
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks = passkeys.into_iter().enumerate().map(|(task, mut passkey)| {
        let (client, base, origin) = (client.clone(), base.clone(), origin.clone());
        tokio::spawn(async move {
            let (mut latencies, mut failures, mut n) = (Vec::new(), 0u64, 0u32);
            while Instant::now() < deadline {
                n += 1;
                let from = format!("10.{}.{}.{}", task, n / 250 % 250, n % 250 + 1);
                let began = Instant::now();
                let start = client.post(format!("{base}/api/v1/auth/passkey/start")).header("x-forwarded-for", &from);
                let start: Value = start.send().await.expect("start").json().await.expect("start body");
                let assertion = passkey.assert(&origin, &start["options"]);
                let body = json!({"challenge_id": start["challenge_id"], "credential": assertion});
                let finish = client.post(format!("{base}/api/v1/auth/passkey/finish")).header("x-forwarded-for", &from);
                let finished = finish.json(&body).send().await.expect("finish");
                if finished.status().is_success() {
                    latencies.push(began.elapsed());
                } else {
                    failures += 1;
                }
                drop(finished.bytes().await);
            }
            (latencies, failures)
        })
    });
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for task in futures::future::join_all(tasks).await {
        let (l, f) = task.expect("task");
        latencies.extend(l);
        failures += f;
    }
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "{:<34} {:>10.2} sign-ins/s   p50 {:.2}ms   p99 {:.2}ms   failed: {failures}",
        format!("passkey sign-in ({concurrency} clients)"),
        latencies.len() as f64 / seconds as f64,
        ms(at(0.50)),
        ms(at(0.99)),
    );
}
