//! Reading a row by column name, whichever driver returned it: the hot-path records are
//! decoded once, from sqlx's rows (PostgreSQL's own on its hot path, `Any` elsewhere) and
//! from rusqlite's on SQLite.

use sqlx::Row;

use super::StoreResult;

pub(super) trait Columns {
    fn text(&self, name: &str) -> StoreResult<String>;
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>>;
    fn int(&self, name: &str) -> StoreResult<i64>;
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>>;
}

/// sqlx's rows: `Any` (every query but the PostgreSQL hot path) and PostgreSQL's own.
macro_rules! sqlx_columns {
    ($($row:ty),*) => {$(
        impl Columns for $row {
            fn text(&self, name: &str) -> StoreResult<String> {
                Ok(self.try_get(name)?)
            }
            fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
                Ok(self.try_get(name)?)
            }
            fn int(&self, name: &str) -> StoreResult<i64> {
                Ok(self.try_get(name)?)
            }
            fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
                Ok(self.try_get(name)?)
            }
        }
    )*};
}

sqlx_columns!(sqlx::any::AnyRow, sqlx::postgres::PgRow);

/// A rusqlite row with its statement's column names, read once per query: rusqlite finds a
/// column by name by asking SQLite for every name in turn, for every value read.
pub(super) struct NamedRow<'a> {
    pub row: &'a rusqlite::Row<'a>,
    pub names: &'a [String],
}

impl NamedRow<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> StoreResult<T> {
        let index = self
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))?;
        Ok(self.row.get(index)?)
    }
}

impl Columns for NamedRow<'_> {
    fn text(&self, name: &str) -> StoreResult<String> {
        self.get(name)
    }
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        self.get(name)
    }
    fn int(&self, name: &str) -> StoreResult<i64> {
        self.get(name)
    }
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        self.get(name)
    }
}
