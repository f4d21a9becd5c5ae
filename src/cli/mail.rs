//! `latchkey mail test`, and the mail settings `serve` shares with it.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::Config;

use super::parse_email;

/// Where mail goes; `serve` and `mail test` take the same.
#[derive(Debug, Args, Default, Clone)]
pub(super) struct MailArgs {
    /// Mail server in lettre's URL form: smtp://host:25, smtp://user:pass@host:587?tls=required,
    /// smtps://user:pass@host:465 (default: none, messages are written to {data_dir}/outbox/)
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true)]
    pub(super) smtp_url: Option<String>,
    /// A private CA's certificate (PEM) to trust for the mail server's TLS
    #[arg(long, env = "LATCHKEY_SMTP_CA_FILE")]
    pub(super) smtp_ca_file: Option<PathBuf>,
    /// The From of every message (default "Latchkey <latchkey@{public URL's host}>")
    #[arg(long, env = "LATCHKEY_MAIL_FROM")]
    pub(super) mail_from: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(super) enum MailCommand {
    /// Send one message through the configured mail transport and say what happened
    Test {
        email: String,
        #[command(flatten)]
        mail: MailArgs,
    },
}

/// `latchkey mail test EMAIL`: one message, sent now (not through the outbox), and what
/// happened to it.
pub(super) async fn mail_test(config: Config, email: &str) -> anyhow::Result<()> {
    let to = parse_email(email)?;
    let mailer = crate::mail::Mailer::new(&config.mail, &config.data_dir)?;
    let letter = crate::domain::mail::test_message(to.as_str());
    let id = format!("test-{}", uuid::Uuid::now_v7().simple());
    match mailer.send(&id, &letter).await {
        Ok(Some(path)) => println!("no mail server is set: the message to {to} was written to {}", path.display()),
        Ok(None) => println!("sent to {to} through {} (from {})", mailer.describe(), config.mail.from),
        Err(e) => anyhow::bail!("not sent to {to} through {}: {e}", mailer.describe()),
    }
    Ok(())
}
