//! The breached-password list: `latchkey breached import` builds the filter and stores it;
//! every server loads it at start and looks for a new import every minute (one small read),
//! so a new list reaches every instance without a restart; sign-up, password change, reset
//! and `user add` refuse a listed password (violation `breached`).

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use crate::domain::breached::{self, BreachedFilter};
use crate::domain::password::{Password, Violation};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::BreachedStatus;

/// How often a server looks for a new import.
const REFRESH: Duration = Duration::from_secs(60);

/// What an import did.
pub struct Imported {
    pub lines: u64,
    pub hashes: u64,
    pub bytes: usize,
}

/// Reads Have I Been Pwned's `HASH:COUNT` lines (any case and order, LF or CRLF,
/// duplicates allowed) and replaces the stored list. A line that is not one is refused
/// with its number, and nothing is replaced.
pub async fn import(state: &AppState, path: &Path) -> Result<Imported> {
    let path = path.to_owned();
    let (filter, lines) = tokio::task::spawn_blocking(move || build(&path)).await.map_err(Error::internal)??;
    let version = uuid::Uuid::now_v7().simple().to_string();
    state.store.replace_breached(&version, &filter.to_parts(), state.clock.now()).await?;
    let imported = Imported { lines, hashes: filter.count, bytes: filter.size() };
    state.breached.replace(version, filter);
    Ok(imported)
}

fn build(path: &Path) -> Result<(BreachedFilter, u64)> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::InvalidRequest(format!("cannot read {}: {e}", path.display())))?;
    let mut keys = Vec::new();
    let mut lines = 0u64;
    for (n, line) in std::io::BufReader::with_capacity(1 << 20, file).lines().enumerate() {
        let line = line.map_err(|e| Error::InvalidRequest(format!("{}: {e}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let key = breached::key_of_line(&line).ok_or_else(|| {
            Error::InvalidRequest(format!("{} line {}: not a HASH:COUNT line of SHA-1 hashes", path.display(), n + 1))
        })?;
        keys.push(key);
        lines += 1;
    }
    let filter = BreachedFilter::build(keys).map_err(|e| Error::internal(anyhow::anyhow!("filter: {e}")))?;
    Ok((filter, lines))
}

pub async fn status(state: &AppState) -> Result<Option<BreachedStatus>> {
    Ok(state.store.breached_status().await?)
}

/// Loads the stored list if it is not the one this server holds.
pub async fn refresh(state: &AppState) -> Result<()> {
    let stored = state.store.breached_status().await?.map(|s| s.version);
    if stored.is_none() || stored == state.breached.version() {
        return Ok(());
    }
    let Some((version, parts)) = state.store.breached_filter().await? else { return Ok(()) };
    let filter = tokio::task::spawn_blocking(move || BreachedFilter::from_parts(&parts))
        .await
        .map_err(Error::internal)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("the stored breached-password list is malformed")))?;
    tracing::info!(hashes = filter.count, "breached-password list loaded");
    state.breached.replace(version, filter);
    Ok(())
}

/// Keeps this server's list current (see the module's doc).
pub async fn keep_current(state: AppState) {
    loop {
        if let Err(e) = refresh(&state).await {
            tracing::warn!(error = %e, "the breached-password list could not be loaded; will retry");
        }
        tokio::time::sleep(REFRESH).await;
    }
}

/// `breached` when the list holds `password`.
pub fn violation(state: &AppState, password: &Password) -> Option<Violation> {
    state.breached.current().filter(|f| f.contains(password)).map(|_| Violation::Breached)
}
