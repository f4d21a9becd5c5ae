//! `latchkey secret-key reencrypt`: every value that a key other than the first of
//! `LATCHKEY_SECRET_KEY` sealed is sealed again with the first, so that the others can be
//! dropped. Safe while serving: each value is replaced only if its row still holds what
//! was read (a server that re-enrolled it meanwhile used the first key already).

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::SealedSource;

/// What the key-check sample is sealed for (see `server::check_key`).
pub const KEY_CHECK_CONTEXT: &str = "key-check";

/// How many values were sealed again.
pub async fn reencrypt(state: &AppState) -> Result<u64> {
    let mut rewritten = 0;
    for value in state.store.sealed_values().await? {
        let context = match value.source {
            SealedSource::KeyCheck => KEY_CHECK_CONTEXT,
            SealedSource::Totp | SealedSource::PendingTotp => value.owner.as_str(),
        };
        let older = state.secrets.sealed_by_older_key(&value.sealed, context).map_err(|e| {
            Error::internal(anyhow::anyhow!(
                "a {:?} value of {} opens with none of the keys: {e}",
                value.source,
                value.owner
            ))
        })?;
        let Some(plain) = older else { continue };
        let resealed = state.secrets.seal(&plain, context).map_err(Error::Internal)?;
        if state.store.reseal(&value, &resealed).await? {
            rewritten += 1;
        }
    }
    Ok(rewritten)
}
