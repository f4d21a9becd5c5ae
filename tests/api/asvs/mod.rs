//! OWASP ASVS 5.0 Level 2 rules that docs/security.md points at, each written as the
//! attack it stops where there is one.

mod breached;
mod browser_sessions;
mod enrolment;
mod key_rotation;
mod password_rules;
mod reauth;
mod secrets_at_rest;
