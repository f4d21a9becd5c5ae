//! The workspace's activity log, for its owners and admins.

use crate::domain::workspace::Membership;
use crate::domain::workspace::events::Event;
use crate::error::{Error, Result};
use crate::state::AppState;

use super::require_manager;

const MAX_PAGE: u32 = 200;

pub async fn list(state: &AppState, by: &Membership, limit: u32, before: Option<&str>) -> Result<Vec<Event>> {
    require_manager(by)?;
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::InvalidRequest(format!("limit must be 1 to {MAX_PAGE}")));
    }
    Ok(state.store.workspace_events(&by.workspace.id, limit, before).await?)
}
