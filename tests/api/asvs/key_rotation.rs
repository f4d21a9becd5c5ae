//! Rotating the secret key (ASVS 11.1): with `LATCHKEY_SECRET_KEY="NEW,OLD"` every instance
//! opens what either sealed and seals with the new one; `latchkey secret-key reencrypt`
//! moves the rest, after which the old key can go and 2FA still works.

use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{PASSWORD, spawn_app_with};

const OLD: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const OWNER: &str = "owner@example.com";

fn keys(list: &str) -> Option<SecretString> {
    Some(SecretString::from(list.to_owned()))
}

#[tokio::test]
async fn a_rotation_keeps_2fa_working_and_the_old_key_can_then_go() {
    let old = spawn_app_with(|c| c.secret_key = keys(OLD)).await;
    let token = old.signed_in_user(OWNER).await;
    let (auth, _) = old.enable_totp(&token).await;
    let pending = old.signed_in_user("pending@example.com").await;
    old.start_totp_setup(&pending).await;

    // Every instance restarted with the new key first: it opens the old key's secrets.
    let rotated = old.second_instance_with(|c| c.secret_key = keys(&format!("{NEW}, {OLD}"))).await;
    let mfa = rotated.mfa_token(OWNER, PASSWORD).await;
    assert_eq!(rotated.mfa(&mfa, "totp", &rotated.next_code(&auth)).await.status, StatusCode::OK);

    let rewritten = latchkey::service::key_rotation::reencrypt(&rotated.state).await.unwrap();
    assert_eq!(rewritten, 3, "the key check, one authenticator and one pending setup");
    assert_eq!(latchkey::service::key_rotation::reencrypt(&rotated.state).await.unwrap(), 0, "nothing left");

    // The old key dropped: the new one alone opens everything; the old one alone no longer starts.
    let new_only = old.second_instance_with(|c| c.secret_key = keys(NEW)).await;
    new_only.advance_clock(rotated.state.clock.now() - new_only.state.clock.now());
    let mfa = new_only.mfa_token(OWNER, PASSWORD).await;
    assert_eq!(new_only.mfa(&mfa, "totp", &new_only.next_code(&auth)).await.status, StatusCode::OK);
    let mut config = (*old.state.config).clone();
    config.secret_key = keys(OLD);
    assert!(latchkey::server::build_state(config, latchkey::clock::Clock::default()).await.is_err());
}

#[test]
fn a_key_list_with_a_malformed_key_names_which_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = latchkey::secrets::Secrets::load(Some(&format!("{NEW},nonsense")), dir.path()).err().unwrap();
    assert!(err.to_string().contains("key 2"), "{err}");
}
