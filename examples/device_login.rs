//! A command-line sign-in through the browser (OAuth 2.0 device authorization grant,
//! RFC 8628), as a CLI or desktop app built on Latchkey would do it:
//!
//!     cargo run --example device_login -- --url https://id.example.com --client-name "mytool 1.0"
//!
//! It asks for a code, prints it with the page to type it on, polls at the interval the
//! server asks for (slowing down when told to), and stores the session token in a file
//! only its owner can read (mode 0600). Nothing here ever sees the password or a second
//! factor: the person signs in and approves in their browser.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Latchkey's public URL
    #[arg(long, env = "LATCHKEY_URL", default_value = "http://localhost:8080")]
    url: String,
    /// What the person is asked to approve
    #[arg(long, default_value = "device_login example")]
    client_name: String,
    /// The session's name in Active sessions
    #[arg(long)]
    device_name: Option<String>,
    /// Where to store the token (created with mode 0600)
    #[arg(long, default_value = "latchkey-token")]
    token_file: PathBuf,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let api = format!("{}/api/v1", args.url.trim_end_matches('/'));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let device_name = args.device_name.unwrap_or_else(|| format!("{} on {}", args.client_name, std::env::consts::OS));
    let started: Value = client
        .post(format!("{api}/auth/device/code"))
        .json(&json!({"client_name": args.client_name, "device": {"kind": "desktop", "name": device_name}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let text = |key: &str| started[key].as_str().map(str::to_owned).ok_or(format!("no {key} in the answer"));
    let (device_code, user_code) = (text("device_code")?, text("user_code")?);
    println!("To sign in, open {} and enter the code {user_code}", text("verification_uri")?);
    println!("(or open {})", text("verification_uri_complete")?);
    std::io::stdout().flush()?;

    let mut interval = started["interval"].as_u64().unwrap_or(5);
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        let answer =
            client.post(format!("{api}/auth/device/token")).json(&json!({"device_code": device_code})).send().await?;
        let ok = answer.status().is_success();
        let body: Value = answer.json().await?;
        if ok {
            let token = body["token"].as_str().ok_or("no token in the answer")?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&args.token_file)?;
            // `mode` applies only to a new file: an old one is narrowed too.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            writeln!(file, "{token}")?;
            println!("Signed in; token saved to {} (session {})", args.token_file.display(), body["session_id"]);
            return Ok(());
        }
        match body["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            _ => {
                eprintln!("sign-in failed: {} ({})", body["message"].as_str().unwrap_or("?"), body["error"]);
                std::process::exit(1);
            }
        }
    }
}
