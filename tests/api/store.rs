//! The storage suite, straight against `Store`, on whichever backend this run uses.

use chrono::{Duration, Utc};
use latchkey::domain::device::Device;
use latchkey::domain::email::Email;
use latchkey::domain::location::Location;
use latchkey::domain::token::{SecretToken, TokenKind};
use latchkey::store::{LoginEvent, NewSession, StoreError};

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
        })
        .await
        .unwrap();
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
    let event = |at, success| LoginEvent {
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
    store.record_login(&event(now - Duration::days(100), true)).await.unwrap();
    store.record_login(&event(now, false)).await.unwrap();
    let rows = store.login_history(&user.id, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(!rows[0].event.success);
    assert!(rows[0].event.mfa_challenged);
    assert_eq!(rows[0].event.failure.as_deref(), Some("invalid_code"));
    assert_eq!(store.prune_login_history(now - Duration::days(90)).await.unwrap(), 1);
    assert_eq!(store.login_history(&user.id, 10).await.unwrap().len(), 1);

    // Pruning goes batch by batch until nothing old is left, keeping what is recent.
    for day in 0..7 {
        store.record_login(&event(now - Duration::days(100 + day), true)).await.unwrap();
    }
    assert_eq!(store.prune_login_history_by(now - Duration::days(90), 3).await.unwrap(), 7);
    assert_eq!(store.login_history(&user.id, 10).await.unwrap().len(), 1);
    assert_eq!(store.prune_login_history_by(now - Duration::days(90), 3).await.unwrap(), 0);
}
