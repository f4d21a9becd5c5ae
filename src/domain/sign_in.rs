//! The words of login history: how a sign-in was attempted and why one failed, as the
//! contract spells them.

use std::fmt;

use chrono::{DateTime, Utc};

use super::device::DeviceKind;
use super::location::Location;
use super::oauth::ProviderId;
use super::proof;

/// How the first step of a sign-in was passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    /// Through an OpenID provider: `oauth:<id>`.
    Provider(ProviderId),
    /// A device sign-in (RFC 8628) approved in a signed-in browser.
    Device,
    /// A passkey with user verification: both factors at once.
    Passkey,
}

impl SignInMethod {
    /// What passing this way in proves (RFC 8176): a device sign-in proves nothing of its
    /// own, it carries its approver's proof.
    pub fn proves(&self) -> &'static [proof::Method] {
        match self {
            Self::Password => &[proof::Method::Pwd],
            Self::Provider(_) => &[proof::Method::Fed],
            Self::Passkey => &[proof::Method::Hwk, proof::Method::User],
            Self::Device => &[],
        }
    }

    /// As stored (a second step reads it back from its challenge row).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "password" => Some(Self::Password),
            "device" => Some(Self::Device),
            "passkey" => Some(Self::Passkey),
            _ => text.strip_prefix("oauth:").and_then(|id| ProviderId::parse(id).ok()).map(Self::Provider),
        }
    }
}

impl fmt::Display for SignInMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password => f.write_str("password"),
            Self::Provider(id) => write!(f, "oauth:{}", id.as_str()),
            Self::Device => f.write_str("device"),
            Self::Passkey => f.write_str("passkey"),
        }
    }
}

/// Whether a successful sign-in is from a device not seen before (and alerted). Only what
/// the server observed decides: a trusted-device token issued to the account before
/// (`recognised`), or an earlier successful sign-in with the same user agent from the same
/// network (`seen_before`). An account's very first sign-in is not news.
pub fn is_new_device(recognised: bool, signed_in_before: bool, seen_before: bool) -> bool {
    !recognised && signed_in_before && !seen_before
}

/// Why a sign-in attempt failed (login history's `failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    InvalidPassword,
    InvalidCode,
    /// A passkey's assertion did not verify (or its counter went backwards).
    InvalidPasskey,
    RateLimited,
    /// A provider vouched for the address without having verified it.
    EmailUnverified,
    /// The account is disabled by an operator; the caller is told only "invalid credentials".
    Disabled,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPassword => "invalid_password",
            Self::InvalidCode => "invalid_code",
            Self::InvalidPasskey => "invalid_passkey",
            Self::RateLimited => "rate_limited",
            Self::EmailUnverified => "email_unverified",
            Self::Disabled => "disabled",
        }
    }
}

/// One sign-in attempt on a known account: what login history keeps.
#[derive(Debug, Clone)]
pub struct SignInAttempt {
    pub user_id: String,
    pub at: DateTime<Utc>,
    pub success: bool,
    pub ip: String,
    pub user_agent: Option<String>,
    pub device_kind: DeviceKind,
    pub location: Location,
    pub mfa_challenged: bool,
    pub method: String,
    pub failure: Option<String>,
}

/// A stored attempt, as it is read back.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    pub id: String,
    pub event: SignInAttempt,
}

#[cfg(test)]
mod new_device_tests {
    use super::is_new_device;

    #[test]
    fn only_an_unrecognised_device_unseen_on_its_network_after_a_first_sign_in_is_news() {
        assert!(is_new_device(false, true, false));
        assert!(!is_new_device(true, true, false), "a trusted-device token vouched for it");
        assert!(!is_new_device(false, false, false), "the account's first sign-in");
        assert!(!is_new_device(false, true, true), "this user agent signed in from this network before");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_read_back_as_they_were_written() {
        let provider = SignInMethod::Provider(ProviderId::parse("google").unwrap());
        for method in [SignInMethod::Password, provider, SignInMethod::Device, SignInMethod::Passkey] {
            assert_eq!(SignInMethod::parse(&method.to_string()), Some(method));
        }
        assert_eq!(SignInMethod::Password.to_string(), "password");
        assert_eq!(SignInMethod::parse("oauth:Bad/Id"), None);
        assert_eq!(SignInMethod::parse("magic"), None);
    }

    #[test]
    fn failure_reasons_are_the_contracts_words() {
        assert_eq!(FailureReason::InvalidPassword.as_str(), "invalid_password");
        assert_eq!(FailureReason::RateLimited.as_str(), "rate_limited");
    }
}
