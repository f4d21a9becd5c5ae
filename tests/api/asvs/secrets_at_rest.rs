//! Secrets at rest (ASVS 6.5.2): backup codes are stored as salted Argon2id with a
//! one-character hint, each typed code costs at most one slow hash, and codes stored
//! before (as a keyed HMAC) still work once.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Row};

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use latchkey::domain::backup_codes::BackupCode;

const OWNER: &str = "owner@example.com";

/// Runs one statement on the app's database and returns the rows' `(code_hash, hint)`.
async fn codes(app: &TestApp, user_id: &str) -> Vec<(String, Option<String>)> {
    let url = app.state.config.database_url.clone();
    let sql = "SELECT code_hash, hint FROM backup_codes WHERE user_id = $1 ORDER BY id";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sql).bind(user_id).fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|r| (r.get::<String, _>("code_hash"), r.get::<Option<String>, _>("hint"))).collect()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sql).bind(user_id).fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|r| (r.get::<String, _>("code_hash"), r.get::<Option<String>, _>("hint"))).collect()
    }
}

async fn insert_legacy(app: &TestApp, user_id: &str, hmac: &str) {
    let sql = "INSERT INTO backup_codes (id, user_id, code_hash, created_at) VALUES ('legacy', $1, $2, 0)";
    app.execute_sql(sql, &[user_id, hmac]).await;
}

#[tokio::test]
async fn backup_codes_are_salted_slow_hashes_with_distinct_hints() {
    let app = spawn_app().await;
    let token = app.signed_in_user(OWNER).await;
    let (_, shown) = app.enable_totp(&token).await;
    let user_id = app.get("/api/v1/me", &token).await.body["id"].as_str().unwrap().to_owned();
    let stored = codes(&app, &user_id).await;
    assert_eq!(stored.len(), 10);
    let mut hints: Vec<_> = stored.iter().map(|(_, h)| h.clone().expect("a hint")).collect();
    for (hash, _) in &stored {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(shown.iter().all(|code| !hash.contains(code.as_str())));
    }
    hints.sort();
    hints.dedup();
    assert_eq!(hints.len(), 10, "no two codes share a hint: a check is one slow hash");
    assert!(hints.iter().all(|h| h.len() == 1), "5 bits only");
    for code in &shown {
        let first = BackupCode::parse(code).unwrap().hint().to_owned();
        assert!(hints.contains(&first), "{code}");
    }

    let before = app.state.hasher.computations();
    let mfa = app.mfa_token(OWNER, PASSWORD).await;
    assert_eq!(app.mfa(&mfa, "backup_code", &shown[3]).await.status, StatusCode::OK);
    assert_eq!(app.state.hasher.computations() - before, 1, "the password only: codes are not password work");
}

#[tokio::test]
async fn a_code_stored_before_the_change_still_works_once() {
    let app = spawn_app().await;
    let token = app.signed_in_user(OWNER).await;
    app.enable_totp(&token).await;
    let user_id = app.get("/api/v1/me", &token).await.body["id"].as_str().unwrap().to_owned();
    let old = BackupCode::parse("abcde-fghjk").unwrap();
    insert_legacy(&app, &user_id, &app.state.secrets.code_hashes(&user_id, old.normalized())[0]).await;

    let mfa = app.mfa_token(OWNER, PASSWORD).await;
    let r = app
        .post("/api/v1/auth/mfa", None, json!({"mfa_token": mfa, "method": "backup_code", "code": "abcde-fghjk"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mfa = app.mfa_token(OWNER, PASSWORD).await;
    assert_eq!(app.mfa(&mfa, "backup_code", "abcde-fghjk").await.status, StatusCode::UNAUTHORIZED, "used up");
}
