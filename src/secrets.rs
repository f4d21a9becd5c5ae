//! The server's secret key and what is derived from it.
//!
//! One 256-bit master key (from `LATCHKEY_SECRET_KEY`, or generated once into the data
//! dir with mode 0600) is split by HKDF into a key that encrypts TOTP secrets
//! (XChaCha20-Poly1305, bound to their account), a key that MACed backup codes before they
//! were slow-hashed, and the CSRF key, so a database dump alone reveals none of them.
//!
//! `LATCHKEY_SECRET_KEY` may list several keys, comma-separated, to rotate: the first
//! seals, every one opens, and `latchkey secret-key reencrypt` moves what the others
//! sealed to the first, after which they can be dropped.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::token::random_bytes;
use crate::domain::totp::TotpSecret;

const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

pub struct Secrets {
    /// One per key, the sealing one first.
    ciphers: Vec<XChaCha20Poly1305>,
    code_mac_keys: Vec<[u8; 32]>,
    csrf_key: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
#[error("a sealed value could not be opened: wrong key or corrupted data")]
pub struct OpenError;

impl Secrets {
    /// Derives the keys; an error (which HKDF gives only past 255 × 32 bytes) stops
    /// start-up rather than leave a key at zero.
    pub fn from_master_key(master: &[u8; 32]) -> anyhow::Result<Self> {
        Self::from_master_keys(&[*master])
    }

    /// The keys of a rotation: the first seals, every one opens.
    pub fn from_master_keys(masters: &[[u8; 32]]) -> anyhow::Result<Self> {
        let mut ciphers = Vec::with_capacity(masters.len());
        let mut code_mac_keys = Vec::with_capacity(masters.len());
        let mut csrf_key = None;
        for master in masters {
            let hk = Hkdf::<Sha256>::new(Some(b"latchkey"), master);
            let derive = |info: &[u8]| -> anyhow::Result<[u8; 32]> {
                let mut key = [0u8; 32];
                hk.expand(info, &mut key).map_err(|e| anyhow::anyhow!("key derivation failed: {e}"))?;
                Ok(key)
            };
            ciphers.push(XChaCha20Poly1305::new(&Key::from(derive(b"totp-secret-encryption v1")?)));
            code_mac_keys.push(derive(b"backup-code-mac v1")?);
            csrf_key = csrf_key.or(Some(derive(b"csrf-token v1")?));
        }
        let csrf_key = csrf_key.ok_or_else(|| anyhow::anyhow!("no secret key given"))?;
        Ok(Self { ciphers, code_mac_keys, csrf_key })
    }

    /// The keys from the environment (comma-separated, the sealing one first), else the
    /// one in the data dir (made on first use).
    pub fn load(from_env: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let masters = match from_env {
            Some(text) => text
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .enumerate()
                .map(|(i, k)| parse_key(k).map_err(|e| anyhow::anyhow!("LATCHKEY_SECRET_KEY (key {}) {e}", i + 1)))
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => vec![key_from_file(&data_dir.join(KEY_FILE))?],
        };
        Self::from_master_keys(&masters)
    }

    /// Encrypts `plaintext` for one row; `context` (the account id) must match on opening.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> anyhow::Result<String> {
        let nonce: [u8; NONCE_LEN] = random_bytes()?;
        let sealed = self.ciphers[0]
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Opens with whichever key sealed it.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, OpenError> {
        self.open_with_index(sealed, context).map(|(plain, _)| plain)
    }

    /// What `sealed` holds, if a key other than the sealing one sealed it: the value to
    /// seal again (`latchkey secret-key reencrypt`).
    pub fn sealed_by_older_key(&self, sealed: &str, context: &str) -> Result<Option<Vec<u8>>, OpenError> {
        let (plain, index) = self.open_with_index(sealed, context)?;
        Ok((index > 0).then_some(plain))
    }

    fn open_with_index(&self, sealed: &str, context: &str) -> Result<(Vec<u8>, usize), OpenError> {
        let raw = STANDARD.decode(sealed).map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError)?;
        let payload = || Payload { msg: body, aad: context.as_bytes() };
        self.ciphers
            .iter()
            .enumerate()
            .find_map(|(i, c)| c.decrypt(&XNonce::from(nonce), payload()).ok().map(|p| (p, i)))
            .ok_or(OpenError)
    }

    /// An authenticator's secret, sealed for its account.
    pub fn seal_totp(&self, secret: &TotpSecret, user_id: &str) -> anyhow::Result<String> {
        self.seal(secret.as_bytes(), user_id)
    }

    /// An authenticator's secret, opened; fails for another account's row or a wrong key.
    pub fn open_totp(&self, sealed: &str, user_id: &str) -> anyhow::Result<TotpSecret> {
        let bytes = self.open(sealed, user_id)?;
        TotpSecret::from_bytes(bytes).ok_or_else(|| anyhow::anyhow!("stored TOTP secret is too short"))
    }

    /// The keyed hashes of a normalised backup code under every key, the sealing key's
    /// first: codes stored before they were slow-hashed were stored as one of these.
    pub fn code_hashes(&self, user_id: &str, normalized_code: &str) -> Vec<String> {
        let message = [user_id.as_bytes(), b"\0", normalized_code.as_bytes()];
        self.code_mac_keys.iter().map(|key| mac_hex(key, &message)).collect()
    }

    /// The anti-forgery token of a browser session: stable for the session, unguessable
    /// without the server key, so forms carry it without storing anything.
    pub fn csrf_token(&self, session_id: &str) -> String {
        mac_hex(&self.csrf_key, &[session_id.as_bytes()])
    }

    pub fn csrf_token_matches(&self, session_id: &str, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        !presented.is_empty() && bool::from(self.csrf_token(session_id).as_bytes().ct_eq(presented.as_bytes()))
    }
}

fn mac_hex(key: &[u8; 32], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length, so this cannot fail; if it ever did, the request
    // fails (a panic is a 500) rather than hand out an empty token or MAC that would
    // match another empty one.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// 64 hex digits or base64 of 32 bytes.
fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes =
        hex::decode(text).or_else(|_| STANDARD.decode(text)).map_err(|_| "is neither hex nor base64".to_owned())?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("must be 32 bytes, got {}", b.len()))
}

fn key_from_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = random_bytes()?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut f) => {
                    f.write_all(hex::encode(key).as_bytes())?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => key_from_file(path),
                Err(e) => Err(anyhow::anyhow!("cannot create {}: {e}", path.display())),
            }
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let a = Secrets::from_master_key(&[1; 32]).unwrap();
        let b = Secrets::from_master_key(&[2; 32]).unwrap();
        let sealed = a.seal(b"totp secret", "user-1").unwrap();
        assert_eq!(a.open(&sealed, "user-1").unwrap(), b"totp secret");
        assert!(a.open(&sealed, "user-2").is_err(), "bound to its account");
        assert!(b.open(&sealed, "user-1").is_err(), "another key cannot open it");
        assert!(!sealed.contains("totp"));
        assert_ne!(a.seal(b"totp secret", "user-1").unwrap(), sealed, "fresh nonce each time");
    }

    #[test]
    fn code_hashes_depend_on_key_account_and_code() {
        let a = Secrets::from_master_key(&[1; 32]).unwrap();
        let b = Secrets::from_master_key(&[2; 32]).unwrap();
        let h = a.code_hashes("u1", "abcdefghjk")[0].clone();
        assert_eq!(h, a.code_hashes("u1", "abcdefghjk")[0]);
        assert_ne!(h, a.code_hashes("u2", "abcdefghjk")[0]);
        assert_ne!(h, a.code_hashes("u1", "abcdefghjm")[0]);
        assert_ne!(h, b.code_hashes("u1", "abcdefghjk")[0]);
    }

    #[test]
    fn csrf_tokens_are_per_session_and_checked() {
        let a = Secrets::from_master_key(&[1; 32]).unwrap();
        let t = a.csrf_token("s1");
        assert!(a.csrf_token_matches("s1", &t));
        assert!(!a.csrf_token_matches("s2", &t));
        assert!(!a.csrf_token_matches("s1", ""));
        assert!(!Secrets::from_master_key(&[2; 32]).unwrap().csrf_token_matches("s1", &t));
    }

    #[test]
    fn keys_parse_from_hex_or_base64_of_32_bytes() {
        assert_eq!(parse_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert_eq!(parse_key(&STANDARD.encode([7u8; 32])).unwrap(), [7; 32]);
        assert!(parse_key("abcd").is_err());
        assert!(parse_key("not a key!").is_err());
    }

    #[test]
    fn a_generated_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(KEY_FILE);
        let first = key_from_file(&path).unwrap();
        assert_eq!(key_from_file(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
