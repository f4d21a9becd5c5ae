//! The breached-password list (ASVS 6.2.12): imported from Have I Been Pwned's format into
//! a filter in the database, used by every instance once it looks again, and refused at
//! sign-up and password change with the violation `breached`.

use reqwest::StatusCode;
use serde_json::json;
use sha1::{Digest, Sha1};

use crate::helpers::{PASSWORD, assert_error, spawn_app};
use latchkey::service::breached;

const LISTED: &str = "Zebra-Quartz-Lantern-71";

fn sha1_hex(p: &str) -> String {
    hex::encode_upper(Sha1::digest(p.as_bytes()))
}

/// A list in the published format: upper case with CRLF, a lower-case duplicate, and
/// some other hashes.
fn write_list(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = format!("{}:12\r\n{}:3\n", sha1_hex(LISTED), sha1_hex(LISTED).to_lowercase());
    for i in 0..500 {
        text.push_str(&format!("{}:{}\r\n", sha1_hex(&format!("other-{i}")), i + 1));
    }
    let path = dir.join("pwned.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_listed_password_is_refused_on_every_instance_once_it_looks_again() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    let dir = tempfile::tempdir().unwrap();
    let done = breached::import(&app.state, &write_list(dir.path())).await.unwrap();
    assert_eq!((done.lines, done.hashes), (502, 501), "duplicates count once");

    let r = app.signup("ada@example.com", LISTED).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    assert_eq!(r.body["violations"], json!(["breached"]));
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status, StatusCode::CREATED);

    // The other instance looks every minute (and at start); once it has, it refuses too.
    breached::refresh(&other.state).await.unwrap();
    assert!(other.state.breached.version().is_some());
    let r = other.signup("cy@example.com", LISTED).await;
    assert_eq!(r.body["violations"], json!(["breached"]));

    let token = app.token_for("ada@example.com", PASSWORD).await;
    let change = json!({"current_password": PASSWORD, "new_password": LISTED});
    let r = app.post("/api/v1/me/password", Some(&token), change).await;
    assert_eq!(r.body["violations"], json!(["breached"]), "{}", r.text);

    let status = breached::status(&app.state).await.unwrap().unwrap();
    assert_eq!(status.hashes, 501);
}

#[tokio::test]
async fn a_malformed_list_is_refused_with_its_line_and_replaces_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    breached::import(&app.state, &write_list(dir.path())).await.unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, format!("{}:1\nnot-a-hash:2\n", sha1_hex("x"))).unwrap();
    let err = breached::import(&app.state, &bad).await.err().unwrap();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(breached::status(&app.state).await.unwrap().unwrap().hashes, 501, "the old list stays");
}
