//! The `latchkey` binary's account commands, against this run's database.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// Runs the binary against `app`'s database and data dir (where its secret key lives).
pub fn latchkey(app: &TestApp, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .arg("--database")
        .arg(&app.state.config.database_url)
        .arg("--data-dir")
        .arg(&app.state.config.data_dir)
        .env_remove("LATCHKEY_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_add_creates_accounts_that_sign_in_and_user_list_shows_them() {
    let app = spawn_app().await;
    let added = latchkey(&app, &["user", "add", "ada@example.com", "--password-stdin"], Some(&format!("{PASSWORD}\n")));
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let bare = latchkey(&app, &["user", "add", "bob@example.com"], None);
    assert!(bare.status.success());

    assert_eq!(app.login("ada@example.com", PASSWORD).await.status, reqwest::StatusCode::OK);
    let token = app.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &token).await.body["has_password"], true);

    let list = latchkey(&app, &["user", "list"], None);
    let out = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    let ada = out.lines().find(|l| l.starts_with("ada@example.com")).unwrap();
    assert!(!ada.contains("never"), "ada signed in: {ada}");
    let bob = out.lines().find(|l| l.starts_with("bob@example.com")).unwrap();
    assert!(bob.contains("never"), "{bob}");
}

#[tokio::test]
async fn failing_commands_exit_non_zero_with_one_line() {
    let app = spawn_app().await;
    latchkey(&app, &["user", "add", "ada@example.com"], None);
    let taken = latchkey(&app, &["user", "add", "ada@example.com"], None);
    assert!(!taken.status.success());
    let err = String::from_utf8_lossy(&taken.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");

    let weak = latchkey(&app, &["user", "add", "weak@example.com", "--password-stdin"], Some("short"));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));
}

#[tokio::test]
async fn migrate_and_prune_run_cleanly() {
    let app = spawn_app().await;
    let migrate = latchkey(&app, &["migrate"], None);
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let prune = latchkey(&app, &["prune"], None);
    assert!(prune.status.success());
    assert!(String::from_utf8_lossy(&prune.stdout).starts_with("pruned 0 sessions and 0 login-history rows"));
}
