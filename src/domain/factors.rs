//! The second factors of an account, counted, and what they allow: whether 2FA is on, and
//! which methods a second step (sign-in, reset, step-up) may ask for.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp_created_at: Option<DateTime<Utc>>,
    pub webauthn_keys: u64,
    pub backup_codes_remaining: u64,
}

impl Factors {
    /// Two-factor authentication is on: an authenticator app or a key (backup codes only
    /// stand in for those).
    pub fn enabled(&self) -> bool {
        self.totp_created_at.is_some() || self.webauthn_keys > 0
    }

    /// `totp`, `webauthn`: the factors, as `GET /me` lists them.
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

    /// What a second step may be answered with (`methods` of `mfa_required`): the factors,
    /// then `backup_code` while any are left. The one list every second step uses.
    pub fn second_step_methods(&self) -> Vec<&'static str> {
        let mut m = self.methods();
        if self.enabled() && self.backup_codes_remaining > 0 {
            m.push("backup_code");
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_answer_a_second_step_only_beside_a_factor() {
        let none = Factors::default();
        assert!(!none.enabled() && none.second_step_methods().is_empty());
        let orphan_codes = Factors { backup_codes_remaining: 3, ..Factors::default() };
        assert!(orphan_codes.second_step_methods().is_empty());
        let totp = Factors { totp_created_at: Some(Utc::now()), backup_codes_remaining: 10, ..Factors::default() };
        assert_eq!(totp.second_step_methods(), ["totp", "backup_code"]);
        let key = Factors { webauthn_keys: 1, ..Factors::default() };
        assert_eq!((key.methods(), key.second_step_methods()), (vec!["webauthn"], vec!["webauthn"]));
    }
}
