//! How many of each credential one account may hold: bounds on what a stolen session,
//! or a script gone wrong, can pile up.

/// Active sessions; a new sign-in past this signs out the oldest.
pub const MAX_SESSIONS: i64 = 100;
/// Trusted devices; remembering one more forgets the oldest.
pub const MAX_TRUSTED_DEVICES: i64 = 20;
/// API tokens; creating one more is refused (409 `limit_reached`) until one is deleted.
pub const MAX_API_TOKENS: i64 = 50;
/// Security keys and passkeys; registering one more is refused (409 `limit_reached`).
pub const MAX_WEBAUTHN_KEYS: i64 = 10;
/// Refused tries a password reset link serves before it is void.
pub const RESET_LINK_TRIES: i64 = 5;
