//! Coalescing point lookups on the hot path: every request that asks while a lookup is in
//! flight is answered by the next single query (`WHERE key IN (…)`).
//!
//! This is not a cache. A request is only ever answered by a query that *started after it
//! was asked*, so it sees every write committed before it arrived: a session revoked by
//! another instance, or by the CLI on the same SQLite file, is refused at the very next
//! request, with nothing to invalidate. What it saves is the per-query cost (a round trip
//! to PostgreSQL, a hop to SQLite's worker thread), shared by all the requests in a batch.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{AnyQuery, StoreError, StoreResult};

/// The most keys one query asks for.
const MAX_BATCH: usize = 128;

/// Queries in flight at once per kind of lookup: while some run, the next batch gathers.
const WORKERS: usize = 2;

type Answer<V> = Result<Option<V>, Arc<StoreError>>;
pub(super) type LoadFuture<K, V> = Pin<Box<dyn Future<Output = StoreResult<Vec<(K, V)>>> + Send>>;
/// Fetches the rows for a set of distinct keys; keys without a row are simply left out.
pub(super) type Load<K, V> = fn(AnyPool, Vec<K>) -> LoadFuture<K, V>;

struct Ask<K, V> {
    key: K,
    answer: oneshot::Sender<Answer<V>>,
}

pub(super) struct Batcher<K, V> {
    asks: mpsc::Sender<Ask<K, V>>,
}

impl<K, V> Batcher<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Starts the workers. They hold the pool but not the batcher: when the store is
    /// dropped, the queue closes and they end.
    pub(super) fn start(pool: &AnyPool, load: Load<K, V>) -> Self {
        let (asks, queue) = mpsc::channel(4 * MAX_BATCH);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WORKERS {
            tokio::spawn(work(pool.clone(), Arc::clone(&queue), load));
        }
        Self { asks }
    }

    pub(super) async fn get(&self, key: K) -> StoreResult<Option<V>> {
        let (answer, answered) = oneshot::channel();
        self.asks.send(Ask { key, answer }).await.map_err(|_| StoreError::Closed)?;
        match answered.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(shared)) => Err(StoreError::Batch(shared)),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

async fn work<K, V>(pool: AnyPool, queue: Arc<Mutex<mpsc::Receiver<Ask<K, V>>>>, load: Load<K, V>)
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
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
        let mut keys: Vec<K> = batch.iter().map(|ask| ask.key.clone()).collect();
        dedup(&mut keys);
        match load(pool.clone(), keys).await {
            Ok(rows) => {
                let rows: HashMap<K, V> = rows.into_iter().collect();
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

fn dedup<K: Eq + Hash + Clone>(keys: &mut Vec<K>) {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.retain(|k| seen.insert(k.clone()));
}

/// Runs `{select} WHERE {key} IN (…)` for `keys` and decodes each row, paired with its
/// key (which `select` must return as `batch_key`): the query behind every lookup here.
pub(super) async fn fetch_by_keys<V>(
    pool: &AnyPool,
    select: &str,
    key: &str,
    mut keys: Vec<String>,
    decode: fn(&AnyRow) -> StoreResult<V>,
) -> StoreResult<Vec<(String, V)>> {
    let sql = format!("{select} WHERE {key} IN ({})", placeholders(&mut keys));
    let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &keys).fetch_all(pool).await?;
    rows.iter().map(|row| Ok((row.try_get("batch_key")?, decode(row)?))).collect()
}

/// `$1, $2, …` for `n` keys, rounded up to a power of two (the last key repeated) so that
/// a connection prepares at most eight statements per lookup, not one per batch size.
fn placeholders<K: Clone>(keys: &mut Vec<K>) -> String {
    let padded = keys.len().max(1).next_power_of_two();
    if let Some(last) = keys.last().cloned() {
        keys.resize(padded, last);
    }
    (1..=keys.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Binds each key, in order, to the parameters `placeholders` wrote.
fn bind_all<'q>(mut query: AnyQuery<'q>, keys: &[String]) -> AnyQuery<'q> {
    for key in keys {
        query = query.bind(key.clone());
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_pad_to_a_power_of_two_with_the_last_key() {
        let mut keys = vec!["a", "b", "c"];
        assert_eq!(placeholders(&mut keys), "$1, $2, $3, $4");
        assert_eq!(keys, ["a", "b", "c", "c"]);
        let mut one = vec!["a"];
        assert_eq!(placeholders(&mut one), "$1");
    }

    #[test]
    fn dedup_keeps_first_occurrences_in_order() {
        let mut keys = vec![3, 1, 3, 2, 1];
        dedup(&mut keys);
        assert_eq!(keys, [3, 1, 2]);
    }
}
