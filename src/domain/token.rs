//! Bearer tokens and the random bytes every secret starts from: minted, parsed, and
//! stored only as hashes.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What a bearer token is for; the prefix lets secret scanners and people tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    TrustedDevice,
    Mfa,
    ApiToken,
    /// The cookie that ties a provider sign-in to the browser that started it.
    OAuthBrowser,
    /// What a CLI or desktop app polls with while a person approves it (RFC 8628).
    DeviceCode,
    /// The link that confirms an email address (sign-up, resend, change).
    EmailVerification,
    /// The link that sets a new password.
    PasswordReset,
    /// The "this wasn't me" link of an alert.
    AccountLock,
    /// The secret an app introspects tokens with (`latchkey client add`).
    ClientSecret,
    /// The link of a workspace invitation.
    Invitation,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Session => "lk_ses_",
            Self::TrustedDevice => "lk_dev_",
            Self::Mfa => "lk_mfa_",
            Self::ApiToken => "lk_pat_",
            Self::OAuthBrowser => "lk_oab_",
            Self::DeviceCode => "lk_dvc_",
            Self::EmailVerification => "lk_eml_",
            Self::PasswordReset => "lk_rst_",
            Self::AccountLock => "lk_lck_",
            Self::ClientSecret => "lk_cli_",
            Self::Invitation => "lk_inv_",
        }
    }
}

/// The operating system's random source could not be read (nothing to retry: it is the
/// kernel's CSPRNG).
#[derive(Debug, thiserror::Error)]
#[error("the OS random source failed: {0}")]
pub struct RandomUnavailable(String);

/// `N` bytes from the operating system's CSPRNG: every secret here starts with this.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomUnavailable(e.to_string()))?;
    Ok(bytes)
}

/// A freshly minted or presented secret token. It is only ever stored as its [`TokenHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// 256 random bits from the operating system, base64url with a kind prefix.
    pub fn generate(kind: TokenKind, random: [u8; 32]) -> Self {
        Self(format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(random)))
    }

    /// A new token of `kind`: 256 bits from the operating system's CSPRNG.
    pub fn mint(kind: TokenKind) -> Result<Self, RandomUnavailable> {
        Ok(Self::generate(kind, random_bytes()?))
    }

    /// Accepts what a client sends back; anything not shaped like one of ours is refused
    /// before it costs a database lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() > 128
            || raw.is_empty()
            || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return None;
        }
        Some(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is(&self, kind: TokenKind) -> bool {
        self.0.starts_with(kind.prefix())
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// SHA-256 of a token, hex encoded. A plain hash is enough: the token has 256 bits of
/// entropy, so unlike a password it cannot be guessed from its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_carry_their_prefix_and_parse_back() {
        let t = SecretToken::generate(TokenKind::Session, [7; 32]);
        assert!(t.expose().starts_with("lk_ses_"));
        assert_eq!(t.expose().len(), 7 + 43);
        assert_eq!(SecretToken::parse(t.expose()), Some(t));
    }

    #[test]
    fn hashes_are_stable_and_differ_per_token() {
        let a = SecretToken::generate(TokenKind::Session, [1; 32]);
        let b = SecretToken::generate(TokenKind::Session, [2; 32]);
        assert_eq!(a.hash(), a.clone().hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(!a.hash().as_str().contains(a.expose()));
    }

    #[test]
    fn garbage_is_not_a_token() {
        for bad in ["", "a b", "tok;en", &"x".repeat(200), "ünïcode"] {
            assert!(SecretToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let t = SecretToken::generate(TokenKind::ApiToken, [9; 32]);
        assert!(!format!("{t:?}").contains(&t.expose()[8..]));
    }
}
