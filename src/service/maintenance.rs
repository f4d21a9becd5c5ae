//! Keeping the database in shape: retention (expired sessions and old login history go)
//! and backups of the embedded database.

use std::path::Path;

use chrono::Duration;

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::Backend;

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
    state.store.prune_device_grants(now).await?;
    state.store.prune_rate_limits(now - Duration::days(1)).await?;
    state.store.prune_links(now).await?;
    // Sent mail is kept a week as a record (subject, recipient, when); its bodies are gone.
    state.store.prune_sent_mail(now - Duration::days(7)).await?;
    Ok(Pruned { sessions, login_history })
}

/// `latchkey backup PATH`: a consistent copy of the embedded SQLite database, taken while
/// the server runs, that appears at `path` whole or not at all (written beside it, synced,
/// then renamed). PostgreSQL has its own tools for this.
pub async fn backup(state: &AppState, path: &Path) -> Result<u64> {
    if state.store.backend() == Backend::Postgres {
        return Err(Error::InvalidRequest(
            "the database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc DBNAME > latchkey.dump`)".into(),
        ));
    }
    let name = path.file_name().ok_or_else(|| Error::InvalidRequest("the backup path must name a file".into()))?;
    if path.is_dir() {
        return Err(Error::InvalidRequest(format!("{} is a folder; give a file name", path.display())));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let partial = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let io = |e: std::io::Error| Error::internal(anyhow::anyhow!("cannot write the backup: {e}"));
    // Left by an interrupted backup; VACUUM INTO refuses an existing file.
    match std::fs::remove_file(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    state.store.copy_sqlite_into(&partial).await?;
    let bytes = (|| {
        // Password hashes and sealed secrets: the copy is its owner's alone.
        std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let file = std::fs::File::open(&partial)?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        std::fs::rename(&partial, path)?;
        // The rename itself is durable only once the folder is.
        std::fs::File::open(dir)?.sync_all()?;
        Ok(bytes)
    })()
    .map_err(io)?;
    Ok(bytes)
}
