//! Storage: the only module that speaks SQL.
//!
//! Both backends run through `sqlx::Any` with one portable dialect (numbered `$n`
//! parameters, BIGINT Unix-millisecond times, BIGINT 0/1 flags, TEXT ids), so every query is written once
//! and the same test suite proves it on SQLite and PostgreSQL; so is the schema, in one
//! migrations folder. Stored times and flags are read through `from_millis` and `flag`,
//! which refuse values the schema should not hold.
//!
//! One exception: on SQLite, the hot-path lookups (`batch`) run the same SQL through
//! rusqlite, in-line (`sqlite_reader`), and their records decode from either driver's
//! rows (`columns`).

mod account_lock;
mod api_tokens;
mod batch;
mod breached;
mod columns;
mod device_grants;
mod email_tokens;
mod factors;
mod introspection_clients;
mod login_history;
mod mfa;
mod oauth;
mod outbox;
mod pending;
mod rate_limits;
mod recovery;
mod sealed;
mod security_events;
mod sessions;
mod sqlite_reader;
mod trusted_devices;
mod two_factor;
mod users;
mod webauthn;
mod workspace_events;
mod workspace_invitations;
mod workspace_members;
mod workspaces;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

use crate::domain::account::AccountIdentity;

pub use account_lock::Acting;
pub use api_tokens::ActiveApiToken;
pub use breached::BreachedStatus;
pub use device_grants::{Approval, DeviceGrant, NewDeviceGrant};
pub use email_tokens::{Confirmed, Issued, LinkPurpose, NewLink, UsedLink};
pub use introspection_clients::IntrospectionClient;
pub use mfa::{MfaChallenge, NewMfaChallenge};
pub use oauth::{IdentityRef, Linked, LinkedIdentity, NewOAuthFlow, OAuthFlow, TakenFlow, Unlinked};
pub use outbox::QueuedMail;
pub use pending::{KEPT_TABLES, SignedOut, VOIDED_TABLES};
pub use recovery::ResetDone;
pub use sealed::{SealedSource, SealedValue};
pub use security_events::{SecurityEvent, SecurityEventRecord};
pub use sessions::{ActiveSession, HistoryRow, NewDeviceAlert, NewSession, Started};
pub use trusted_devices::{NewTrustedDevice, TrustedDeviceRecord};
pub use two_factor::{FactorRef, Removal, StoredCode, TotpRecord};
pub use users::Welcome;
pub use webauthn::{Ceremony, NewWebauthnKey, PasskeyOwner, WebauthnKeyRecord};
pub use workspace_invitations::NewInvitation;
pub use workspace_members::MemberChanged;
pub use workspaces::PolicyUpdate;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (an email already taken, say).
    #[error("conflict with an existing row")]
    Conflict,
    /// The session or API token a write was made with was voided first (see
    /// `account_lock::lock_account_as`).
    #[error("the credential the write was made with is gone")]
    CredentialGone,
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    /// From the in-line SQLite reader of the hot path.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A coalesced lookup failed; every request in its batch gets the same error.
    #[error("{0}")]
    Batch(std::sync::Arc<StoreError>),
    #[error("the store is shutting down")]
    Closed,
    /// A stored value that does not fit its type (a number out of range, say).
    #[error("stored value out of range: {0}")]
    Other(#[source] anyhow::Error),
}

impl StoreError {
    /// The database could not answer in time (no free connection, or a statement past its
    /// timeout): worth a retry shortly, not a bug.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Db(sqlx::Error::PoolTimedOut) => true,
            // 57014 query_canceled: what `statement_timeout` raises.
            Self::Db(sqlx::Error::Database(db)) => db.code().as_deref() == Some("57014"),
            Self::Batch(shared) => shared.is_busy(),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => Self::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Rows a retention DELETE removes per statement (each statement is its own short
/// transaction, so sign-ins are not held up behind a large clean-up).
const PRUNE_BATCH: i64 = 5_000;

/// How long a pooled connection may sit unused before it is checked on its next use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// The longest a hot-path lookup may run on PostgreSQL (see `hot_path_pool`).
const HOT_PATH_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    hot: std::sync::Arc<HotPath>,
}

/// The lookups every authenticated request makes, coalesced (see `batch`): with the whole
/// account for Latchkey's own API, and with only who it is for a proxy's question.
struct HotPath {
    sessions: batch::Batcher<ActiveSession>,
    api_tokens: batch::Batcher<ActiveApiToken>,
    session_identities: batch::Batcher<ActiveSession<AccountIdentity>>,
    api_token_identities: batch::Batcher<ActiveApiToken<AccountIdentity>>,
}

impl HotPath {
    /// Kinds of lookup, each with its own workers (and on PostgreSQL, their connections).
    const LOOKUPS: u32 = 4;
}

/// Before a pooled connection is used: a ping only if it sat idle long enough to have
/// been cut (a database restart, a firewall's idle timeout), not before every query.
fn ping_if_idle<C: Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if meta.idle_for > IDLE_BEFORE_PING {
            conn.ping().await?;
        }
        Ok(true)
    })
}

/// PostgreSQL's own pool for the hot path's batch workers (one connection each), so that
/// their lookups skip sqlx's `Any` layer and never wait behind the rest of the service's
/// queries for a connection. Connected on first use, pinged only after sitting idle.
///
/// Its sessions always use the prepared statement's generic plan. PostgreSQL otherwise
/// kept planning the lookup afresh for each batch (a custom plan for each array of
/// keys): 42% of its CPU under `/auth/verify` load went to the planner, 8% to running
/// the query. The lookup is by a unique key, so the one generic plan (an index scan on
/// `token_hash`) is the right one for every batch. A lookup that takes longer than
/// `HOT_PATH_STATEMENT_TIMEOUT` (a lock held by a migration, a database in trouble) fails,
/// and with it the requests of its batch, instead of holding every request behind it.
fn hot_path_pool(url: &str) -> StoreResult<sqlx::PgPool> {
    let timeout = format!("{}ms", HOT_PATH_STATEMENT_TIMEOUT.as_millis());
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?
        .options([("plan_cache_mode", "force_generic_plan"), ("statement_timeout", timeout.as_str())]);
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(HotPath::LOOKUPS * batch::POSTGRES_WORKERS as u32)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(ping_if_idle)
        .connect_lazy_with(options))
}

impl Store {
    /// Runs `sql`, a `DELETE … WHERE id IN (SELECT id … LIMIT <last parameter>)`, until a
    /// batch comes back short. `bind` binds every parameter but the last, the batch size.
    async fn delete_in_batches(
        &self,
        sql: &'static str,
        batch: i64,
        bind: impl Fn(AnyQuery<'_>) -> AnyQuery<'_>,
    ) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let done = bind(sqlx::query(sql)).bind(batch).execute(&self.pool).await?.rows_affected();
            total += done;
            if done < batch as u64 {
                return Ok(total);
            }
            // Let waiting writers in between batches.
            tokio::task::yield_now().await;
        }
    }

    /// Opens `sqlite://PATH` (created on first use) or `postgres://...`.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Db(sqlx::Error::Configuration(
                "the database URL must start with sqlite:// or postgres://".into(),
            )));
        };
        let (url, file) = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => (url.to_owned(), None),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings a connection on every acquire by default: a second round trip
            // for every query. Ping only one that sat idle long enough to have been cut
            // (a database restart, a firewall's idle timeout).
            .test_before_acquire(false)
            .before_acquire(ping_if_idle)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; the busy timeout
                        // makes a second writer wait instead of failing at once.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let hot_pg = match backend {
            Backend::Postgres => Some(hot_path_pool(&url)?),
            Backend::Sqlite => None,
        };
        let source = || match (&file, &hot_pg) {
            (Some(path), _) => batch::Source::Sqlite(sqlite_reader::SqliteReader::new(path.clone())),
            (None, Some(pg)) => batch::Source::Postgres(pg.clone()),
            (None, None) => batch::Source::Pool(pool.clone()),
        };
        let hot = std::sync::Arc::new(HotPath {
            sessions: batch::Batcher::start(source),
            api_tokens: batch::Batcher::start(source),
            session_identities: batch::Batcher::start(source),
            api_token_identities: batch::Batcher::start(source),
        });
        Ok(Self { pool, backend, hot })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        // One folder for both databases: the schema is written in the dialect they share
        // (BIGINT times and 0/1 flags, TEXT ids), as every query is.
        sqlx::migrate!().run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A consistent copy of a SQLite database in a new file at `path`, taken while others
    /// read and write (SQLite's `VACUUM INTO`: one read transaction, a compact result).
    pub async fn copy_sqlite_into(&self, path: &Path) -> StoreResult<()> {
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Db(sqlx::Error::Configuration("the backup path is not valid UTF-8".into())))?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
    }

    /// For `/healthz`: the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure the folder of a SQLite file exists and asks sqlx to create the file; also
/// returns the file's path (none for an in-memory database).
fn sqlite_url(url: &str) -> StoreResult<(String, Option<PathBuf>)> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
    }
    let mode = if query.contains("mode=") { String::new() } else { "mode=rwc".to_owned() };
    let joined = [query, mode.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("&");
    let file = (path != ":memory:").then(|| PathBuf::from(path));
    Ok((format!("sqlite://{path}?{joined}"), file))
}

/// The `country`, `city` and `location_label` columns that every table with a place has.
pub(crate) fn location_from_row(row: &sqlx::any::AnyRow) -> StoreResult<crate::domain::location::Location> {
    use sqlx::Row;
    Ok(crate::domain::location::Location {
        country: row.try_get("country")?,
        city: row.try_get("city")?,
        label: row.try_get("location_label")?,
    })
}

/// The `device_kind` and `device_name` columns of sessions and trusted devices.
pub(crate) fn device_from_row(row: &sqlx::any::AnyRow) -> StoreResult<crate::domain::device::Device> {
    use sqlx::Row;
    Ok(crate::domain::device::Device {
        kind: crate::domain::device::DeviceKind::from_db(row.try_get::<&str, _>("device_kind")?),
        name: row.try_get("device_name")?,
    })
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time; a value no date can have is refused as corrupt data, never read as 1970.
pub(crate) fn from_millis(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("a time of {ms} ms")))
}

/// A stored 0/1 flag; anything else is refused as corrupt data.
pub(crate) fn flag(value: i64) -> StoreResult<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(corrupt(format!("a flag of {other}"))),
    }
}

/// Data the schema should not have let in.
pub(crate) fn corrupt(what: String) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(format!("corrupt data in the database: {what}").into()))
}

/// An id for a WebAuthn ceremony, handed to the client.
pub fn new_ceremony_id() -> String {
    new_id()
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_and_flags_refuse_what_the_schema_should_not_hold() {
        assert_eq!(from_millis(0).unwrap(), DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(to_millis(from_millis(1_764_800_000_123).unwrap()), 1_764_800_000_123);
        assert!(from_millis(i64::MAX).is_err(), "not 1970");
        assert_eq!((flag(0).unwrap(), flag(1).unwrap()), (false, true));
        assert!(flag(2).is_err() && flag(-1).is_err());
    }
}
