//! Time-based one-time passwords (RFC 6238): SHA-1, 6 digits, 30-second steps, ±1 step.
//!
//! The time is always an argument, so the RFC's test vectors are plain unit tests.

use std::fmt;

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const DIGITS: u8 = 6;
pub const STEP_SECONDS: u64 = 30;
/// Steps of clock drift accepted either side of now.
pub const SKEW: u64 = 1;
pub const SECRET_BYTES: usize = 20;

/// A 160-bit shared secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn from_random(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(bytes.to_vec())
    }

    /// What comes back from storage; at least 128 bits as RFC 4226 asks.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= 16).then_some(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// For typing into an authenticator app by hand.
    pub fn base32(&self) -> String {
        Secret::new(self.0.clone().into_boxed_slice()).to_base32()
    }

    fn totp(&self, digits: u8, issuer: Option<&str>, account: &str) -> Result<Totp, String> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_skew(SKEW as u16)
            .with_step_duration(STEP_SECONDS)
            .with_secret(Secret::new(self.0.clone().into_boxed_slice()))
            .with_account_name(account)
            .with_issuer(issuer)
            .build()
            .map_err(|e| e.to_string())
    }

    /// `otpauth://totp/Issuer:account?secret=...&issuer=Issuer` for the QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<String, String> {
        let issuer = issuer.replace(':', "");
        let account = account.replace(':', "");
        self.totp(DIGITS, Some(&issuer), &account)?.to_url().map_err(|e| e.to_string())
    }

    /// The code for one time step (used by tests and by nothing else).
    pub fn code_at(&self, unix_time: u64, digits: u8) -> Result<String, String> {
        Ok(self.totp(digits, None, "")?.generate(unix_time).to_string())
    }

    /// The step `code` belongs to, if it is valid within the drift window at `unix_time`
    /// and newer than `last_used_step`. A step is accepted once: the caller stores it
    /// and passes it back, which is what makes a code unusable a second time.
    pub fn verify(&self, code: &str, unix_time: u64, last_used_step: Option<u64>) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp(DIGITS, None, "").ok()?;
        let now_step = unix_time / STEP_SECONDS;
        let mut matched = None;
        // Every candidate is computed and compared, so timing does not tell which step matched.
        for step in now_step.saturating_sub(SKEW)..=now_step + SKEW {
            let expected = totp.generate(step * STEP_SECONDS).to_string();
            let fresh = last_used_step.is_none_or(|last| step > last);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && fresh && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vectors() {
        let s = rfc_secret();
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, code) in vectors {
            assert_eq!(s.code_at(time, 8).unwrap(), code, "t={time}");
        }
    }

    #[test]
    fn a_code_is_accepted_within_one_step_of_drift_only() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let code = s.code_at(t, 6).unwrap();
        assert_eq!(s.verify(&code, t, None), Some(t / 30));
        assert_eq!(s.verify(&code, t + 30, None), Some(t / 30));
        assert_eq!(s.verify(&code, t - 30, None), Some(t / 30));
        assert_eq!(s.verify(&code, t + 60, None), None);
        assert_eq!(s.verify(&code, t - 60, None), None);
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let code = s.code_at(t, 6).unwrap();
        let step = s.verify(&code, t, None).unwrap();
        assert_eq!(s.verify(&code, t, Some(step)), None);
        assert_eq!(s.verify(&code, t + 30, Some(step)), None);
        let next = s.code_at(t + 30, 6).unwrap();
        assert_eq!(s.verify(&next, t + 30, Some(step)), Some(step + 1));
    }

    #[test]
    fn malformed_codes_are_refused() {
        let s = rfc_secret();
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5"] {
            assert_eq!(s.verify(bad, 59, None), None, "{bad:?}");
        }
        let code = s.code_at(59, 6).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(s.verify(&spaced, 59, None).is_some(), "spaces as apps show them are fine");
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let s = TotpSecret::from_random([7; 20]);
        let uri = s.otpauth_uri("Latchkey", "ada@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Latchkey:ada%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", s.base32())), "{uri}");
        assert!(uri.contains("issuer=Latchkey"), "{uri}");
        let parsed = Totp::from_url(&uri).unwrap();
        assert_eq!(parsed.digits(), 6);
        assert_eq!(parsed.step(), 30);
        assert_eq!(s.base32().len(), 32);
    }

    #[test]
    fn short_secrets_are_refused_and_debug_is_redacted() {
        assert!(TotpSecret::from_bytes(vec![1; 10]).is_none());
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret(<redacted>)");
    }
}
