//! `spawn_app`: a real Latchkey on port 0 with a fresh database.
//!
//! The database is SQLite in a temporary folder unless `LATCHKEY_TEST_DATABASE_URL`
//! names a PostgreSQL server, in which case every app gets a database of its own there.
//! CI runs the whole suite once each way.

use std::net::SocketAddr;

use latchkey::clock::Clock;
use latchkey::config::Config;
use latchkey::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

pub const PASSWORD: &str = "Correct-Horse-Battery-9";

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    _data_dir: tempfile::TempDir,
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::defaults(data_dir.path().to_path_buf());
    config.database_url = match std::env::var("LATCHKEY_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => fresh_postgres_database(&url).await,
        _ => latchkey::config::default_database_url(data_dir.path()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    config.listen = addr;
    // A domain, not an IP: browsers and webauthn-rs refuse IP addresses as WebAuthn RP ids.
    config.public_url = format!("http://localhost:{}", addr.port());
    configure(&mut config);
    let state = latchkey::server::build_state(config, Clock::default()).await.expect("state");
    tokio::spawn(latchkey::server::run(state.clone(), listener));
    let client = reqwest::Client::builder().user_agent("latchkey-tests/1.0").build().expect("client");
    TestApp { addr, state, client, _data_dir: data_dir }
}

/// A database URL of a new, empty database for this run's backend (a file under `dir` on
/// SQLite), for tests that drive the schema themselves.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("LATCHKEY_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => fresh_postgres_database(&url).await,
        _ => format!("sqlite://{}?mode=rwc", dir.join("fresh.db").display()),
    }
}

/// Creates `lk_test_<random>` on the server behind `admin_url` and returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> String {
    assert!(admin_url.starts_with("postgres"), "LATCHKEY_TEST_DATABASE_URL must be a postgres:// URL");
    let name = format!("lk_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for this run and does not answer: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let server = base.rsplit_once('/').map_or(base, |(server, _db)| server);
    if query.is_empty() { format!("{server}/{name}") } else { format!("{server}/{name}?{query}") }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn signup(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/auth/signup", None, json!({"email": email, "password": password})).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await
    }

    /// A new account with [`PASSWORD`], signed in; returns its bearer token.
    pub async fn signed_in_user(&self, email: &str) -> String {
        assert_eq!(self.signup(email, PASSWORD).await.status, StatusCode::CREATED);
        self.token_for(email, PASSWORD).await
    }

    pub async fn token_for(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["token"].as_str().expect("token").to_owned()
    }

    pub fn advance_clock(&self, by: chrono::Duration) {
        self.state.clock.advance(by);
    }

    /// Runs one statement on the app's database behind its back (text parameters): for
    /// states no API call leaves behind.
    pub async fn execute_sql(&self, sql: &str, params: &[&str]) {
        use sqlx::Connection;
        let url = &self.state.config.database_url;
        macro_rules! run {
            ($conn:ty) => {{
                let mut conn = <$conn>::connect(url).await.unwrap();
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for p in params {
                    query = query.bind(*p);
                }
                query.execute(&mut conn).await.unwrap();
            }};
        }
        if url.starts_with("postgres") { run!(sqlx::PgConnection) } else { run!(sqlx::SqliteConnection) }
    }
}

pub async fn read(r: reqwest::Response) -> Response {
    let status = r.status();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Response { status, body, text }
}

/// Asserts the contract's error shape and code.
#[track_caller]
pub fn assert_error(r: &Response, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "body: {}", r.text);
    assert_eq!(r.body["error"], code, "body: {}", r.text);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "message missing: {}", r.text);
}

/// An authenticator app for tests: codes follow the app's (movable) clock.
pub struct Authenticator {
    pub secret: latchkey::domain::totp::TotpSecret,
    pub base32: String,
}

impl TestApp {
    /// The current code of `auth` by this app's clock.
    pub fn code(&self, auth: &Authenticator) -> String {
        let now = self.state.clock.now().timestamp() as u64;
        auth.secret.code_at(now, 6).expect("code")
    }

    /// Moves the clock to the next 30-second step (a used step is never accepted again)
    /// and returns that step's code.
    pub fn next_code(&self, auth: &Authenticator) -> String {
        self.advance_clock(chrono::Duration::seconds(30));
        self.code(auth)
    }

    pub async fn start_totp_setup(&self, token: &str) -> (Authenticator, Value) {
        let r = self.post("/api/v1/me/2fa/totp/setup", Some(token), json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let base32 = r.body["secret"].as_str().expect("secret").to_owned();
        let bytes = totp_rs::Secret::try_from_base32(&base32).expect("base32").as_bytes().to_vec();
        let secret = latchkey::domain::totp::TotpSecret::from_bytes(bytes).expect("secret");
        (Authenticator { secret, base32 }, r.body)
    }

    /// Enrols an authenticator and returns it with the backup codes.
    pub async fn enable_totp(&self, token: &str) -> (Authenticator, Vec<String>) {
        let (auth, _) = self.start_totp_setup(token).await;
        let r = self.post("/api/v1/me/2fa/totp/confirm", Some(token), json!({"code": self.code(&auth)})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let codes =
            r.body["backup_codes"].as_array().expect("codes").iter().map(|c| c.as_str().expect("code").to_owned());
        (auth, codes.collect())
    }

    /// The first step of a sign-in that needs a second factor: the mfa_token.
    pub async fn mfa_token(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
        r.body["mfa_token"].as_str().expect("mfa_token").to_owned()
    }

    pub async fn mfa(&self, mfa_token: &str, method: &str, code: &str) -> Response {
        self.post("/api/v1/auth/mfa", None, json!({"mfa_token": mfa_token, "method": method, "code": code})).await
    }
}

impl TestApp {
    /// A workspace of `token`'s account that the operator moved to the team plan (as
    /// `latchkey workspace set-plan` does); returns its id.
    pub async fn team_workspace(&self, token: &str, name: &str) -> String {
        let r = self.post("/api/v1/workspaces", Some(token), json!({"name": name})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().expect("id").to_owned();
        latchkey::service::workspaces::set_plan(&self.state, &id, latchkey::domain::workspace::Plan::Team)
            .await
            .expect("set plan");
        id
    }

    /// Another server on the same database and data dir, as a second instance behind a
    /// load balancer would be. It shares nothing with this one but the database.
    pub async fn second_instance(&self) -> TestApp {
        self.second_instance_with(|_| {}).await
    }

    /// [`Self::second_instance`], with its configuration changed by `configure`.
    pub async fn second_instance_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = (*self.state.config).clone();
        config.listen = addr;
        configure(&mut config);
        let state = latchkey::server::build_state(config, Clock::default()).await.expect("state");
        state.clock.advance(self.state.clock.now() - chrono::Utc::now());
        tokio::spawn(latchkey::server::run(state.clone(), listener));
        let client = reqwest::Client::builder().user_agent("latchkey-tests/1.0").build().expect("client");
        TestApp { addr, state, client, _data_dir: tempfile::tempdir().expect("temp dir") }
    }
}

/// A `latchkey serve` child process. It listens on a port it takes itself
/// (`--listen 127.0.0.1:0`) and is ready once it prints where; it is killed when this is
/// dropped, even when the test panics.
pub struct ServerProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl ServerProcess {
    /// `command` is `latchkey serve` with every argument but `--listen`.
    pub fn start(mut command: std::process::Command) -> Self {
        use std::io::BufRead;
        command.args(["--listen", "127.0.0.1:0"]).env_remove("LATCHKEY_CONFIG").stdout(std::process::Stdio::piped());
        let mut child = command.spawn().expect("latchkey serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut guard = Self { child, base: String::new() };
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("the server's first line");
        // "Latchkey is listening on http://127.0.0.1:PORT (public URL ...)"
        let addr = line.split("listening on ").nth(1).and_then(|rest| rest.split_whitespace().next());
        guard.base = addr.unwrap_or_else(|| panic!("the server did not say where it listens: {line:?}")).to_owned();
        guard
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
