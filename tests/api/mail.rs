//! Mail delivery against a real SMTP server (aiosmtpd): headers and parts, STARTTLS with a
//! private CA, a server that is down, a Latchkey killed with a message queued, and two
//! instances sharing one outbox.

use std::process::{Command, Stdio};

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{PASSWORD, ServerProcess, TestApp, assert_error, spawn_app_with};
use crate::smtp::{SmtpSink, TestCa, link_token};

pub async fn app_mailing_to(sink: &SmtpSink, ca: Option<&TestCa>) -> TestApp {
    let url = sink.url();
    let ca_file = ca.map(|c| c.ca_cert.clone());
    spawn_app_with(move |c| {
        c.mail.smtp_url = Some(SecretString::from(url));
        c.mail.ca_file = ca_file;
    })
    .await
}

#[tokio::test]
async fn a_sign_up_link_arrives_as_a_proper_message_and_confirms_the_address_once() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status, StatusCode::CREATED);
    let m = sink.message("ada@example.com", "Confirm your email address").await;
    let h = &m["headers"];
    assert_eq!(h["from"], "Latchkey <latchkey@localhost>");
    assert_eq!(h["auto-submitted"], "auto-generated");
    assert!(h["date"].as_str().unwrap().contains("20"), "{h}");
    assert!(h["message-id"].as_str().unwrap().ends_with("@localhost>"), "{h}");
    assert_eq!(m["content_type"], "multipart/alternative");
    let token = link_token(&m, "verify-email");
    let link = format!("{}/verify-email?token={token}", app.state.config.public_url);
    assert!(m["text"].as_str().unwrap().contains(&link));
    assert!(m["html"].as_str().unwrap().contains(&link), "the HTML part has the link too");

    let session = app.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &session).await.body["email_verified"], false);
    let once = app.post("/api/v1/auth/email/verify", None, json!({"token": token})).await;
    assert_eq!(once.status, StatusCode::NO_CONTENT, "{}", once.text);
    assert_eq!(app.get("/api/v1/me", &session).await.body["email_verified"], true);
    let again = app.post("/api/v1/auth/email/verify", None, json!({"token": token})).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "invalid_token");
    let forged = app.post("/api/v1/auth/email/verify", None, json!({"token": "lk_eml_forged"})).await;
    assert_error(&forged, StatusCode::BAD_REQUEST, "invalid_token");

    // A second sign-up with the address is refused, and its mail goes with it (one
    // transaction): nothing more reaches the address.
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status, StatusCode::CONFLICT);
    // Resend: none once confirmed.
    let r = app.post("/api/v1/me/email/verify/resend", Some(&session), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "the address is confirmed already, and the refused sign-up sent nothing");
    assert_eq!(app.state.store.mail_waiting().await.unwrap(), 0);
}

#[tokio::test]
async fn starttls_with_a_private_ca_is_required_and_works() {
    let ca = TestCa::new();
    let sink = SmtpSink::start_tls(&ca);
    let app = app_mailing_to(&sink, Some(&ca)).await;
    app.signup("ada@example.com", PASSWORD).await;
    let m = sink.message("ada@example.com", "Confirm your email address").await;
    assert_eq!(m["tls"], true, "sent after STARTTLS");

    // Without the CA the server's certificate is not trusted: nothing is sent, and the
    // message waits in the outbox with the reason.
    let untrusting = app_mailing_to(&sink, None).await;
    untrusting.signup("bob@example.com", PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(sink.wait_for("bob@example.com", 1).await.is_empty());
    assert_eq!(untrusting.state.store.mail_waiting().await.unwrap(), 1);
}

#[tokio::test]
async fn a_message_waits_while_the_mail_server_is_down_and_goes_when_it_is_back() {
    let mut sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    sink.stop();
    let started = std::time::Instant::now();
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status, StatusCode::CREATED);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "a dead mail server does not slow a request");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(app.state.store.mail_waiting().await.unwrap(), 1);
    let sink = sink.restart();
    sink.message("ada@example.com", "Confirm your email address").await;
    // The sink stores the message before it answers; the row is marked sent after.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.state.store.mail_waiting().await.unwrap() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.state.store.mail_waiting().await.unwrap(), 0);
}

fn serve(database_url: &str, data_dir: &std::path::Path, smtp_url: &str) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(["serve", "--database", database_url, "--smtp-url", smtp_url, "--data-dir"])
        .arg(data_dir)
        .stderr(Stdio::null());
    ServerProcess::start(command)
}

#[tokio::test]
async fn a_latchkey_killed_with_a_message_queued_sends_it_after_a_restart() {
    let mut sink = SmtpSink::start();
    let url = sink.url();
    sink.stop();
    let data = tempfile::tempdir().unwrap();
    let database = crate::helpers::fresh_database_url(data.path()).await;
    let mut server = serve(&database, data.path(), &url);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/signup", server.base))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    server.kill();
    let store = latchkey::store::Store::connect(&database, 1).await.unwrap();
    assert_eq!(store.mail_waiting().await.unwrap(), 1, "queued, not sent");

    let sink = sink.restart();
    let _server = serve(&database, data.path(), &url);
    sink.message("ada@example.com", "Confirm your email address").await;
}

#[tokio::test]
async fn two_instances_send_each_message_exactly_once() {
    let sink = SmtpSink::start();
    let app = app_mailing_to(&sink, None).await;
    let other = app.second_instance().await;
    let signups = (0..12).map(|i| {
        let target = if i % 2 == 0 { &app } else { &other };
        async move { target.signup(&format!("user{i}@example.com"), PASSWORD).await }
    });
    for r in futures::future::join_all(signups).await {
        assert_eq!(r.status, StatusCode::CREATED);
    }
    for i in 0..12 {
        sink.message(&format!("user{i}@example.com"), "Confirm your email address").await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let all = sink.messages();
    assert_eq!(all.len(), 12, "one copy each");
    let ids: std::collections::HashSet<_> = all.iter().map(|m| m["headers"]["message-id"].to_string()).collect();
    assert_eq!(ids.len(), 12);
}

#[tokio::test]
async fn mail_test_says_what_happened() {
    let sink = SmtpSink::start();
    let data = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["--data-dir", data.path().to_str().unwrap(), "mail", "test", "ada@example.com"])
            .args(extra)
            .env_remove("LATCHKEY_SMTP_URL")
            .output()
            .unwrap()
    };
    let sent = run(&["--smtp-url", &sink.url()]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert!(String::from_utf8_lossy(&sent.stdout).starts_with("sent to ada@example.com through SMTP"));
    sink.message("ada@example.com", "Latchkey test message").await;

    let file = run(&[]);
    let said = String::from_utf8_lossy(&file.stdout).to_string();
    assert!(said.contains("was written to"), "{said}");
    let path = said.trim().rsplit(' ').next().unwrap();
    assert!(std::fs::read_to_string(path).unwrap().contains("Subject: Latchkey test message"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "messages hold single-use links: owner only");

    let refused = run(&["--smtp-url", "smtp://127.0.0.1:9"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not sent to ada@example.com"), "{err}");
}
