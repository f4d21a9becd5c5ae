//! Arbitrary bytes as the body of every JSON route, through the real router and a real
//! (SQLite) store: any answer but a 5xx is fine.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/mfa"),
    ("POST", "/api/v1/auth/reauth"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/me/2fa/totp/confirm"),
    ("POST", "/api/v1/me/2fa/disable"),
    ("POST", "/api/v1/me/2fa/webauthn/register/start"),
    ("POST", "/api/v1/me/2fa/webauthn/register/finish"),
    ("POST", "/api/v1/me/tokens"),
    ("POST", "/api/v1/workspaces"),
    ("PUT", "/api/v1/workspaces/x/policy"),
];

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = latchkey::config::Config::defaults(dir.path().to_path_buf());
        config.public_url = "http://localhost:8080".into();
        let (app, token) = runtime.block_on(async {
            let state = latchkey::server::build_state(config, latchkey::clock::Clock::default()).await.unwrap();
            let email = latchkey::domain::email::Email::parse("fuzz@example.com").unwrap();
            let password = latchkey::domain::password::Password::new("Correct-Horse-Battery-9".into());
            let user = latchkey::service::auth::create_account(&state, &email, Some(password)).await.unwrap();
            let ctx = latchkey::service::ClientContext {
                ip: "127.0.0.1".parse().unwrap(),
                user_agent: None,
                location: latchkey::domain::location::Location::local_network(),
            };
            let device = latchkey::domain::device::Device::identify(None, None, None);
            let (token, _) = latchkey::service::auth::start_session(&state, &ctx, &user.id, &device, Default::default()).await.unwrap();
            (latchkey::server::app(state), token.expose().to_owned())
        });
        Harness { runtime, app, token, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let h = harness();
    let (method, path) = ROUTES[usize::from(selector) % ROUTES.len()];
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", h.token))
        .body(Body::from(body.to_vec()))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
    let response = h.runtime.block_on(h.app.clone().oneshot(request)).unwrap();
    assert!(!response.status().is_server_error(), "{method} {path} answered {}", response.status());
});
