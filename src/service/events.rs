//! Security events: what changed the account's protection, when, and from where.

use crate::error::Result;
use crate::state::AppState;
use crate::store::SecurityEvent;

use super::ClientContext;

pub const PASSWORD_CHANGED: &str = "password_changed";
pub const TWO_FACTOR_ENABLED: &str = "2fa_enabled";
pub const TWO_FACTOR_DISABLED: &str = "2fa_disabled";
pub const FACTOR_ADDED: &str = "factor_added";
pub const FACTOR_REMOVED: &str = "factor_removed";
pub const BACKUP_CODES_REGENERATED: &str = "backup_codes_regenerated";
pub const BACKUP_CODE_USED: &str = "backup_code_used";
pub const SESSION_REVOKED: &str = "session_revoked";
pub const LOCKED_OUT: &str = "locked_out";
pub const WEBAUTHN_COUNTER_REGRESSION: &str = "webauthn_counter_regression";
pub const TRUSTED_DEVICE_REVOKED: &str = "trusted_device_revoked";
pub const PROVIDER_LINKED: &str = "provider_linked";
pub const PROVIDER_UNLINKED: &str = "provider_unlinked";
pub const ACCOUNT_RECLAIMED: &str = "account_reclaimed";

/// Records an event; `ctx` is `None` for actions from the command line.
pub async fn record(
    state: &AppState,
    user_id: &str,
    kind: &'static str,
    ctx: Option<&ClientContext>,
    detail: Option<String>,
) -> Result<()> {
    state
        .store
        .record_security_event(&SecurityEvent {
            user_id: user_id.to_owned(),
            at: state.clock.now(),
            kind,
            ip: ctx.map(|c| c.ip.to_string()),
            user_agent: ctx.and_then(|c| c.user_agent.clone()),
            location: ctx.map_or_else(crate::domain::location::Location::unknown, |c| c.location.clone()),
            detail,
        })
        .await?;
    Ok(())
}
