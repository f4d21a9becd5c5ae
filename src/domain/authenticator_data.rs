//! The flags byte of WebAuthn authenticator data (W3C WebAuthn §6.1): read before an
//! assertion is verified, so that a synced passkey whose backup eligibility changed after
//! registration is checked against what it says now instead of being refused outright.
//! The signature still covers these bytes; webauthn-rs verifies it.

/// Offset of the flags byte: it follows the 32-byte RP id hash.
const FLAGS_AT: usize = 32;
/// The shortest authenticator data: RP id hash, flags, 4-byte counter.
const MIN_LEN: usize = 37;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticatorFlags {
    pub user_present: bool,
    pub user_verified: bool,
    /// BE: the credential may be synced to other devices (a multi-device passkey).
    pub backup_eligible: bool,
    /// BS: it is synced now.
    pub backed_up: bool,
}

impl AuthenticatorFlags {
    /// `None` when the data is too short to be authenticator data.
    pub fn read(authenticator_data: &[u8]) -> Option<Self> {
        if authenticator_data.len() < MIN_LEN {
            return None;
        }
        let flags = authenticator_data[FLAGS_AT];
        Some(Self {
            user_present: flags & 0x01 != 0,
            user_verified: flags & 0x04 != 0,
            backup_eligible: flags & 0x08 != 0,
            backed_up: flags & 0x10 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(flags: u8) -> Vec<u8> {
        let mut d = vec![0xAA; 32];
        d.push(flags);
        d.extend_from_slice(&[0, 0, 0, 7]);
        d
    }

    #[test]
    fn each_flag_is_its_own_bit() {
        let all = AuthenticatorFlags::read(&data(0x1D)).unwrap();
        assert_eq!(
            all,
            AuthenticatorFlags { user_present: true, user_verified: true, backup_eligible: true, backed_up: true }
        );
        let presence_only = AuthenticatorFlags::read(&data(0x01)).unwrap();
        assert!(presence_only.user_present && !presence_only.user_verified);
        assert!(!presence_only.backup_eligible && !presence_only.backed_up);
        // Attested credential data (0x40) and extensions (0x80) are not these flags.
        assert!(!AuthenticatorFlags::read(&data(0xC0)).unwrap().backup_eligible);
    }

    #[test]
    fn short_data_is_not_read() {
        assert_eq!(AuthenticatorFlags::read(&[0; 36]), None);
        assert_eq!(AuthenticatorFlags::read(&[]), None);
    }
}
