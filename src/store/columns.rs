//! Reading a row by column name, whichever driver returned it: the hot-path records are
//! decoded once, from sqlx's rows on PostgreSQL and from rusqlite's on SQLite.

use sqlx::Row;

use super::StoreResult;

pub(super) trait Columns {
    fn text(&self, name: &str) -> StoreResult<String>;
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>>;
    fn int(&self, name: &str) -> StoreResult<i64>;
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>>;
}

impl Columns for sqlx::any::AnyRow {
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

impl Columns for rusqlite::Row<'_> {
    fn text(&self, name: &str) -> StoreResult<String> {
        Ok(self.get(name)?)
    }
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(self.get(name)?)
    }
    fn int(&self, name: &str) -> StoreResult<i64> {
        Ok(self.get(name)?)
    }
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        Ok(self.get(name)?)
    }
}
