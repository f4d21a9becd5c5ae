//! Login history: every attempt on the account, newest first.

use crate::domain::sign_in::SignInRecord;
use crate::error::{Error, Result};
use crate::state::AppState;

use super::Caller;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

pub async fn list(state: &AppState, caller: &Caller, limit: Option<u32>) -> Result<Vec<SignInRecord>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::InvalidRequest(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    Ok(state.store.login_history(&caller.user_id, limit).await?)
}
