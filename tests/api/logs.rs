//! Nothing secret reaches the logs, even at debug level.

use std::io::Read;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, ServerProcess};

/// Runs a full flow (sign-up, 2FA, backup code, trusted device, API token, a wrong
/// password, a password change, a provider callback) against a server logging at debug in
/// `format`; returns the log and every secret the flow handled.
async fn full_flow_logged_as(format: &str) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "debug")
        .env("LATCHKEY_LOG_FORMAT", format)
        .env_remove("LATCHKEY_DATABASE_URL")
        .stderr(log);
    let mut server = ServerProcess::start(command);
    let base = server.base.clone();
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/livez")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.unwrap().json::<Value>().await.unwrap_or(Value::Null) }
    };
    let mut secrets: Vec<String> = vec![PASSWORD.into(), "Brand-New-Secret-77".into()];

    post("/api/v1/auth/signup", None, json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let session =
        post("/api/v1/auth/login", None, json!({"email": "ada@example.com", "password": PASSWORD})).await["token"]
            .as_str()
            .unwrap()
            .to_owned();
    secrets.push(session.clone());
    let setup = post("/api/v1/me/2fa/totp/setup", Some(&session), json!({})).await;
    let base32 = setup["secret"].as_str().unwrap().to_owned();
    secrets.push(base32.clone());
    let bytes = totp_rs::Secret::try_from_base32(&base32).unwrap().as_bytes().to_vec();
    let secret = latchkey::domain::totp::TotpSecret::from_bytes(bytes).unwrap();
    let code = secret.code_at(chrono::Utc::now().timestamp() as u64, 6).unwrap();
    let confirmed = post("/api/v1/me/2fa/totp/confirm", Some(&session), json!({"code": code})).await;
    let codes: Vec<String> =
        confirmed["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    secrets.extend(codes.iter().cloned());
    let first = post(
        "/api/v1/auth/login",
        None,
        json!({"email": "ada@example.com", "password": PASSWORD, "remember_device": true}),
    )
    .await;
    let mfa_token = first["mfa_token"].as_str().unwrap().to_owned();
    secrets.push(mfa_token.clone());
    let second =
        post("/api/v1/auth/mfa", None, json!({"mfa_token": mfa_token, "method": "backup_code", "code": codes[0]}))
            .await;
    secrets.push(second["token"].as_str().unwrap().to_owned());
    secrets.push(second["trusted_device_token"].as_str().unwrap().to_owned());
    let pat =
        post("/api/v1/me/tokens", Some(&session), json!({"name": "bot"})).await["token"].as_str().unwrap().to_owned();
    secrets.push(pat.clone());
    let me = client.get(format!("{base}/api/v1/me")).bearer_auth(&pat).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    post("/api/v1/auth/login", None, json!({"email": "ada@example.com", "password": "Wrong-Password-1!"})).await;
    secrets.push("Wrong-Password-1!".into());
    let changed = client
        .post(format!("{base}/api/v1/me/password"))
        .bearer_auth(&session)
        .json(&json!({"current_password": PASSWORD, "new_password": "Brand-New-Secret-77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    // A reset through its mailed link (written to {data_dir}/outbox/ with no SMTP server).
    post("/api/v1/auth/password/forgot", None, json!({"email": "ada@example.com"})).await;
    let reset_token = wait_for_link(dir.path(), "reset-password").await;
    let reset = client
        .post(format!("{base}/api/v1/auth/password/reset"))
        .json(&json!({"token": reset_token, "new_password": "Third-Secret-Phrase-88", "method": "backup_code", "code": codes[1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    secrets.push("Third-Secret-Phrase-88".into());
    // A provider's callback carries its authorization code and state in the query.
    let callback = format!("{base}/auth/oauth/test/callback?code=Code-From-Provider-1&state=State-Value-2");
    client.get(callback).send().await.unwrap();
    secrets.extend(["Code-From-Provider-1".into(), "State-Value-2".into()]);

    server.kill();
    // Every link mailed (confirm, reset, lock) is a secret too.
    let links = mailed_tokens(dir.path());
    assert!(links.len() >= 4, "confirm, alerts' lock links and the reset: {links:?}");
    secrets.extend(links);
    let mut text = String::new();
    std::fs::File::open(&log_path).unwrap().read_to_string(&mut text).unwrap();
    (text, secrets)
}

/// The `token=` values of every message in `{dir}/outbox/`, quoted-printable undone.
fn mailed_tokens(dir: &std::path::Path) -> Vec<String> {
    let mut tokens = Vec::new();
    for entry in std::fs::read_dir(dir.join("outbox")).into_iter().flatten() {
        let raw = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let text = raw.replace("=\r\n", "").replace("=3D", "=");
        for (at, _) in text.match_indices("token=") {
            let token: String =
                text[at + 6..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
            if token.starts_with("lk_") && !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    tokens
}

async fn wait_for_link(dir: &std::path::Path, page: &str) -> String {
    for _ in 0..200 {
        let prefix = if page == "reset-password" { "lk_rst_" } else { "lk_" };
        if let Some(t) = mailed_tokens(dir).into_iter().find(|t| t.starts_with(prefix)) {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {page} link was mailed");
}

fn assert_no_secret(text: &str, secrets: &[String]) {
    assert!(text.lines().count() > 20, "debug logging was on: {} lines", text.lines().count());
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret reached the log: {s}");
        // Tokens are also checked without their prefix.
        if let Some((_, rest)) = s.split_once('_').and_then(|(_, r)| r.split_once('_')) {
            assert!(!text.contains(rest), "a token body reached the log");
        }
    }
}

#[tokio::test]
async fn a_full_flow_at_debug_level_logs_no_secret_as_text() {
    let (text, secrets) = full_flow_logged_as("text").await;
    assert_no_secret(&text, &secrets);
    assert!(!text.contains('\u{1b}'), "no colour codes when stderr is a file");
    assert!(text.contains("request refused") && text.contains("status=401"), "the refused login is logged");
}

#[tokio::test]
async fn a_full_flow_at_debug_level_logs_no_secret_as_json_lines() {
    let (text, secrets) = full_flow_logged_as("json").await;
    assert_no_secret(&text, &secrets);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object a line ({e}): {l}")))
        .collect();
    for line in &lines {
        assert!(line["timestamp"].is_string() && line["level"].is_string(), "{line}");
        if line["target"].as_str().is_some_and(|t| t.starts_with("latchkey")) {
            assert!(line["message"].is_string(), "{line}");
        }
    }
    let refused = lines
        .iter()
        .find(|l| l["path"] == "/api/v1/auth/login" && l["status"] == 401)
        .expect("the wrong password's request line");
    assert_eq!(refused["level"], "INFO");
    assert_eq!(refused["message"], "request refused");
    assert_eq!(refused["method"], "POST");
    assert!(refused["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{refused}");
    assert!(refused["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{refused}");
    let callback = lines.iter().find(|l| l["path"] == "/auth/oauth/test/callback").expect("the callback's line");
    assert!(!callback.to_string().contains("code="), "the query is never logged");
}

#[test]
fn an_unknown_log_format_stops_the_binary_with_one_line() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_latchkey")).arg("--help").env("LATCHKEY_LOG_FORMAT", "xml").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("LATCHKEY_LOG_FORMAT"), "{stderr}");
}

/// A caller's plain request id comes back, so a client can quote it; a forged one (a line
/// break to fake a log line) is dropped.
#[tokio::test]
async fn a_plain_request_id_is_echoed_and_a_forged_one_is_not() {
    let app = crate::helpers::spawn_app().await;
    for path in ["/livez", "/api/v1/me"] {
        let r = app.client.get(app.url(path)).header("x-request-id", "trace-4bf92f35.7").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "trace-4bf92f35.7", "{path}");
    }
    let r = app.client.get(app.url("/livez")).header("x-request-id", "a b").send().await.unwrap();
    assert!(r.headers().get("x-request-id").is_none());
}
