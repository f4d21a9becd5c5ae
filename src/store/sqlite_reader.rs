//! A read-only SQLite connection that runs its query in-line, on the calling task.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every query and every
//! row across a channel: two thread wake-ups per query and one hand-off per row. For the
//! lookup that every authenticated request makes, that hop cost more than the query (a
//! quarter of the server's CPU under load). SQLite is a library: an indexed read from its
//! page cache takes microseconds, so here it runs where it is asked, like any other short
//! computation on the runtime.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreResult;
use super::columns::NamedRow;

/// A writer holds a WAL reader up only in rare moments (recovery after a crash, the last
/// connection's checkpoint); longer than this, and the request fails rather than stall a
/// runtime thread.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// Statements kept prepared: a reader serves one lookup, whose batches come in eight
/// padded sizes (see `batch`).
const PREPARED: usize = 8;

pub(super) struct SqliteReader {
    path: PathBuf,
    /// Opened on first use (after migrations), and again after an error.
    connection: Option<Connection>,
}

impl SqliteReader {
    pub(super) fn new(path: PathBuf) -> Self {
        Self { path, connection: None }
    }

    /// Runs `sql` with `keys` bound to `$1…$n` and maps each row. Every call is its own
    /// read transaction: it sees every write committed before it began, by any connection
    /// or process.
    pub(super) fn fetch<T>(
        &mut self,
        sql: &str,
        keys: &[String],
        map: impl Fn(&NamedRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let result = self.run(sql, keys, map);
        if result.is_err() {
            // Start afresh next time rather than keep a connection in an unknown state.
            self.connection = None;
        }
        result
    }

    fn run<T>(
        &mut self,
        sql: &str,
        keys: &[String],
        map: impl Fn(&NamedRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let connection = match &mut self.connection {
            Some(c) => c,
            None => self.connection.insert(open(&self.path)?),
        };
        let mut statement = connection.prepare_cached(sql)?;
        let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = statement.query(rusqlite::params_from_iter(keys))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(&NamedRow { row, names: &names })?);
        }
        Ok(out)
    }
}

fn open(path: &Path) -> StoreResult<Connection> {
    // Read-write, not read-only: a read-only connection cannot open a WAL database whose
    // `-shm` file is gone (removed when the last writer closed). `query_only` keeps it a reader.
    let connection =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "query_only", true)?;
    connection.set_prepared_statement_cache_capacity(PREPARED);
    Ok(connection)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::columns::Columns;

    const SQL: &str = "SELECT key AS batch_key, value FROM kv WHERE key IN ($1, $2)";

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| (*s).to_owned()).collect()
    }

    fn values(reader: &mut SqliteReader, k: &[&str]) -> Vec<(String, i64)> {
        reader.fetch(SQL, &keys(k), |row| Ok((row.text("batch_key")?, row.int("value")?))).unwrap()
    }

    #[test]
    fn sees_each_write_of_another_connection_at_its_next_query_and_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE kv (key TEXT PRIMARY KEY, value BIGINT);
                 INSERT INTO kv VALUES ('a', 1), ('b', 2);",
            )
            .unwrap();
        let mut reader = SqliteReader::new(path);
        assert_eq!(values(&mut reader, &["a", "b"]), [("a".to_owned(), 1), ("b".to_owned(), 2)]);

        // The statement stays prepared between queries; it must not keep a stale snapshot.
        writer.execute_batch("DELETE FROM kv WHERE key = 'a'; UPDATE kv SET value = 3 WHERE key = 'b';").unwrap();
        assert_eq!(values(&mut reader, &["a", "b"]), [("b".to_owned(), 3)]);

        let refused = reader.fetch("DELETE FROM kv WHERE key IN ($1, $2)", &keys(&["b", "b"]), |_| Ok(()));
        assert!(refused.is_err(), "the reader is query_only");
        assert_eq!(values(&mut reader, &["b", "b"]), [("b".to_owned(), 3)], "and opens again after an error");
    }

    #[test]
    fn an_unknown_column_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE kv (key TEXT, value BIGINT); INSERT INTO kv VALUES ('a', 1);")
            .unwrap();
        let mut reader = SqliteReader::new(path);
        let got = reader.fetch(SQL, &keys(&["a", "a"]), |row| row.int("missing"));
        assert!(matches!(got, Err(crate::store::StoreError::Sqlite(rusqlite::Error::InvalidColumnName(_)))), "{got:?}");
    }
}
