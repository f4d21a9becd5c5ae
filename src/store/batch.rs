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

use sqlx::{AnyPool, AssertSqlSafe};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::columns::Columns;
use super::sqlite_reader::SqliteReader;
use super::{StoreError, StoreResult};

/// The most keys one query asks for.
const MAX_BATCH: usize = 128;

/// Queries in flight at once per kind of lookup: while some run, the next batch gathers.
const WORKERS: usize = 2;

/// A record the hot path looks up by one key (a token hash), many at a time.
pub(super) trait Lookup: Clone + Send + 'static {
    /// The column holding the key, as the `WHERE … IN (…)` that is appended names it.
    const KEY: &'static str;
    /// `SELECT <KEY> AS batch_key, … FROM …`.
    fn select() -> String;
    fn decode<R: Columns>(row: &R) -> StoreResult<Self>;
}

/// Where a worker's queries go: a SQLite file's in-line reader, else the pool (PostgreSQL,
/// or an in-memory SQLite database, which no second connection could see).
pub(super) enum Source {
    Pool(AnyPool),
    Sqlite(SqliteReader),
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
        let queries: Arc<[Arc<str>]> = queries::<V>().into();
        for _ in 0..WORKERS {
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

async fn work<V: Lookup>(mut source: Source, queue: Arc<Mutex<mpsc::Receiver<Ask<V>>>>, queries: Arc<[Arc<str>]>) {
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
        let keys = padded_keys(&batch);
        let sql = &queries[keys.len().trailing_zeros() as usize];
        match fetch::<V>(&mut source, sql, &keys).await {
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

/// The batch's distinct keys, padded to a power of two with the last one repeated, so
/// that a connection prepares at most eight statements per lookup, not one per batch size.
fn padded_keys<V>(batch: &[Ask<V>]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(batch.len());
    let mut keys: Vec<String> =
        batch.iter().filter(|ask| seen.insert(ask.key.as_str())).map(|ask| ask.key.clone()).collect();
    if let Some(last) = keys.last().cloned() {
        keys.resize(keys.len().next_power_of_two(), last);
    }
    keys
}

/// `{select} WHERE {KEY} IN ($1, …, $n)` for n = 1, 2, 4, … `MAX_BATCH`: entry `i` takes
/// 2^i keys.
fn queries<V: Lookup>() -> Vec<Arc<str>> {
    let select = V::select();
    std::iter::successors(Some(1usize), |n| Some(n * 2))
        .take_while(|n| *n <= MAX_BATCH)
        .map(|n| {
            let list = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            format!("{select} WHERE {} IN ({list})", V::KEY).into()
        })
        .collect()
}

/// The rows for `keys`, each paired with its key; keys without a row are left out.
async fn fetch<V: Lookup>(source: &mut Source, sql: &Arc<str>, keys: &[String]) -> StoreResult<Vec<(String, V)>> {
    fn pair<V: Lookup, R: Columns>(row: &R) -> StoreResult<(String, V)> {
        Ok((row.text("batch_key")?, V::decode(row)?))
    }
    match source {
        Source::Pool(pool) => {
            let mut query = sqlx::query(AssertSqlSafe(Arc::clone(sql)));
            for key in keys {
                query = query.bind(key.as_str());
            }
            query.fetch_all(&*pool).await?.iter().map(pair::<V, _>).collect()
        }
        Source::Sqlite(reader) => reader.fetch(sql, keys, |row| pair::<V, _>(row)),
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
        assert_eq!(padded_keys(&asks(&["c", "a", "c", "b", "a"])), ["c", "a", "b", "b"]);
        assert_eq!(padded_keys(&asks(&["a", "a"])), ["a"]);
    }

    #[test]
    fn each_padded_size_has_its_query() {
        let q = queries::<Key>();
        assert_eq!(q.len(), 8);
        assert_eq!(&*q[0], "SELECT k AS batch_key FROM t WHERE k IN ($1)");
        assert_eq!(&*q[2], "SELECT k AS batch_key FROM t WHERE k IN ($1, $2, $3, $4)");
        assert!(q[7].ends_with("$127, $128)"));
        // `work` picks entry trailing_zeros(len) for a padded batch of len keys.
        assert_eq!(padded_keys(&asks(&["a", "b", "c"])).len().trailing_zeros(), 2);
    }
}
