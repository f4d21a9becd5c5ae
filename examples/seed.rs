//! Fills a database to a platform's scale for the list benchmarks (bench/scale):
//!
//!     cargo run --release --example seed -- DATABASE_URL [ACCOUNTS] [HISTORY_ROWS] [BENCH_EMAIL]
//!
//! Defaults: 1,000,000 accounts, each with one session, and 10,000,000 login-history
//! rows spread over them (newest first, half a second apart: 58 days, inside the
//! 90-day retention). When BENCH_EMAIL names an
//! existing account it also gets 1,000 history rows and 20 sessions, the busy user whose
//! lists are measured. The schema is the real one: the store migrates first. Rows are
//! made by the database itself (generate_series / a recursive CTE), in batches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use sqlx::{AnyPool, AssertSqlSafe, Executor};

const BATCH: i64 = 250_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| anyhow::anyhow!("usage: seed DATABASE_URL [ACCOUNTS] [HISTORY] [EMAIL]"))?;
    let accounts: i64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let history: i64 = args.next().map_or(Ok(10_000_000), |a| a.parse())?;
    let bench_email = args.next();

    let store = latchkey::store::Store::connect(&url, 2).await?;
    store.migrate().await?;
    let pool = AnyPool::connect(&url).await?;
    let postgres = !url.starts_with("sqlite:");
    if !postgres {
        pool.execute("PRAGMA journal_mode = WAL").await?;
        pool.execute("PRAGMA synchronous = OFF").await?;
    }
    let now = chrono::Utc::now().timestamp_millis();

    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id LIKE 'seed-%'").fetch_one(&pool).await?;
    let started = Instant::now();
    for from in (have..accounts).step_by(BATCH as usize) {
        let to = (from + BATCH).min(accounts) - 1;
        let rows = series(postgres, from, to);
        pool.execute(AssertSqlSafe(format!(
            "INSERT INTO users (id, email, password_hash, created_at) \
             {rows} SELECT 'seed-' || n, 'seed' || n || '@example.com', NULL, {now} - n FROM g"
        )))
        .await?;
        pool.execute(AssertSqlSafe(format!(
            "INSERT INTO sessions (id, user_id, token_hash, device_kind, device_name, ip, location_label, user_agent, \
             created_at, last_activity_at, expires_at, auth_at) \
             {rows} SELECT 'seed-s-' || n, 'seed-' || n, 'seed-token-' || n, 'browser', 'Firefox on Linux', \
             '192.0.2.1', 'Unknown', 'Mozilla/5.0', {now}, {now}, {now} + 86400000, {now} FROM g"
        )))
        .await?;
        eprintln!("accounts: {} of {accounts} ({:.0?})", to + 1, started.elapsed());
    }

    let have: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_history WHERE id LIKE 'seed-h-%'").fetch_one(&pool).await?;
    let started = Instant::now();
    for from in (have..history).step_by(BATCH as usize) {
        let to = (from + BATCH).min(history) - 1;
        let rows = series(postgres, from, to);
        pool.execute(AssertSqlSafe(format!(
            "INSERT INTO login_history (id, user_id, at, success, ip, user_agent, device_kind, location_label, \
             mfa_challenged, method, failure) \
             {rows} SELECT 'seed-h-' || n, 'seed-' || (n % {accounts}), {now} - n * 500, 1, '192.0.2.1', \
             'Mozilla/5.0', 'browser', 'Unknown', 0, 'password', NULL FROM g"
        )))
        .await?;
        eprintln!("login history: {} of {history} ({:.0?})", to + 1, started.elapsed());
    }

    if let Some(email) = bench_email {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(&pool).await?;
        let id = id.ok_or_else(|| anyhow::anyhow!("no account {email}"))?;
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_history WHERE user_id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await?;
        if done >= 1000 {
            eprintln!("{email}: already busy");
            return Ok(());
        }
        let rows = series(postgres, 0, 999);
        pool.execute(AssertSqlSafe(format!(
            "INSERT INTO login_history (id, user_id, at, success, ip, user_agent, device_kind, location_label, \
             mfa_challenged, method, failure) \
             {rows} SELECT 'bench-h-' || n, '{id}', {now} - n * 60000, 1, '192.0.2.7', 'Mozilla/5.0', 'browser', \
             'Unknown', 0, 'password', NULL FROM g"
        )))
        .await?;
        let rows = series(postgres, 0, 19);
        pool.execute(AssertSqlSafe(format!(
            "INSERT INTO sessions (id, user_id, token_hash, device_kind, device_name, ip, location_label, user_agent, \
             created_at, last_activity_at, expires_at, auth_at) \
             {rows} SELECT 'bench-s-' || n, '{id}', 'bench-token-' || n, 'desktop', 'Latchkey CLI', '192.0.2.7', \
             'Unknown', 'latchkey-cli/1.0', {now}, {now} - n * 60000, {now} + 86400000, {now} FROM g"
        )))
        .await?;
        eprintln!("{email}: 1,000 more history rows and 20 more sessions");
    }
    if postgres {
        pool.execute("ANALYZE").await?;
    } else {
        pool.execute("ANALYZE").await?;
        pool.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(())
}

/// The integers `from..=to` as a CTE named `g` with one column `n`.
fn series(postgres: bool, from: i64, to: i64) -> String {
    if postgres {
        format!("WITH g(n) AS (SELECT generate_series({from}::bigint, {to}::bigint))")
    } else {
        format!("WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to})")
    }
}
