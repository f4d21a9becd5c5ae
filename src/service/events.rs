//! Security events: what changed the account's protection, when, and from where.

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{SecurityEvent, SecurityEventRecord};

use super::{Caller, ClientContext};

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

/// Records an event; `ctx` is `None` for actions from the command line.
pub async fn record(
    state: &AppState,
    user_id: &str,
    kind: EventKind,
    ctx: Option<&ClientContext>,
    detail: Option<String>,
) -> Result<()> {
    state
        .store
        .record_security_event(&SecurityEvent {
            user_id: user_id.to_owned(),
            at: state.clock.now(),
            kind: kind.as_str(),
            ip: ctx.map(|c| c.ip.to_string()),
            user_agent: ctx.and_then(|c| c.user_agent.clone()),
            location: ctx.map_or_else(crate::domain::location::Location::unknown, |c| c.location.clone()),
            detail,
        })
        .await?;
    Ok(())
}
