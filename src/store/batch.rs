//! Coalescing point lookups on the hot path: every request that asks while a lookup is in
//! flight is answered by the next single query (`WHERE key IN (…)`).
//!
//! This is not a cache. A request is only ever answered by a query that *started after it
//! was asked*, so it sees every write committed before it arrived: a session revoked by
//! another instance, or by the CLI on the same SQLite file, is refused at the very next
//! request, with nothing to invalidate. What it saves is the per-query cost (a round trip
//! to PostgreSQL; on SQLite, stepping a statement), shared by all the requests in a batch.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::{AnyPool, AssertSqlSafe, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::columns::Columns;
use super::sqlite_reader::SqliteReader;
use super::{StoreError, StoreResult};

/// The most keys one query asks for.
const MAX_BATCH: usize = 128;

/// Queries in flight at once per kind of lookup on SQLite: while one steps, the next batch
/// gathers (two were faster than one when each query was a hand-off to sqlx's thread;
/// since the in-line reader, one is no faster and no slower).
const SQLITE_WORKERS: usize = 2;

/// On PostgreSQL, one query in flight per kind of lookup: the batches are twice as large
/// (11 requests a query instead of 6 under `/auth/verify` load), and PostgreSQL's fixed
/// cost per query (its round trip, executor start-up) is what limits the hot path there:
/// 38.1k against 33.1k req/s with two, in adjacent runs. A stalled query cannot hold
/// every request for long: the hot path's connections have a statement timeout.
pub(super) const POSTGRES_WORKERS: usize = 1;

/// A record the hot path looks up by one key (a token hash), many at a time.
pub(super) trait Lookup: Clone + Send + 'static {
    /// The column holding the key, as the `WHERE … IN (…)` that is appended names it.
    const KEY: &'static str;
    /// `SELECT <KEY> AS batch_key, … FROM …`.
    fn select() -> String;
    fn decode<R: Columns>(row: &R) -> StoreResult<Self>;
}

/// Where a worker's queries go: a SQLite file's in-line reader, PostgreSQL through its own
/// driver, else the pool (an in-memory SQLite database, which no second connection could
/// see).
pub(super) enum Source {
    Pool(AnyPool),
    Sqlite(SqliteReader),
    /// One statement for every batch (`= ANY($1)`, the keys as one array), and rows read
    /// as PostgreSQL sent them, not converted to `Any` values first.
    Postgres(PgPool),
}

type Answer<V> = Result<Option<V>, Arc<StoreError>>;

struct Ask<V> {
    key: String,
    answer: oneshot::Sender<Answer<V>>,
}

pub(super) struct Batcher<V> {
    asks: mpsc::Sender<Ask<V>>,
}

impl<V: Lookup> Batcher<V> {
    /// Starts the workers, each with a source of its own. They do not hold the batcher:
    /// when the store is dropped, the queue closes and they end.
    pub(super) fn start(source: impl Fn() -> Source) -> Self {
        let (asks, queue) = mpsc::channel(4 * MAX_BATCH);
        let queue = Arc::new(Mutex::new(queue));
        let queries = Arc::new(Queries::of::<V>());
        let first = source();
        let workers = match first {
            Source::Postgres(_) => POSTGRES_WORKERS,
            Source::Pool(_) | Source::Sqlite(_) => SQLITE_WORKERS,
        };
        tokio::spawn(work(first, Arc::clone(&queue), Arc::clone(&queries)));
        for _ in 1..workers {
            tokio::spawn(work(source(), Arc::clone(&queue), Arc::clone(&queries)));
        }
        Self { asks }
    }

    pub(super) async fn get(&self, key: String) -> StoreResult<Option<V>> {
        let (answer, answered) = oneshot::channel();
        self.asks.send(Ask { key, answer }).await.map_err(|_| StoreError::Closed)?;
        match answered.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(shared)) => Err(StoreError::Batch(shared)),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

async fn work<V: Lookup>(mut source: Source, queue: Arc<Mutex<mpsc::Receiver<Ask<V>>>>, queries: Arc<Queries>) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(ask) => batch.push(ask),
                    Err(_) => break,
                }
            }
            batch
        };
        match fetch::<V>(&mut source, &queries, distinct_keys(&batch)).await {
            Ok(rows) => {
                let rows: HashMap<String, V> = rows.into_iter().collect();
                for ask in batch {
                    // The asker may have gone (a closed connection); nothing to do then.
                    let _ = ask.answer.send(Ok(rows.get(&ask.key).cloned()));
                }
            }
            Err(e) => {
                let shared = Arc::new(e);
                for ask in batch {
                    let _ = ask.answer.send(Err(Arc::clone(&shared)));
                }
            }
        }
    }
}

/// The batch's distinct keys, in the order asked.
fn distinct_keys<V>(batch: &[Ask<V>]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(batch.len());
    batch.iter().filter(|ask| seen.insert(ask.key.as_str())).map(|ask| ask.key.clone()).collect()
}

/// `keys` padded to a power of two with the last one repeated, so that a connection
/// prepares at most eight statements per lookup, not one per batch size.
fn padded(mut keys: Vec<String>) -> Vec<String> {
    if let Some(last) = keys.last().cloned() {
        keys.resize(keys.len().next_power_of_two(), last);
    }
    keys
}

/// A lookup's statements.
struct Queries {
    /// `{select} WHERE {KEY} IN ($1, …, $n)` for n = 1, 2, 4, … `MAX_BATCH`: entry `i`
    /// takes 2^i keys (SQLite has no arrays).
    by_size: Vec<Arc<str>>,
    /// `{select} WHERE {KEY} = ANY($1)`: PostgreSQL, any number of keys.
    any: Arc<str>,
}

impl Queries {
    fn of<V: Lookup>() -> Self {
        let select = V::select();
        let by_size = std::iter::successors(Some(1usize), |n| Some(n * 2))
            .take_while(|n| *n <= MAX_BATCH)
            .map(|n| {
                let list = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                format!("{select} WHERE {} IN ({list})", V::KEY).into()
            })
            .collect();
        Self { by_size, any: format!("{select} WHERE {} = ANY($1)", V::KEY).into() }
    }

    /// The statement for a padded batch of `len` keys.
    fn sized(&self, len: usize) -> &Arc<str> {
        &self.by_size[len.trailing_zeros() as usize]
    }
}

/// The rows for `keys`, each paired with its key; keys without a row are left out.
async fn fetch<V: Lookup>(source: &mut Source, queries: &Queries, keys: Vec<String>) -> StoreResult<Vec<(String, V)>> {
    fn pair<V: Lookup, R: Columns>(row: &R) -> StoreResult<(String, V)> {
        Ok((row.text("batch_key")?, V::decode(row)?))
    }
    match source {
        Source::Postgres(pool) => {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(&queries.any))).bind(keys);
            query.fetch_all(&*pool).await?.iter().map(pair::<V, _>).collect()
        }
        Source::Pool(pool) => {
            let keys = padded(keys);
            let mut query = sqlx::query(AssertSqlSafe(Arc::clone(queries.sized(keys.len()))));
            for key in &keys {
                query = query.bind(key.as_str());
            }
            query.fetch_all(&*pool).await?.iter().map(pair::<V, _>).collect()
        }
        Source::Sqlite(reader) => {
            let keys = padded(keys);
            reader.fetch(queries.sized(keys.len()), &keys, |row| pair::<V, _>(row))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Key;

    impl Lookup for Key {
        const KEY: &'static str = "k";
        fn select() -> String {
            "SELECT k AS batch_key FROM t".to_owned()
        }
        fn decode<R: Columns>(_: &R) -> StoreResult<Self> {
            Ok(Key)
        }
    }

    fn asks(keys: &[&str]) -> Vec<Ask<Key>> {
        keys.iter().map(|k| Ask { key: (*k).to_owned(), answer: oneshot::channel().0 }).collect()
    }

    #[test]
    fn keys_are_distinct_in_order_and_padded_to_a_power_of_two_with_the_last() {
        assert_eq!(distinct_keys(&asks(&["c", "a", "c", "b", "a"])), ["c", "a", "b"]);
        assert_eq!(padded(distinct_keys(&asks(&["c", "a", "c", "b", "a"]))), ["c", "a", "b", "b"]);
        assert_eq!(padded(distinct_keys(&asks(&["a", "a"]))), ["a"]);
    }

    #[test]
    fn each_padded_size_has_its_query_and_postgresql_one_for_all() {
        let q = Queries::of::<Key>();
        assert_eq!(q.by_size.len(), 8);
        assert_eq!(&**q.sized(1), "SELECT k AS batch_key FROM t WHERE k IN ($1)");
        assert_eq!(&**q.sized(4), "SELECT k AS batch_key FROM t WHERE k IN ($1, $2, $3, $4)");
        assert!(q.sized(128).ends_with("$127, $128)"));
        assert_eq!(q.sized(padded(distinct_keys(&asks(&["a", "b", "c"]))).len()), q.sized(4));
        assert_eq!(&*q.any, "SELECT k AS batch_key FROM t WHERE k = ANY($1)");
    }
}
