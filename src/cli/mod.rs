//! The `latchkey` command line (CONTRACT §1): serving, migrations, and the operator's
//! commands for accounts, workspaces and backups. `show` renders `user show`.

mod client;
mod mail;
mod show;
mod workspace;

use mail::{MailCommand, mail_test};

use std::io::Read;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{self, Config, FileConfig, Given};
use crate::domain::email::Email;
use crate::domain::password::Password;
use crate::error::Error;
use crate::server;
use crate::service;
use crate::service::operator::Operator;

#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about = "Account security: passwords, 2FA, sessions and login history")]
pub struct Cli {
    /// TOML configuration file (default ./latchkey.toml when it exists)
    #[arg(long, env = "LATCHKEY_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    given: Given,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve the API and web pages
    Serve,
    /// Apply migrations and exit
    Migrate,
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage workspaces
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCommand),
    /// Mail delivery
    #[command(subcommand)]
    Mail(MailCommand),
    /// The apps allowed to introspect tokens (POST /api/v1/introspect)
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// The breached-password list that new passwords are checked against
    #[command(subcommand)]
    Breached(BreachedCommand),
    /// Rotating the secret key (LATCHKEY_SECRET_KEY="NEW,OLD")
    #[command(subcommand, name = "secret-key")]
    SecretKey(SecretKeyCommand),
    /// Apply the retention of login history and expired sessions
    Prune,
    /// Write a consistent copy of the embedded SQLite database to PATH while it serves
    /// (PostgreSQL: use pg_dump). Restore by stopping the server and putting the copy in
    /// place of the database file, with the same data dir's secret.key.
    Backup {
        /// The file to write; it appears whole or not at all
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BreachedCommand {
    /// Replace the list with Have I Been Pwned's SHA-1 HASH:COUNT lines from PATH
    Import { path: PathBuf },
    /// How many hashes the list holds, and since when
    Status,
}

#[derive(Debug, Subcommand)]
enum SecretKeyCommand {
    /// Seal again with the first key everything the other keys sealed; then they can go
    Reencrypt,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account
    Add {
        email: String,
        /// Read the password from standard input; without it the account has none
        #[arg(long)]
        password_stdin: bool,
    },
    /// Emails, 2FA state and last sign-in
    List,
    /// Admin recovery: remove every second factor, backup code and trusted device, and sign out everywhere
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
    /// Stop an account: signed out everywhere at once, its API tokens and trusted devices
    /// refused, and every sign-in answered as a wrong password until it is enabled
    Disable { email: String },
    /// Let a disabled account sign in again
    Enable { email: String },
    /// Revoke every session and trusted device of an account (API tokens stay)
    #[command(name = "sign-out")]
    SignOut { email: String },
    /// One account at a glance: email, factors, sessions, workspaces, latest events
    Show {
        email: String,
        /// One JSON object, for scripts
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    fn config(&self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path, true)?,
            None => FileConfig::load(std::path::Path::new("latchkey.toml"), false)?,
        };
        let given = self.given.clone().over(file.given)?;
        // Only from the environment: a flag would show in `ps`.
        let secret_key = std::env::var("LATCHKEY_SECRET_KEY").ok().filter(|k| !k.is_empty()).map(Into::into);
        config::resolve(given, file.oauth, secret_key)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config()?;
    match cli.command {
        Command::Serve => server::serve(config).await,
        Command::Mail(MailCommand::Test { email }) => mail_test(config, &email).await,
        Command::Migrate => {
            server::build_state(config, Clock::default()).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(cmd) => {
            let state = server::build_state(config, Clock::default()).await?;
            match cmd {
                UserCommand::Add { email, password_stdin } => user_add(&state, &email, password_stdin).await,
                UserCommand::List => user_list(&state).await,
                UserCommand::Reset2fa { email } => user_reset_2fa(&state, &email).await,
                UserCommand::Disable { email } => {
                    let email = parse_email(&email)?;
                    let by = Operator::from_environment();
                    let out =
                        service::operator::disable(&state, &email, &by).await.map_err(|e| not_found(e, &email))?;
                    println!(
                        "disabled {email}: signed out {} sessions and {} trusted devices; its API tokens are refused",
                        out.sessions, out.trusted_devices
                    );
                    Ok(())
                }
                UserCommand::Enable { email } => {
                    let email = parse_email(&email)?;
                    let by = Operator::from_environment();
                    service::operator::enable(&state, &email, &by).await.map_err(|e| not_found(e, &email))?;
                    println!("enabled {email}");
                    Ok(())
                }
                UserCommand::SignOut { email } => {
                    let email = parse_email(&email)?;
                    let by = Operator::from_environment();
                    let out = service::operator::sign_out_everywhere(&state, &email, &by)
                        .await
                        .map_err(|e| not_found(e, &email))?;
                    println!(
                        "signed out {} sessions and {} trusted devices of {email}",
                        out.sessions, out.trusted_devices
                    );
                    Ok(())
                }
                UserCommand::Show { email, json } => {
                    let email = parse_email(&email)?;
                    let overview =
                        service::operator::overview(&state, &email).await.map_err(|e| not_found(e, &email))?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&show::json(&overview))?);
                    } else {
                        print!("{}", show::text(&overview));
                    }
                    Ok(())
                }
            }
        }
        Command::Workspace(cmd) => {
            let state = server::build_state(config, Clock::default()).await?;
            workspace::run(&state, cmd).await
        }
        Command::Client(cmd) => {
            let state = server::build_state(config, Clock::default()).await?;
            client::run(&state, cmd).await
        }
        Command::Backup { path } => {
            let state = server::build_state(config, Clock::default()).await?;
            let bytes = service::maintenance::backup(&state, &path).await.map_err(describe)?;
            println!("wrote {} ({bytes} bytes); restore it with the data dir's secret.key", path.display());
            Ok(())
        }
        Command::Breached(BreachedCommand::Import { path }) => {
            let state = server::build_state(config, Clock::default()).await?;
            let started = std::time::Instant::now();
            let done = service::breached::import(&state, &path).await.map_err(describe)?;
            println!(
                "imported {} distinct hashes from {} lines of {} in {:.1} s ({} bytes); running servers use it within a minute",
                done.hashes,
                done.lines,
                path.display(),
                started.elapsed().as_secs_f64(),
                done.bytes
            );
            Ok(())
        }
        Command::Breached(BreachedCommand::Status) => {
            let state = server::build_state(config, Clock::default()).await?;
            match service::breached::status(&state).await.map_err(describe)? {
                Some(s) => println!(
                    "{} breached-password hashes, imported {}",
                    s.hashes,
                    s.imported_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                None => println!("no breached-password list imported: latchkey breached import PATH"),
            }
            Ok(())
        }
        Command::SecretKey(SecretKeyCommand::Reencrypt) => {
            let state = server::build_state(config, Clock::default()).await?;
            let n = service::key_rotation::reencrypt(&state).await.map_err(describe)?;
            println!(
                "rewrote {n} secrets with the first key of LATCHKEY_SECRET_KEY; the other keys can now be removed"
            );
            Ok(())
        }
        Command::Prune => {
            let state = server::build_state(config, Clock::default()).await?;
            let pruned = service::maintenance::prune(&state).await.map_err(describe)?;
            println!("pruned {} sessions and {} login-history rows", pruned.sessions, pruned.login_history);
            Ok(())
        }
    }
}

async fn user_add(state: &crate::state::AppState, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let email = parse_email(email)?;
    let password = if password_stdin {
        let mut raw = String::new();
        std::io::stdin().read_to_string(&mut raw)?;
        Some(Password::new(raw.trim_end_matches(['\r', '\n']).to_owned()))
    } else {
        None
    };
    let user = service::auth::create_account(state, &email, password).await.map_err(describe)?;
    println!("created {} ({})", user.email, user.id);
    Ok(())
}

async fn user_list(state: &crate::state::AppState) -> anyhow::Result<()> {
    let users = service::account::list_all(state).await.map_err(describe)?;
    println!("{:<40} {:<16} LAST SIGN-IN", "EMAIL", "2FA");
    for (u, factors) in users {
        let last = u
            .last_login_at
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let two_factor = if factors.enabled() { factors.methods().join("+") } else { "off".to_owned() };
        println!("{:<40} {:<16} {last}", u.email, two_factor);
    }
    Ok(())
}

async fn user_reset_2fa(state: &crate::state::AppState, email: &str) -> anyhow::Result<()> {
    let email = parse_email(email)?;
    let user = account_of(state, &email).await?;
    service::second_factor::admin_reset(state, &user.id).await.map_err(describe)?;
    println!("removed every second factor of {email} and signed it out everywhere");
    Ok(())
}

fn parse_email(email: &str) -> anyhow::Result<Email> {
    Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))
}

fn not_found(e: Error, email: &Email) -> anyhow::Error {
    match e {
        Error::NotFound => anyhow::anyhow!("no account with email {email}"),
        other => describe(other),
    }
}

async fn account_of(state: &crate::state::AppState, email: &Email) -> anyhow::Result<crate::domain::account::Account> {
    service::account::by_email(state, email).await.map_err(|e| not_found(e, email))
}

/// One line for the terminal, with the policy's reasons spelled out.
fn describe(e: Error) -> anyhow::Error {
    match e {
        Error::PasswordPolicy(v) => {
            let reasons: Vec<_> = v.iter().map(|v| v.describe()).collect();
            anyhow::anyhow!("the password {}", reasons.join("; "))
        }
        // The cause is what an operator needs (a full disk, a refused connection).
        Error::Internal(cause) => anyhow::anyhow!("{cause:#}"),
        other => anyhow::anyhow!("{other}"),
    }
}
