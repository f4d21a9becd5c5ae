//! The storage suite, straight against `Store`, on whichever backend this run uses.

use chrono::{Duration, Utc};
use latchkey::domain::device::Device;
use latchkey::domain::email::Email;
use latchkey::domain::location::Location;
use latchkey::domain::sign_in::SignInAttempt;
use latchkey::domain::token::{SecretToken, TokenKind};
use latchkey::store::{NewSession, StoreError};

use crate::helpers::spawn_app;

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

#[tokio::test]
async fn a_second_account_with_one_email_is_a_conflict() {
    let app = spawn_app().await;
    let store = &app.state.store;
    store.create_user(&email("ada@example.com"), Some("h1"), Utc::now()).await.unwrap();
    let again = store.create_user(&email("ada@example.com"), None, Utc::now()).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn password_history_is_newest_first_and_limited() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let t0 = Utc::now();
    let user = store.create_user(&email("ada@example.com"), Some("h0"), t0).await.unwrap();
    for i in 1..=6 {
        store.change_password(&user.id, &format!("h{i}"), None, t0 + Duration::seconds(i)).await.unwrap();
    }
    let recent = store.recent_password_hashes(&user.id, 5).await.unwrap();
    assert_eq!(recent, ["h6", "h5", "h4", "h3", "h2"]);
    assert_eq!(store.user_by_id(&user.id).await.unwrap().unwrap().password_hash.as_deref(), Some("h6"));
}

#[tokio::test]
async fn sessions_are_found_by_token_hash_and_pruned_when_expired() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let now = Utc::now();
    let user = store.create_user(&email("ada@example.com"), None, now).await.unwrap();
    let token = SecretToken::generate(TokenKind::Session, [3; 32]);
    let device = Device::identify(None, Some("Laptop"), None);
    let location = Location::from_parts(Some("DE".into()), Some("Germany".into()), Some("Berlin".into()));
    let id = store
        .create_session(NewSession {
            user_id: &user.id,
            token_hash: &token.hash(),
            device: &device,
            ip: "81.2.69.142",
            location: &location,
            user_agent: Some("ua"),
            now,
            expires_at: now + Duration::days(90),
            trusted_device_id: None,
            password_hash: None,
            auth_at: None,
            device_grant_id: None,
            amr: &latchkey::domain::proof::Amr::default(),
            history: None,
            alert: None,
        })
        .await
        .unwrap()
        .id;
    let found = store.session_by_token(&token.hash()).await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.account.email, "ada@example.com");
    assert!(!found.account.factors.enabled());
    let listed = &store.sessions_of(&found.user_id).await.unwrap()[0];
    assert_eq!(listed.location, location);
    assert_eq!(listed.device, device);
    assert!(
        store.session_by_token(&SecretToken::generate(TokenKind::Session, [4; 32]).hash()).await.unwrap().is_none()
    );

    assert_eq!(store.prune_sessions(now, now - Duration::days(14)).await.unwrap(), 0);
    assert_eq!(store.prune_sessions(now + Duration::days(91), now).await.unwrap(), 1);
    assert!(store.session_by_token(&token.hash()).await.unwrap().is_none());
}

#[tokio::test]
async fn login_history_round_trips_and_is_pruned_by_age() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let now = Utc::now();
    let user = store.create_user(&email("ada@example.com"), None, now).await.unwrap();
    let event = |at, success| SignInAttempt {
        user_id: user.id.clone(),
        at,
        success,
        ip: "203.0.113.9".into(),
        user_agent: None,
        device_kind: latchkey::domain::device::DeviceKind::Mobile,
        location: Location::unknown(),
        mfa_challenged: true,
        method: "password".into(),
        failure: (!success).then(|| "invalid_code".to_owned()),
    };
    store.record_login(&event(now - Duration::days(100), true), "Firefox on Linux", "127.0.0.0/24").await.unwrap();
    store.record_login(&event(now, false), "Firefox on Linux", "127.0.0.0/24").await.unwrap();
    let rows = store.login_history(&user.id, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(!rows[0].event.success);
    assert!(rows[0].event.mfa_challenged);
    assert_eq!(rows[0].event.failure.as_deref(), Some("invalid_code"));
    assert_eq!(store.prune_login_history(now - Duration::days(90)).await.unwrap(), 1);
    assert_eq!(store.login_history(&user.id, 10).await.unwrap().len(), 1);

    // Pruning goes batch by batch until nothing old is left, keeping what is recent.
    for day in 0..7 {
        store
            .record_login(&event(now - Duration::days(100 + day), true), "Firefox on Linux", "127.0.0.0/24")
            .await
            .unwrap();
    }
    assert_eq!(store.prune_login_history_by(now - Duration::days(90), 3).await.unwrap(), 7);
    assert_eq!(store.login_history(&user.id, 10).await.unwrap().len(), 1);
    assert_eq!(store.prune_login_history_by(now - Duration::days(90), 3).await.unwrap(), 0);
}

/// Migration 0010 rebuilds four tables to give their flags CHECK constraints: an existing
/// database keeps every row and every reference, and a bad flag is refused afterwards.
#[tokio::test]
async fn flag_checks_migration_keeps_rows_and_references_and_refuses_bad_flags() {
    use sqlx::{Connection, Executor};

    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database_url(dir.path()).await;
    let sqlite = url.starts_with("sqlite:");
    sqlx::any::install_default_drivers();
    let connect = || async {
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        if sqlite {
            conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
        }
        conn
    };

    // The schema as it was before 0010, with rows in every rebuilt table.
    let before = dir.path().join("migrations-before-0010");
    std::fs::create_dir(&before).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0010" {
            std::fs::copy(&path, before.join(&name)).unwrap();
        }
    }
    let mut conn = connect().await;
    sqlx::migrate::Migrator::new(before.as_path()).await.unwrap().run(&mut conn).await.unwrap();
    for sql in [
        "INSERT INTO users (id, email, created_at) VALUES ('u1', 'ada@example.com', 1)",
        "INSERT INTO login_history (id, user_id, at, success, ip, device_kind, location_label, mfa_challenged, method)
         VALUES ('l1', 'u1', 1, 1, '127.0.0.1', 'desktop', 'Unknown', 0, 'password')",
        "INSERT INTO mfa_challenges (id, token_hash, user_id, created_at, expires_at, failures, remember_device, method)
         VALUES ('m1', 'h1', 'u1', 1, 2, 0, 1, 'password')",
        "INSERT INTO workspaces (id, name, plan, require_2fa, created_at) VALUES ('w1', 'Acme', 'team', 1, 1)",
        "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ('w1', 'u1', 'owner', 1)",
    ] {
        conn.execute(sql).await.unwrap();
    }
    conn.close().await.unwrap();

    let store = latchkey::store::Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;

    let mut conn = connect().await;
    for (table, rows) in [("login_history", 1), ("mfa_challenges", 1), ("workspaces", 1), ("workspace_members", 1)] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, rows, "{table} kept its rows");
    }
    for bad in [
        "UPDATE login_history SET success = 2",
        "UPDATE login_history SET mfa_challenged = -1",
        "UPDATE mfa_challenges SET remember_device = 7",
        "UPDATE workspaces SET require_2fa = 2",
    ] {
        assert!(conn.execute(bad).await.is_err(), "refused: {bad}");
    }
    // Members still belong to their workspace: deleting it takes them along.
    conn.execute("DELETE FROM workspaces WHERE id = 'w1'").await.unwrap();
    let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members").fetch_one(&mut conn).await.unwrap();
    assert_eq!(members, 0);
    // And an account's history still goes with the account.
    conn.execute("DELETE FROM users WHERE id = 'u1'").await.unwrap();
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_history").fetch_one(&mut conn).await.unwrap();
    assert_eq!(history, 0);
}
