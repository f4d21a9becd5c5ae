//! An account as the rest of the service sees it: who it is, whether it has a password,
//! whether its email is known to be the holder's.

use chrono::{DateTime, Utc};

/// An account. `password_hash` is an Argon2id PHC string, or none for provider-only accounts.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password_hash: Option<String>,
    /// Shown to belong to the holder (by a provider that verified it, so far).
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Set by an operator (`latchkey user disable`): nothing signs in until it is cleared.
    pub disabled_at: Option<DateTime<Utc>>,
}
