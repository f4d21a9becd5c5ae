//! `latchkey mail test`: the mail settings of `serve`, tried with one message.

use clap::Subcommand;

use crate::config::Config;

use super::parse_email;

#[derive(Debug, Subcommand)]
pub(super) enum MailCommand {
    /// Send one message through the configured mail transport and say what happened
    Test { email: String },
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
