//! Security events: what changed the account's protection, when, and from where; and the
//! alert mails some of them send (`alerts`: the "this wasn't me" link and the
//! circumstances every alert carries).

pub(in crate::service) mod alerts;

use crate::domain::mail;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{SecurityEvent, SecurityEventRecord};

use super::{Caller, ClientContext};
use alerts::{LockLink, circumstances};

pub use crate::domain::security_event::EventKind;

/// The caller's events, newest first: `limit` of them, older than the event `before`.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    limit: u32,
    before: Option<&str>,
) -> Result<Vec<SecurityEventRecord>> {
    if !(1..=500).contains(&limit) {
        return Err(Error::InvalidRequest("limit must be between 1 and 500".into()));
    }
    Ok(state.store.security_events(&caller.user_id, limit, before).await?)
}

/// Records an event; `ctx` is `None` for actions from the command line. An event that
/// changes how the account signs in also mails the account's address (with a "this
/// wasn't me" link), in the same transaction.
pub async fn record(
    state: &AppState,
    user_id: &str,
    kind: EventKind,
    ctx: Option<&ClientContext>,
    detail: Option<String>,
) -> Result<()> {
    record_alerting(state, user_id, kind, ctx, detail, None).await
}

/// As [`record`], and never an alert, whatever the kind.
pub async fn record_quietly(
    state: &AppState,
    user_id: &str,
    kind: EventKind,
    ctx: Option<&ClientContext>,
    detail: Option<String>,
) -> Result<()> {
    state.store.record_security_event(&event(state, user_id, kind, ctx, detail), None).await?;
    Ok(())
}

fn event(
    state: &AppState,
    user_id: &str,
    kind: EventKind,
    ctx: Option<&ClientContext>,
    detail: Option<String>,
) -> SecurityEvent {
    SecurityEvent {
        user_id: user_id.to_owned(),
        at: state.clock.now(),
        kind: kind.as_str(),
        ip: ctx.map(|c| c.ip.to_string()),
        user_agent: ctx.and_then(|c| c.user_agent.clone()),
        location: ctx.map_or_else(crate::domain::location::Location::unknown, |c| c.location.clone()),
        detail,
    }
}

/// As [`record`], with the alert sent to `old_address` instead of the account's address:
/// after an address change, the address that can say "this wasn't me" is the old one,
/// and its lock link puts that address back.
pub async fn record_alerting(
    state: &AppState,
    user_id: &str,
    kind: EventKind,
    ctx: Option<&ClientContext>,
    detail: Option<String>,
    old_address: Option<&str>,
) -> Result<()> {
    let event = event(state, user_id, kind, ctx, detail);
    let Some(subject) = kind.alert_subject(event.detail.as_deref()) else {
        state.store.record_security_event(&event, None).await?;
        return Ok(());
    };
    let Some(user) = state.store.user_by_id(user_id).await? else { return Ok(()) };
    let to = old_address.unwrap_or(&user.email);
    let lock = LockLink::mint(state, user_id, to, old_address.is_some())?;
    let what = match &event.detail {
        Some(detail) => format!("{subject}: {detail}."),
        None => format!("{subject}."),
    };
    let letter = mail::alert(to, subject, &what, &circumstances(state, ctx), &lock.url);
    state.store.record_security_event(&event, Some((lock.new_link(state), &letter))).await?;
    state.mail_wake.notify_one();
    Ok(())
}
