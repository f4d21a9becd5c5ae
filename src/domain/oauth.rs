//! Sign-in through an OpenID provider: which account the provider's answer opens.
//!
//! The rule that matters: a provider's subject, once linked, is the account; before
//! that, only an email the provider has VERIFIED may find or make one. Linking on an
//! unverified email would hand an existing account to whoever typed its address at a
//! provider that does not check.

use super::email::Email;

/// A configured provider's id: the `{provider}` of the routes and of `oauth:<provider>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("provider id {raw:?} must be 1-32 of a-z, 0-9, '-' and '_', starting with a letter or digit"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the provider vouched for, from its validated ID token (and userinfo).
#[derive(Debug, Clone)]
pub struct ProviderClaims {
    pub subject: String,
    /// As the provider gave it; `None` when absent.
    pub email: Option<String>,
    pub email_verified: bool,
}

/// What to do with the answer for a subject not linked yet (a linked one simply opens
/// its account).
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// An account has this verified email: link the subject to it, then sign in.
    Link {
        user_id: String,
        email: Email,
    },
    /// Nobody has this verified email: a new account without a password.
    Create {
        email: Email,
    },
    Refuse(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No email at all (the provider withheld the `email` scope).
    EmailMissing,
    /// An email that is not an email.
    EmailInvalid,
    EmailUnverified,
    SignupClosed,
}

/// The verified email the provider vouches for, or why there is none to go by.
pub fn verified_email(claims: &ProviderClaims) -> Result<Email, Refusal> {
    let raw = claims.email.as_deref().ok_or(Refusal::EmailMissing)?;
    let email = Email::parse(raw).map_err(|_| Refusal::EmailInvalid)?;
    if claims.email_verified { Ok(email) } else { Err(Refusal::EmailUnverified) }
}

/// Link by verified email, or create, or refuse.
pub fn by_email(email: Email, account_with_email: Option<&str>, signup_open: bool) -> Decision {
    match account_with_email {
        Some(id) => Decision::Link { user_id: id.to_owned(), email },
        None if signup_open => Decision::Create { email },
        None => Decision::Refuse(Refusal::SignupClosed),
    }
}

/// Why a sign-in through a provider ended without a session; each is a page of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("This sign-in link is unknown, expired or was already used. Start again from the sign-in page.")]
    StateInvalid,
    #[error(
        "This sign-in was started in another browser. For your safety it can only finish where it began: start again from the sign-in page here."
    )]
    OtherBrowser,
    #[error("{provider} did not sign you in ({error}{}).", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ProviderError { provider: String, error: String, description: Option<String> },
    #[error("{provider} could not be reached. Try again in a moment.")]
    ProviderUnreachable { provider: String },
    #[error("{provider} answered with something that did not pass our checks, so you were not signed in.")]
    InvalidAnswer { provider: String },
    #[error("{provider} did not share your email address, which is needed to find your account.")]
    EmailMissing { provider: String },
    #[error(
        "{provider} has not verified your email address, so it cannot be used to sign in here. Verify it with {provider} first, or sign in with your password."
    )]
    EmailUnverified { provider: String },
    #[error("Your account is already linked to a different {provider} account.")]
    LinkedElsewhere { provider: String },
}

impl Refusal {
    pub fn failure(self, provider: &str) -> Option<Failure> {
        let provider = provider.to_owned();
        match self {
            Self::EmailMissing => Some(Failure::EmailMissing { provider }),
            Self::EmailInvalid => Some(Failure::InvalidAnswer { provider }),
            Self::EmailUnverified => Some(Failure::EmailUnverified { provider }),
            // Sign-up being closed is not the provider's doing: the caller says so itself.
            Self::SignupClosed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(email: Option<&str>, verified: bool) -> ProviderClaims {
        ProviderClaims { subject: "sub-1".into(), email: email.map(str::to_owned), email_verified: verified }
    }

    #[test]
    fn only_a_verified_email_counts() {
        assert_eq!(verified_email(&claims(Some("a@example.com"), false)), Err(Refusal::EmailUnverified));
        assert_eq!(verified_email(&claims(None, true)), Err(Refusal::EmailMissing));
        assert_eq!(verified_email(&claims(Some("not an email"), true)), Err(Refusal::EmailInvalid));
        let email = verified_email(&claims(Some("A@Example.com"), true)).expect("verified");
        assert_eq!(email.as_str(), "a@example.com");
    }

    #[test]
    fn a_verified_email_links_an_existing_account_or_makes_one() {
        let email = || Email::parse("a@example.com").expect("email");
        assert_eq!(by_email(email(), Some("u1"), false), Decision::Link { user_id: "u1".into(), email: email() });
        assert_eq!(by_email(email(), None, true), Decision::Create { email: email() });
        assert_eq!(by_email(email(), None, false), Decision::Refuse(Refusal::SignupClosed));
    }

    #[test]
    fn provider_ids_are_safe_in_urls_and_history() {
        assert_eq!(ProviderId::parse("google").expect("id").as_str(), "google");
        assert!(ProviderId::parse("corp-sso_2").is_ok());
        for bad in ["", "Google", "a/b", "-x", "x y", &"a".repeat(33)] {
            assert!(ProviderId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
