//! An account as the rest of the service sees it: who it is, whether it has a password,
//! whether its email is known to be the holder's.

use chrono::{DateTime, Utc};

use crate::domain::factors::Factors;

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

/// Who a signed-in caller is, read together with their session or token in one query:
/// all that `GET /me` answers.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub email: String,
    /// False for accounts made through OAuth that never set a password.
    pub has_password: bool,
    pub email_verified: bool,
    /// Disabled by an operator: its sessions and tokens are refused.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub factors: Factors,
}

/// Who a caller is and no more: what a proxy asking about a token needs (forward auth,
/// introspection). Reading it skips the factor counts, a third of the hot path's work on
/// PostgreSQL; a caller read this way cannot be asked about factors (`AccountView` has
/// none), so no rule can mistake "not read" for "none".
#[derive(Debug, Clone)]
pub struct AccountIdentity {
    pub email: String,
    /// Disabled by an operator: its sessions and tokens are refused.
    pub disabled: bool,
}

/// What every reading of a caller's account tells.
pub trait AccountView: Clone + Send + Sync + 'static {
    fn email(&self) -> &str;
    fn disabled(&self) -> bool;
}

impl AccountView for AccountSummary {
    fn email(&self) -> &str {
        &self.email
    }
    fn disabled(&self) -> bool {
        self.disabled
    }
}

impl AccountView for AccountIdentity {
    fn email(&self) -> &str {
        &self.email
    }
    fn disabled(&self) -> bool {
        self.disabled
    }
}
