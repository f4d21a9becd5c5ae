//! The mail job: sends what the outbox holds, off the request path, through the
//! configured transport (`crate::mail`): a slow or dead mail server never
//! slows or fails a request, and a restart loses nothing. Every instance runs one; a lease
//! on each claimed row keeps two from sending the same message.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::domain::mail::retry_delay;
use crate::state::AppState;

/// A claimed message is another worker's to take after this long (longer than a send may
/// take: the SMTP timeout is 20 s).
const LEASE: Duration = Duration::seconds(60);
const BATCH: i64 = 20;
/// How often the outbox is looked at when nothing wakes the worker (a message queued by
/// another instance, a retry coming due).
const POLL: StdDuration = StdDuration::from_secs(2);

pub async fn run(state: AppState) {
    loop {
        match deliver_due(&state).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the outbox could not be read; will retry"),
        }
        tokio::select! {
            () = state.mail_wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Sends every due message once; returns how many were tried.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<usize> {
    let batch = state.store.claim_mail(state.clock.now(), LEASE, BATCH).await?;
    for mail in &batch {
        match state.mailer.send(&mail.id, &mail.letter).await {
            Ok(written) => {
                state.store.mail_sent(&mail.id, state.clock.now()).await?;
                match written {
                    Some(path) => {
                        tracing::info!(path = %path.display(), subject = %mail.letter.subject, "mail written to the outbox folder (no SMTP server is set)")
                    }
                    None => tracing::info!(subject = %mail.letter.subject, id = %mail.id, "mail sent"),
                }
            }
            Err(e) => {
                let retry_at = state.clock.now() + retry_delay(mail.attempts);
                state.store.mail_failed(&mail.id, &e.to_string(), retry_at).await?;
                tracing::warn!(error = %e, attempts = mail.attempts, id = %mail.id, "mail not sent; will retry");
            }
        }
    }
    Ok(batch.len())
}
