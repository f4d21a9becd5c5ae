//! Real Caddy (Debian's `caddy`, 2.6) in front of a small app, asking Latchkey about each
//! request (what `forward_auth` expands to, written out), configured by
//! deploy/caddy/Caddyfile as shipped (only the ports changed): signed out, the browser goes
//! to the sign-in page with `rd`; signed in, the app sees who it is and never the identity
//! headers the browser made up; `/app/admin/` sends a password-only session to /step-up
//! and lets it through once the session proved a second factor; a revoked session is sent
//! away on its very next request.

use std::process::{Command, Stdio};

use crate::forward_auth_nginx::{app_behind_proxy, free_port, start_app, through_the_proxy};
use crate::load_balancer::Processes;

#[tokio::test]
async fn caddy_forward_auth_lets_signed_in_sessions_through_and_sends_the_rest_to_sign_in_or_step_up() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let app = app_behind_proxy(&base).await;
    let protected = start_app().await;

    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/caddy/Caddyfile")).unwrap();
    for placeholder in [":80 {", "127.0.0.1:8080", "127.0.0.1:9000"] {
        assert!(shipped.contains(placeholder), "the shipped Caddyfile has {placeholder}");
    }
    let site = shipped
        .replace(":80 {", &format!("http://127.0.0.1:{port} {{"))
        .replace("127.0.0.1:8080", &app.addr.to_string())
        .replace("127.0.0.1:9000", &protected.to_string());
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Caddyfile"), site).unwrap();
    let caddy = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(tmp.path().join("Caddyfile"))
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path())
        .env("XDG_DATA_HOME", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("caddy (apt install caddy; scripts/test installs it)");
    let _children = Processes(vec![caddy]);
    through_the_proxy(&app, &base).await;
}
