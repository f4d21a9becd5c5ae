//! Retention: expired sessions and old login history go.

use chrono::Duration;

use crate::error::Result;
use crate::state::AppState;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub login_history: u64,
}

/// For `/healthz`: whether the database answers.
pub async fn database_answers(state: &AppState) -> Result<()> {
    Ok(state.store.ping().await?)
}

pub async fn prune(state: &AppState) -> Result<Pruned> {
    let now = state.clock.now();
    let s = &state.config.settings;
    let sessions = state.store.prune_sessions(now, now - s.session.idle).await?;
    let login_history = state.store.prune_login_history(now - Duration::days(s.login_history_days.into())).await?;
    state.store.prune_mfa_challenges(now).await?;
    state.store.prune_trusted_devices(now).await?;
    state.store.prune_ceremonies(now).await?;
    state.store.prune_oauth_flows(now).await?;
    state.store.prune_rate_limits(now - Duration::days(1)).await?;
    Ok(Pruned { sessions, login_history })
}
