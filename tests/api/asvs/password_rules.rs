//! `LATCHKEY_PASSWORD_RULES=length` (ASVS 6.2.5, NIST SP 800-63B rev 4): no composition
//! rules, 15 characters, and the rest of the policy kept.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_app_with};
use latchkey::domain::password::Rules;

#[tokio::test]
async fn length_rules_take_a_long_passphrase_without_classes_and_refuse_14_characters() {
    let app = spawn_app_with(|c| c.settings.password_rules = Rules::Length).await;
    let r = app.signup("ada@example.com", "correct horse battery staple").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let short = app.signup("bob@example.com", "Sh0rt!Pw-abc12").await;
    assert_error(&short, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    assert_eq!(short.body["violations"], json!(["too_short"]));
    let common = app.signup("cy@example.com", "passwordpassword").await;
    assert_eq!(common.body["violations"], json!(["too_common"]), "the blocklist stays");
    let page = app.client.get(app.url("/signup")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("At least 15 characters"), "the form says which rules hold");
}

#[tokio::test]
async fn the_default_rules_are_still_spec_md_classes() {
    let app = spawn_app().await;
    let r = app.signup("ada@example.com", "correct horse battery staple").await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "password_policy");
    let v = r.body["violations"].as_array().unwrap();
    assert!(v.contains(&json!("missing_uppercase")) && v.contains(&json!("missing_digit")), "{v:?}");
}
