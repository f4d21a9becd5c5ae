//! The hot path when the database stalls: another connection holds the sessions table
//! (a migration's lock, an operator's long transaction). Every authenticated request goes
//! through one coalesced lookup, so a lookup that waited for ever would hold every request
//! behind it: on PostgreSQL it gives up after its statement timeout and the requests of
//! its batch are told to retry (503 `overloaded`, not a 500); on SQLite readers are not
//! blocked by a writer (WAL) and the lookup answers at once. Released, the next request
//! is answered as before on both.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::{Connection, Executor};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn a_lookup_behind_a_held_lock_gives_up_with_503_overloaded_and_the_next_one_works() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);

    let url = app.state.config.database_url.clone();
    let postgres = url.starts_with("postgres");
    sqlx::any::install_default_drivers();
    let mut holder = sqlx::AnyConnection::connect(&url).await.unwrap();
    if postgres {
        holder.execute("BEGIN; LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE").await.unwrap();
    } else {
        holder.execute("BEGIN EXCLUSIVE; UPDATE sessions SET amr = amr").await.unwrap();
    }

    let started = Instant::now();
    let stalled = tokio::time::timeout(Duration::from_secs(20), app.get("/api/v1/me", &token))
        .await
        .expect("the lookup must not wait for ever");
    if postgres {
        assert_error(&stalled, StatusCode::SERVICE_UNAVAILABLE, "overloaded");
        assert!(started.elapsed() >= Duration::from_secs(4), "it waited for the lock first");
    } else {
        assert_eq!(stalled.status, StatusCode::OK, "{}", stalled.text);
    }

    holder.execute("ROLLBACK").await.unwrap();
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["email"], "ada@example.com");
}
