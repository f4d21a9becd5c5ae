//! SIGKILL during a write-heavy run: after a restart everything acknowledged is there
//! and nothing is half-done.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey::domain::email::Email;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, ServerProcess, TestApp, spawn_app};

fn start(app: &TestApp) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(["serve", "--database", &app.state.config.database_url, "--data-dir"])
        .arg(&app.state.config.data_dir)
        .stderr(Stdio::null());
    ServerProcess::start(command)
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/livez")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server did not come up");
}

#[derive(Default)]
struct Acknowledged {
    accounts: Vec<String>,
    enrolled: Vec<String>,
    tokens: Vec<String>,
}

/// One client's loop: sign up, sign in, enrol an authenticator; record what the server acknowledged.
async fn writer(client: reqwest::Client, base: String, worker: usize, seen: Arc<Mutex<Acknowledged>>) {
    for i in 0.. {
        let email = format!("w{worker}-{i}@example.com");
        let post = |path: &str, token: Option<&str>, body: Value| {
            let mut r = client.post(format!("{base}{path}")).json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        let Ok(r) = post("/api/v1/auth/signup", None, json!({"email": email, "password": PASSWORD})).await else {
            return;
        };
        if r.status() != StatusCode::CREATED {
            return;
        }
        seen.lock().unwrap().accounts.push(email.clone());
        let Ok(r) = post("/api/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await else {
            return;
        };
        let Ok(body) = r.json::<Value>().await else { return };
        let Some(token) = body["token"].as_str().map(str::to_owned) else { return };
        seen.lock().unwrap().tokens.push(token.clone());
        let Ok(r) = post("/api/v1/me/2fa/totp/setup", Some(&token), json!({})).await else { return };
        let Ok(setup) = r.json::<Value>().await else { return };
        let Some(base32) = setup["secret"].as_str() else { return };
        let bytes = totp_rs::Secret::try_from_base32(base32).unwrap().as_bytes().to_vec();
        let secret = latchkey::domain::totp::TotpSecret::from_bytes(bytes).unwrap();
        let code = secret.code_at(chrono::Utc::now().timestamp() as u64, 6).unwrap();
        let Ok(r) = post("/api/v1/me/2fa/totp/confirm", Some(&token), json!({"code": code})).await else { return };
        if r.status() == StatusCode::OK {
            seen.lock().unwrap().enrolled.push(email);
        }
    }
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_and_nothing_is_half_done_after_sigkill() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let seen = Arc::new(Mutex::new(Acknowledged::default()));
    const KILLS: usize = 3;
    for _ in 0..KILLS {
        let mut server = start(&app);
        let base = server.base.clone();
        wait_ready(&client, &base).await;
        let writers: Vec<_> = (0..4)
            .map(|w| {
                tokio::spawn(writer(
                    client.clone(),
                    base.clone(),
                    w + 4 * seen.lock().unwrap().accounts.len(),
                    seen.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill(); // SIGKILL: no shutdown, no flush.
        for w in writers {
            let _ = w.await;
        }
    }
    let server = start(&app);
    let base = server.base.clone();
    wait_ready(&client, &base).await;

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.accounts.len() >= KILLS * 4, "the run wrote: {} accounts", seen.accounts.len());
    println!(
        "{} kills survived: {} accounts, {} sessions, {} enrolments acknowledged",
        KILLS,
        seen.accounts.len(),
        seen.tokens.len(),
        seen.enrolled.len()
    );
    let store = &app.state.store;
    for email in &seen.accounts {
        assert!(store.user_by_email(&Email::parse(email).unwrap()).await.unwrap().is_some(), "{email} lost");
    }
    for email in &seen.enrolled {
        let user = store.user_by_email(&Email::parse(email).unwrap()).await.unwrap().unwrap();
        let f = store.factors(&user.id).await.unwrap();
        assert!(f.totp_created_at.is_some() && f.backup_codes_remaining == 10, "{email}: {f:?}");
    }
    for (user, f) in store.list_users().await.unwrap() {
        assert_eq!(f.enabled(), f.backup_codes_remaining == 10, "half-enrolled: {} {f:?}", user.email);
    }
    for token in &seen.tokens {
        let r = client.get(format!("{base}/api/v1/me")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "an acknowledged sign-in was lost");
    }
    drop(server);
}
