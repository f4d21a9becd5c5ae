//! Three `latchkey serve` processes on one database behind Debian's nginx, configured by
//! deploy/nginx/latchkey.conf as shipped (only ports and the listen address changed).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, ServerProcess, spawn_app};

/// Child processes that end with the test, pass or fail. SIGTERM, not SIGKILL: nginx's
/// master stops its worker on TERM, while a killed master would leave the worker serving.
pub struct Processes(pub Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

/// Gives nginx a socket this test has already bound, the way nginx hands its sockets to a
/// new binary on upgrade (`NGINX="fd;"`): no port is released and picked up again, so no
/// other process can take it in between.
fn hand_over(command: &mut Command, listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let fd = listener.as_raw_fd();
    command.env("NGINX", format!("{fd};"));
    // Rust opens every socket close-on-exec; this one must survive into nginx.
    #[allow(unsafe_code)]
    // SAFETY: fcntl on a descriptor we own, between fork and exec; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

pub async fn wait_until_up(client: &reqwest::Client, url: &str) {
    for _ in 0..100 {
        if client.get(url).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never came up");
}

/// Debian's nginx with `site` (an http-level snippet) as its whole configuration, on the
/// socket `listener` already holds, its files in `dir`; a master process in the foreground.
pub fn start_nginx(dir: &std::path::Path, site: &str, listener: &TcpListener) -> Child {
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "worker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             include {d}/site.conf;\n}}\n"
        ),
    )
    .unwrap();
    let nginx = if std::path::Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
    let mut nginx = Command::new(nginx);
    hand_over(&mut nginx, listener);
    nginx
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        // A master process: nginx crashes taking over a socket in single-process mode.
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's nginx is required for this test (scripts/test installs it)")
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn three_instances_behind_nginx_act_as_one() {
    let app = spawn_app().await; // makes the database and the shared secret key
    let config = &app.state.config;
    let tmp = tempfile::tempdir().unwrap();
    let lb_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let lb_port = lb_listener.local_addr().unwrap().port();
    let mut instances: Vec<ServerProcess> = (0..3)
        .map(|i| {
            let log = std::fs::File::create(tmp.path().join(format!("latchkey-{i}.log"))).unwrap();
            let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
            command
                .args(["serve", "--database", &config.database_url])
                .arg("--data-dir")
                .arg(&config.data_dir)
                .args(["--public-url", &format!("http://localhost:{lb_port}"), "--trusted-proxy", "127.0.0.1/32"])
                .stderr(log);
            ServerProcess::start(command)
        })
        .collect();
    let ports: Vec<String> = instances.iter().map(|s| s.base.trim_start_matches("http://").to_owned()).collect();
    let mut children = Processes(Vec::new());

    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/latchkey.conf")).unwrap();
    let mut site = shipped.replace("listen 80;", &format!("listen 127.0.0.1:{lb_port};"));
    for (i, port) in ports.iter().enumerate() {
        let shipped_port = format!("127.0.0.1:{}", 8081 + i);
        assert!(site.contains(&shipped_port), "the shipped config lists {shipped_port}");
        site = site.replace(&shipped_port, port);
    }
    children.0.push(start_nginx(tmp.path(), &site, &lb_listener));

    // A deadline, so a balancer that never answers fails the test instead of hanging it.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let lb = format!("http://127.0.0.1:{lb_port}");
    let direct: Vec<String> = instances.iter().map(|s| s.base.clone()).collect();
    for base in direct.iter().chain([&lb]) {
        wait_until_up(&client, &format!("{base}/livez")).await;
    }

    // Through the balancer: an account and two sessions.
    let body = json!({"email": "lb@example.com", "password": PASSWORD});
    let r = client.post(format!("{lb}/api/v1/auth/signup")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let r: Value =
            client.post(format!("{lb}/api/v1/auth/login")).json(&body).send().await.unwrap().json().await.unwrap();
        tokens.push(r["token"].as_str().unwrap().to_owned());
    }
    for base in &direct {
        assert_eq!(
            call(&client, reqwest::Method::GET, format!("{base}/api/v1/me"), &tokens[1], None).await.0,
            StatusCode::OK
        );
    }

    // Revoked on the second instance: refused by the first and third at their very next request.
    let (_, sessions) =
        call(&client, reqwest::Method::GET, format!("{}/api/v1/me/sessions", direct[0]), &tokens[0], None).await;
    let other =
        sessions.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let url = format!("{}/api/v1/me/sessions/{other}", direct[1]);
    assert_eq!(call(&client, reqwest::Method::DELETE, url, &tokens[0], None).await.0, StatusCode::NO_CONTENT);
    for base in [&direct[0], &direct[2], &lb] {
        let (status, _) = call(&client, reqwest::Method::GET, format!("{base}/api/v1/me"), &tokens[1], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{base}");
    }

    // Wrong passwords spread over the instances add up to one account's lock.
    let wrong = json!({"email": "lb@example.com", "password": "Wrong-Horse-Battery-1"});
    for _ in 0..5 {
        let r = client.post(format!("{lb}/api/v1/auth/login")).json(&wrong).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = client.post(format!("{lb}/api/v1/auth/login")).json(&wrong).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // One instance stops: the balancer sends everything to the others.
    instances[1].kill();
    for _ in 0..6 {
        let (status, me) = call(&client, reqwest::Method::GET, format!("{lb}/api/v1/me"), &tokens[0], None).await;
        assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some("lb@example.com")));
    }
}
