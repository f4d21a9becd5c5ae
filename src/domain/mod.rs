//! The rules of Latchkey as plain Rust: no I/O (but the OS random source tokens start
//! from), no clock reads, no database.
//! Everything here is unit tested in place.

pub mod account;
pub mod api_token;
pub mod authenticator_data;
pub mod backup_codes;
pub mod breached;
pub mod client_ip;
pub mod device;
pub mod device_grant;
pub mod email;
pub mod enrolment;
pub mod factors;
pub mod forward_auth;
pub mod limits;
pub mod location;
pub mod mail;
pub mod oauth;
pub mod password;
pub mod proof;
#[cfg(test)]
mod properties;
pub mod rate_limit;
pub mod return_to;
pub mod security_event;
pub mod session;
pub mod session_policy;
pub mod sign_in;
pub mod token;
pub mod totp;
pub mod voiding;
pub mod workspace;
