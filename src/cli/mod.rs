//! The `latchkey` command line (CONTRACT §1): serving, migrations, and the operator's
//! commands for accounts, workspaces and backups. `show` renders `user show`.

mod client;
mod mail;
mod show;

use mail::{MailArgs, MailCommand, mail_test};

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use secrecy::SecretString;

use crate::clock::Clock;
use crate::config::{self, Config, FileConfig, Overrides};
use crate::domain::email::Email;
use crate::domain::password::Password;
use crate::domain::workspace::Plan;
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
    /// sqlite://PATH or postgres://... (default sqlite in the data dir)
    #[arg(long = "database", env = "LATCHKEY_DATABASE_URL", global = true)]
    database: Option<String>,
    /// Where the embedded database and generated keys live (default ./latchkey-data)
    #[arg(long, env = "LATCHKEY_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve the API and web pages
    Serve(ServeArgs),
    /// Apply migrations and exit
    Migrate,
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage workspaces
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Mail delivery
    #[command(subcommand)]
    Mail(MailCommand),
    /// The apps allowed to introspect tokens (POST /api/v1/introspect)
    #[command(subcommand)]
    Client(client::ClientCommand),
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
enum WorkspaceCommand {
    /// Create a workspace with its first owner
    Add {
        name: String,
        #[arg(long)]
        owner: String,
        #[arg(long, default_value = "free", value_parser = ["free", "team"])]
        plan: String,
    },
    /// Id, name, plan and owner of each workspace
    List,
    /// Change a workspace's plan (the API cannot)
    SetPlan {
        workspace_id: String,
        #[arg(value_parser = ["free", "team"])]
        plan: String,
    },
}

#[derive(Debug, Args, Default)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080)
    #[arg(long, env = "LATCHKEY_LISTEN")]
    listen: Option<SocketAddr>,
    /// The URL people reach Latchkey at (default http://localhost:PORT)
    #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
    public_url: Option<String>,
    /// A proxy range whose X-Forwarded-For is believed; repeatable
    #[arg(long = "trusted-proxy", env = "LATCHKEY_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxy: Option<Vec<IpNet>>,
    /// A MaxMind/DB-IP .mmdb file for locations; repeatable
    #[arg(long = "geoip-db", env = "LATCHKEY_GEOIP_DB", value_delimiter = ',')]
    geoip_db: Option<Vec<PathBuf>>,
    /// Whether anyone may sign up (default true)
    #[arg(long, env = "LATCHKEY_SIGNUP")]
    signup: Option<bool>,
    /// Days a remembered device skips 2FA (default 30)
    #[arg(long, env = "LATCHKEY_TRUSTED_DEVICE_DAYS")]
    trusted_device_days: Option<u32>,
    /// Minutes a sign-in counts as recent for sensitive actions (default 10)
    #[arg(long, env = "LATCHKEY_REAUTH_MINUTES")]
    reauth_minutes: Option<u32>,
    /// Days an unused session lives (default 14)
    #[arg(long, env = "LATCHKEY_SESSION_IDLE_DAYS")]
    session_idle_days: Option<u32>,
    /// Days any session lives (default 90)
    #[arg(long, env = "LATCHKEY_SESSION_ABSOLUTE_DAYS")]
    session_absolute_days: Option<u32>,
    /// Days login history is kept (default 90)
    #[arg(long, env = "LATCHKEY_LOGIN_HISTORY_DAYS")]
    login_history_days: Option<u32>,
    /// Days an API token lives when created without an expiry (default 90)
    #[arg(long, env = "LATCHKEY_API_TOKEN_DEFAULT_DAYS")]
    api_token_default_days: Option<u32>,
    /// The longest lifetime an API token may ask for (default 365)
    #[arg(long, env = "LATCHKEY_API_TOKEN_MAX_DAYS")]
    api_token_max_days: Option<u32>,
    /// Database connections per instance (default 8 on SQLite, 16 on PostgreSQL)
    #[arg(long, env = "LATCHKEY_DB_POOL_SIZE")]
    db_pool_size: Option<u32>,
    /// The plan of workspaces made through the API (default free)
    #[arg(long, env = "LATCHKEY_DEFAULT_WORKSPACE_PLAN", value_parser = ["free", "team"])]
    default_workspace_plan: Option<String>,
    #[command(flatten)]
    mail: MailArgs,
    /// Who may add security keys and passkeys: members of a team-plan workspace, or all.
    #[arg(long, env = "LATCHKEY_WEBAUTHN_PLANS", value_parser = ["team", "all"])]
    webauthn_plans: Option<String>,
    /// Origins besides the public URL's that sign-in may return a browser to (rd)
    #[arg(long = "return-origin", env = "LATCHKEY_RETURN_ORIGINS", value_delimiter = ',')]
    return_origins: Option<Vec<String>>,
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
    fn config(&self, serve: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path, true)?,
            None => FileConfig::load(std::path::Path::new("latchkey.toml"), false)?,
        };
        let overrides = Overrides {
            listen: serve.listen,
            database_url: self.database.clone(),
            data_dir: self.data_dir.clone(),
            public_url: serve.public_url.clone(),
            trusted_proxies: serve.trusted_proxy.clone(),
            geoip_db: serve.geoip_db.clone(),
            signup: serve.signup,
            trusted_device_days: serve.trusted_device_days,
            reauth_minutes: serve.reauth_minutes,
            session_idle_days: serve.session_idle_days,
            session_absolute_days: serve.session_absolute_days,
            login_history_days: serve.login_history_days,
            api_token_default_days: serve.api_token_default_days,
            api_token_max_days: serve.api_token_max_days,
            db_pool_size: serve.db_pool_size,
            default_workspace_plan: serve.default_workspace_plan.clone(),
            webauthn_plans: serve.webauthn_plans.clone(),
            return_origins: serve.return_origins.clone(),
            smtp_url: serve.mail.smtp_url.clone().map(SecretString::from),
            smtp_ca_file: serve.mail.smtp_ca_file.clone(),
            mail_from: serve.mail.mail_from.clone(),
            // Only from the environment: a flag would show in `ps`.
            secret_key: std::env::var("LATCHKEY_SECRET_KEY").ok().filter(|k| !k.is_empty()).map(Into::into),
        };
        config::resolve(overrides, file)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut no_serve_args = ServeArgs::default();
    if let Command::Mail(MailCommand::Test { mail, .. }) = &cli.command {
        no_serve_args.mail = mail.clone();
    }
    let serve_args = match &cli.command {
        Command::Serve(args) => args,
        _ => &no_serve_args,
    };
    let config = cli.config(serve_args)?;
    match cli.command {
        Command::Serve(_) => server::serve(config).await,
        Command::Mail(MailCommand::Test { email, .. }) => mail_test(config, &email).await,
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
        Command::Client(cmd) => {
            let state = server::build_state(config, Clock::default()).await?;
            client::run(&state, cmd).await
        }
        Command::Workspace(WorkspaceCommand::List) => {
            let state = server::build_state(config, Clock::default()).await?;
            let all = service::workspaces::list_all(&state).await.map_err(describe)?;
            println!("{:<34} {:<30} {:<6} OWNER", "ID", "NAME", "PLAN");
            for (w, owner) in all {
                println!("{:<34} {:<30} {:<6} {}", w.id, w.name, w.plan.as_str(), owner.as_deref().unwrap_or("-"));
            }
            Ok(())
        }
        Command::Workspace(WorkspaceCommand::SetPlan { workspace_id, plan }) => {
            let state = server::build_state(config, Clock::default()).await?;
            let plan = Plan::parse(&plan).ok_or_else(|| anyhow::anyhow!("plan must be free or team"))?;
            service::workspaces::set_plan(&state, &workspace_id, plan).await.map_err(describe)?;
            println!("workspace {workspace_id} is on the {} plan", plan.as_str());
            Ok(())
        }
        Command::Workspace(WorkspaceCommand::Add { name, owner, plan }) => {
            let state = server::build_state(config, Clock::default()).await?;
            let email = parse_email(&owner)?;
            let user = account_of(&state, &email).await?;
            let plan = Plan::parse(&plan).ok_or_else(|| anyhow::anyhow!("plan must be free or team"))?;
            let w = service::workspaces::create(&state, &user.id, &name, plan).await.map_err(describe)?;
            println!("created workspace {} ({}) on the {} plan, owned by {email}", w.name, w.id, w.plan.as_str());
            Ok(())
        }
        Command::Backup { path } => {
            let state = server::build_state(config, Clock::default()).await?;
            let bytes = service::maintenance::backup(&state, &path).await.map_err(describe)?;
            println!("wrote {} ({bytes} bytes); restore it with the data dir's secret.key", path.display());
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
    service::two_factor::admin_reset(state, &user.id).await.map_err(describe)?;
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
