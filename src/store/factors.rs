//! The second factors of an account, counted: read with the account on the hot path and
//! by every rule that needs them.

use chrono::{DateTime, Utc};

use super::columns::Columns;
use super::{StoreResult, from_millis};

/// The second factors of an account, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp_created_at: Option<DateTime<Utc>>,
    pub webauthn_keys: u64,
    pub backup_codes_remaining: u64,
}

impl Factors {
    pub fn enabled(&self) -> bool {
        self.totp_created_at.is_some() || self.webauthn_keys > 0
    }

    /// `totp`, `webauthn`: what `GET /me` lists.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.totp_created_at.is_some() {
            m.push("totp");
        }
        if self.webauthn_keys > 0 {
            m.push("webauthn");
        }
        m
    }
}

/// The factor counts of each row of `users`, as select-list expressions.
pub(super) const FACTOR_COLUMNS: &str =
    "(SELECT created_at FROM totp_credentials WHERE user_id = users.id) AS totp_created_at,
    (SELECT COUNT(*) FROM backup_codes WHERE user_id = users.id AND used_at IS NULL) AS backup_codes,
    (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = users.id) AS webauthn_keys";

impl Factors {
    pub(super) fn from_row<R: Columns>(row: &R) -> StoreResult<Self> {
        Ok(Self {
            totp_created_at: row.opt_int("totp_created_at")?.map(from_millis).transpose()?,
            webauthn_keys: row.int("webauthn_keys")?.try_into().unwrap_or(0),
            backup_codes_remaining: row.int("backup_codes")?.try_into().unwrap_or(0),
        })
    }
}
