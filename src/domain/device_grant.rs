//! The OAuth 2.0 device authorization grant (RFC 8628) as rules: the user code people
//! type, how long a grant lives, and what a poll is answered.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

/// RFC 8628 §6.1: consonants only (no vowels, so no words), no look-alikes.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const LENGTH: usize = 8;
/// How long a grant waits for approval.
pub const LIFETIME: Duration = Duration::minutes(10);
/// The poll interval a client starts with, in seconds; `slow_down` adds `SLOW_DOWN_STEP`.
pub const INTERVAL_SECS: i64 = 5;
pub const SLOW_DOWN_STEP: i64 = 5;

/// An 8-letter user code, held without its dash: `BDFG-HJKL` is `BDFGHJKL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// Eight letters from `ALPHABET`, uniform: bytes are drawn from `random` and those
    /// at or above 240 (the largest multiple of 20 under 256) are skipped.
    pub fn from_random(random: impl IntoIterator<Item = u8>) -> Option<Self> {
        let code: String = random
            .into_iter()
            .filter(|b| *b < 240)
            .map(|b| char::from(ALPHABET[usize::from(b % 20)]))
            .take(LENGTH)
            .collect();
        (code.len() == LENGTH).then_some(Self(code))
    }

    /// What a person typed: any case, with or without the dash or spaces.
    pub fn parse(input: &str) -> Option<Self> {
        let code: String =
            input.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).map(|c| c.to_ascii_uppercase()).collect();
        let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
        valid.then_some(Self(code))
    }

    /// Without the dash, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserCode {
    /// `XXXX-XXXX`, as shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.0.split_at(LENGTH / 2);
        write!(f, "{a}-{b}")
    }
}

/// Where a grant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    Pending,
    Approved,
    Denied,
    /// Approved and its session handed out: the device code is spent.
    Issued,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Issued].into_iter().find(|g| g.as_str() == s)
    }
}

/// What a poll of `POST /auth/device/token` is answered (the RFC's error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollAnswer {
    /// Hand out the session (the caller must still win the grant: once only).
    Issue,
    AuthorizationPending,
    SlowDown,
    AccessDenied,
    ExpiredToken,
    /// Already issued: the device code is no longer valid.
    InvalidGrant,
}

/// The answer to a poll at `now` of a grant in `status` that expires at `expires_at`, was
/// last polled at `last_poll` and asks for `interval_secs` between polls. A poll too soon
/// is `SlowDown` whatever the grant's state, as the RFC has it.
pub fn answer_poll(
    status: GrantStatus,
    expires_at: DateTime<Utc>,
    last_poll: Option<DateTime<Utc>>,
    interval_secs: i64,
    now: DateTime<Utc>,
) -> PollAnswer {
    if status == GrantStatus::Issued {
        return PollAnswer::InvalidGrant;
    }
    if now >= expires_at {
        return PollAnswer::ExpiredToken;
    }
    if last_poll.is_some_and(|t| now - t < Duration::seconds(interval_secs)) {
        return PollAnswer::SlowDown;
    }
    match status {
        GrantStatus::Pending => PollAnswer::AuthorizationPending,
        GrantStatus::Approved => PollAnswer::Issue,
        GrantStatus::Denied => PollAnswer::AccessDenied,
        GrantStatus::Issued => PollAnswer::InvalidGrant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_consonants_shown_with_a_dash() {
        let code = UserCode::from_random((0..=255u8).cycle().skip(3)).unwrap();
        assert_eq!(code.as_str().len(), 8);
        assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(code.to_string().len(), 9);
        assert_eq!(&code.to_string()[4..5], "-");
        // Bytes of 240 and above would favour the first letters; they are skipped.
        let skewed = UserCode::from_random([250, 245, 0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        assert_eq!(skewed.as_str(), "BCDFGHJK");
        assert_eq!(UserCode::from_random([255; 64]), None, "not enough usable bytes");
    }

    #[test]
    fn typed_codes_ignore_case_dashes_and_spaces_and_refuse_other_letters() {
        let want = UserCode::parse("BDFG-HJKL").unwrap();
        for typed in ["bdfghjkl", "bdfg-hjkl", " BDFG HJKL ", "BdFg-HjKl"] {
            assert_eq!(UserCode::parse(typed).as_ref(), Some(&want), "{typed}");
        }
        for bad in ["", "BDFG-HJK", "BDFG-HJKLM", "AEIO-UYBC", "BDFG-HJK1", "BDFG_HJKL"] {
            assert_eq!(UserCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn polls_follow_rfc_8628() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let exp = t0 + LIFETIME;
        let s = |n| t0 + Duration::seconds(n);
        use GrantStatus::*;
        assert_eq!(answer_poll(Pending, exp, None, 5, s(0)), PollAnswer::AuthorizationPending);
        assert_eq!(answer_poll(Pending, exp, Some(s(0)), 5, s(4)), PollAnswer::SlowDown);
        assert_eq!(answer_poll(Pending, exp, Some(s(0)), 5, s(5)), PollAnswer::AuthorizationPending);
        assert_eq!(answer_poll(Approved, exp, Some(s(0)), 5, s(6)), PollAnswer::Issue);
        assert_eq!(answer_poll(Approved, exp, Some(s(0)), 5, s(1)), PollAnswer::SlowDown);
        assert_eq!(answer_poll(Denied, exp, None, 5, s(6)), PollAnswer::AccessDenied);
        assert_eq!(answer_poll(Approved, exp, None, 5, exp), PollAnswer::ExpiredToken);
        assert_eq!(answer_poll(Issued, exp, None, 5, s(6)), PollAnswer::InvalidGrant);
        assert_eq!(GrantStatus::parse("issued"), Some(Issued));
        assert_eq!(GrantStatus::parse("nope"), None);
    }
}
