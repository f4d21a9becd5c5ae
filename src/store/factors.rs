//! The second factors of an account as the store counts them: read with the account on
//! the hot path and by every rule that needs them (`domain::factors::Factors`).

use super::columns::Columns;
use super::{StoreResult, from_millis};
use crate::domain::factors::Factors;

/// The factor counts of each row of `users`, as select-list expressions.
pub(super) const FACTOR_COLUMNS: &str =
    "(SELECT created_at FROM totp_credentials WHERE user_id = users.id) AS totp_created_at,
    (SELECT COUNT(*) FROM backup_codes WHERE user_id = users.id AND used_at IS NULL) AS backup_codes,
    (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = users.id) AS webauthn_keys";

/// The counts of `FACTOR_COLUMNS`.
pub(super) fn factors_from_row<R: Columns>(row: &R) -> StoreResult<Factors> {
    Ok(Factors {
        totp_created_at: row.opt_int("totp_created_at")?.map(from_millis).transpose()?,
        webauthn_keys: row.int("webauthn_keys")?.try_into().unwrap_or(0),
        backup_codes_remaining: row.int("backup_codes")?.try_into().unwrap_or(0),
    })
}
