//! The breached-password filter, stored in parts: one row of numbers and the fingerprints
//! in chunks. An import replaces all of it in one transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoreResult, from_millis, to_millis};
use crate::domain::breached::FilterParts;

/// Fingerprint bytes per row: small enough for any driver's message size.
const CHUNK: usize = 16 << 20;

/// What `breached status` shows.
pub struct BreachedStatus {
    pub version: String,
    pub hashes: u64,
    pub imported_at: DateTime<Utc>,
}

impl Store {
    /// Replaces the list (and its version) with `parts`.
    pub async fn replace_breached(&self, version: &str, parts: &FilterParts, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM breached_list").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM breached_chunks").execute(&mut *tx).await?;
        for (seq, chunk) in parts.fingerprints.chunks(CHUNK).enumerate() {
            sqlx::query("INSERT INTO breached_chunks (seq, data) VALUES ($1, $2)")
                .bind(i64::try_from(seq).map_err(|e| StoreError::Other(e.into()))?)
                .bind(chunk.to_vec())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO breached_list (id, version, hashes, imported_at, seed, segment_length, segment_length_mask, segment_count_length)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(version)
        .bind(i64::try_from(parts.count).map_err(|e| StoreError::Other(e.into()))?)
        .bind(to_millis(now))
        .bind(parts.seed.to_string())
        .bind(i64::from(parts.segment_length))
        .bind(i64::from(parts.segment_length_mask))
        .bind(i64::from(parts.segment_count_length))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The list's version, count and import time; `None` before the first import.
    pub async fn breached_status(&self) -> StoreResult<Option<BreachedStatus>> {
        let row = sqlx::query("SELECT version, hashes, imported_at FROM breached_list WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(BreachedStatus {
                version: r.try_get("version")?,
                hashes: u64::try_from(r.try_get::<i64, _>("hashes")?).unwrap_or(0),
                imported_at: from_millis(r.try_get("imported_at")?)?,
            })
        })
        .transpose()
    }

    /// The whole list as stored, with its version.
    pub async fn breached_filter(&self) -> StoreResult<Option<(String, FilterParts)>> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query("SELECT * FROM breached_list WHERE id = 1").fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let number = |name: &str| -> StoreResult<u32> {
            u32::try_from(row.try_get::<i64, _>(name)?).map_err(|e| StoreError::Other(e.into()))
        };
        let seed: String = row.try_get("seed")?;
        let mut parts = FilterParts {
            seed: seed.parse().map_err(|e: std::num::ParseIntError| StoreError::Other(e.into()))?,
            segment_length: number("segment_length")?,
            segment_length_mask: number("segment_length_mask")?,
            segment_count_length: number("segment_count_length")?,
            count: u64::try_from(row.try_get::<i64, _>("hashes")?).unwrap_or(0),
            fingerprints: Vec::new(),
        };
        let version: String = row.try_get("version")?;
        let chunks = sqlx::query("SELECT data FROM breached_chunks ORDER BY seq").fetch_all(&mut *tx).await?;
        for chunk in chunks {
            parts.fingerprints.extend_from_slice(&chunk.try_get::<Vec<u8>, _>("data")?);
        }
        tx.commit().await?;
        Ok(Some((version, parts)))
    }
}
