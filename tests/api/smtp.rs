//! A real SMTP server for the tests: `tests/smtp/sink.py` (aiosmtpd) in a child process,
//! each message it accepts parsed into a JSON file; and a test CA for STARTTLS.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    dir: tempfile::TempDir,
    tls: Option<(PathBuf, PathBuf)>,
}

/// A CA and a certificate for `localhost` signed by it, made with openssl.
pub struct TestCa {
    _dir: tempfile::TempDir,
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl TestCa {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Latchkey Test CA",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(d.join("san.ext"), "subjectAltName=DNS:localhost\n").expect("ext");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "san.ext",
            ],
        );
        Self { ca_cert: d.join("ca.pem"), cert: d.join("server.pem"), key: d.join("server.key"), _dir: dir }
    }
}

impl SmtpSink {
    /// A plain SMTP server on a free port.
    pub fn start() -> Self {
        Self::spawn(0, tempfile::tempdir().expect("temp dir"), None)
    }

    /// One that offers and requires STARTTLS with `ca`'s certificate for localhost.
    pub fn start_tls(ca: &TestCa) -> Self {
        Self::spawn(0, tempfile::tempdir().expect("temp dir"), Some((ca.cert.clone(), ca.key.clone())))
    }

    fn spawn(port: u16, dir: tempfile::TempDir, tls: Option<(PathBuf, PathBuf)>) -> Self {
        let (child, port) = Self::run(port, dir.path(), tls.as_ref());
        Self { child, port, dir, tls }
    }

    fn run(port: u16, dir: &Path, tls: Option<&(PathBuf, PathBuf)>) -> (std::process::Child, u16) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/sink.py");
        let mut command = std::process::Command::new("python3");
        command.arg(script).arg("--dir").arg(dir).arg("--port").arg(port.to_string());
        if let Some((cert, key)) = tls {
            command.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 tests/smtp/sink.py (pip install aiosmtpd)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("sink's first line");
        let port = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("the SMTP sink did not start: {line:?}"));
        (child, port)
    }

    /// Stops the server; the messages it took stay readable.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port, keeping what it received.
    pub fn restart(mut self) -> Self {
        self.stop();
        let (child, port) = Self::run(self.port, self.dir.path(), self.tls.as_ref());
        self.child = child;
        self.port = port;
        self
    }

    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("smtp://localhost:{}?tls=required", self.port),
            None => format!("smtp://127.0.0.1:{}", self.port),
        }
    }

    /// Every message so far, in the order they arrived (the sink names files by arrival).
    pub fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")).collect()
    }

    /// The messages to `to`, once at least `n` have arrived (or after 20 s, whatever came).
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mine: Vec<Value> = self.messages().into_iter().filter(|m| m["headers"]["to"] == to).collect();
            if mine.len() >= n || Instant::now() > deadline {
                return mine;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages to `to` with `subject` now.
    pub fn with_subject(&self, to: &str, subject: &str) -> Vec<Value> {
        self.messages().into_iter().filter(|m| m["headers"]["to"] == to && m["headers"]["subject"] == subject).collect()
    }

    /// At least `n` messages to `to` with `subject`, waiting up to 20 s for them.
    pub async fn wait_for_subject(&self, to: &str, subject: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.with_subject(to, subject);
            if found.len() >= n {
                return found;
            }
            assert!(Instant::now() < deadline, "{} of {n} messages \"{subject}\" to {to}", found.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The one message to `to` whose subject is `subject`, waiting for it.
    pub async fn message(&self, to: &str, subject: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found =
                self.messages().into_iter().find(|m| m["headers"]["to"] == to && m["headers"]["subject"] == subject);
            if let Some(m) = found {
                return m;
            }
            assert!(Instant::now() < deadline, "no message \"{subject}\" to {to}; got {:?}", self.messages());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The token of the `{page}?token=` link in a message's text part.
pub fn link_token(message: &Value, page: &str) -> String {
    let text = message["text"].as_str().expect("a text part");
    let at = text.find(&format!("/{page}?token=")).unwrap_or_else(|| panic!("no /{page} link in {text}"));
    let rest = &text[at + page.len() + 8..];
    rest.split_whitespace().next().expect("token").to_owned()
}
