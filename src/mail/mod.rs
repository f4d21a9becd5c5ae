//! Delivering what the outbox holds: over SMTP with lettre when `LATCHKEY_SMTP_URL` is
//! set, else as `.eml` files under `{data_dir}/outbox/` (the zero-set-up default: a
//! newcomer opens the file and clicks the link). The job that sends off the request path
//! is `service::mail_delivery`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::MailConfig;
use crate::domain::mail::Letter;

/// How messages leave.
pub enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    /// Written as files into this folder.
    Files(PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The host part of Message-IDs.
    domain: String,
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no vacation replies to these.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

impl Mailer {
    pub fn new(config: &MailConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let from: Mailbox =
            config.from.parse().map_err(|e| anyhow::anyhow!("mail_from {:?} is not an address: {e}", config.from))?;
        let domain = from.email.domain().to_owned();
        let transport = match &config.smtp_url {
            None => Transport::Files(data_dir.join("outbox")),
            Some(url) => Transport::Smtp(Box::new(smtp(url.expose_secret(), config.ca_file.as_deref())?)),
        };
        Ok(Self { transport, from, domain })
    }

    /// What the transport is, for the log and `latchkey mail test` (never the password).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Files(dir) => format!("files in {}", dir.display()),
        }
    }

    /// Sends one message. `id` makes its Message-ID, so a retry after a lost answer is
    /// recognisably the same message. Returns where a file was written, for files.
    pub async fn send(&self, id: &str, letter: &Letter) -> anyhow::Result<Option<PathBuf>> {
        let to: Mailbox = letter.to.parse().map_err(|e| anyhow::anyhow!("recipient is not an address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&letter.subject)
            .date(SystemTime::now())
            .message_id(Some(format!("<{id}@{}>", self.domain)))
            .header(AutoSubmitted)
            .multipart(MultiPart::alternative_plain_html(letter.text.clone(), letter.html.clone()))?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
                Ok(None)
            }
            Transport::Files(dir) => {
                // The messages hold single-use links: readable by the server's user only.
                let mut folder = tokio::fs::DirBuilder::new();
                folder.recursive(true).mode(0o700);
                folder.create(dir).await?;
                let path = dir.join(format!("{id}.eml"));
                let mut file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&path)
                    .await?;
                tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await?;
                file.sync_all().await?;
                Ok(Some(path))
            }
        }
    }
}

/// lettre's URL form (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
/// `smtps://user:pass@host:465`), with a private CA's certificate trusted when given.
fn smtp(url: &str, ca_file: Option<&Path>) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| anyhow::anyhow!("LATCHKEY_SMTP_URL is not a mail server URL: {e}"))?;
    if let Some(ca_file) = ca_file {
        let parsed = url::Url::parse(url)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let pem = std::fs::read(ca_file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", ca_file.display()))?;
        let params = TlsParameters::builder(host)
            .add_root_certificate(Certificate::from_pem(&pem)?)
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("{}: {e}", ca_file.display()))?;
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        builder = builder.tls(match (parsed.scheme(), tls.as_deref()) {
            ("smtps", _) => Tls::Wrapper(params),
            (_, Some("opportunistic")) => Tls::Opportunistic(params),
            (_, Some("required")) => Tls::Required(params),
            _ => anyhow::bail!("LATCHKEY_SMTP_CA_FILE needs TLS: smtps://, or smtp:// with ?tls=required"),
        });
    }
    Ok(builder.timeout(Some(std::time::Duration::from_secs(20))).build())
}
