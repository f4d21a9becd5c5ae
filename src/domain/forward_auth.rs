//! What another app may require of a session before its proxy lets a request through
//! (`GET /auth/verify?mfa=true&phishing_resistant=true&max_age=SECONDS`), judged against
//! how the session was proven. An API token has proven nothing of the kind: it meets none
//! of these requirements.

use chrono::{DateTime, Duration, Utc};

use super::proof::{Amr, Method};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Two distinct factors (`mfa` in `amr`).
    pub mfa: bool,
    /// A security key or passkey (`hwk` in `amr`).
    pub phishing_resistant: bool,
    /// The latest proof no older than this.
    pub max_age: Option<Duration>,
}

/// The first requirement the proof does not meet, as RFC 9470's `error_description`.
pub fn unmet(req: &Requirements, proof: Option<(&Amr, DateTime<Utc>)>, now: DateTime<Utc>) -> Option<&'static str> {
    let amr = proof.map(|(amr, _)| amr);
    if req.mfa && !amr.is_some_and(Amr::is_multi_factor) {
        return Some("a second factor is required");
    }
    if req.phishing_resistant && !amr.is_some_and(|a| a.has(Method::Hwk)) {
        return Some("a security key or passkey is required");
    }
    if let Some(max_age) = req.max_age {
        match proof {
            Some((_, at)) if now - at <= max_age => {}
            _ => return Some("a more recent sign-in is required"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Method::*;
    use super::*;

    #[test]
    fn each_requirement_asks_for_its_own_proof() {
        let now = Utc::now();
        let password = Amr::of(&[Pwd]);
        let with_code = Amr::of(&[Pwd, Otp]);
        let passkey = Amr::of(&[Hwk, User]);
        let mfa = Requirements { mfa: true, ..Requirements::default() };
        let hwk = Requirements { phishing_resistant: true, ..Requirements::default() };
        let fresh = Requirements { max_age: Some(Duration::minutes(5)), ..Requirements::default() };
        assert_eq!(unmet(&Requirements::default(), None, now), None, "no requirement: any credential");
        assert!(unmet(&mfa, Some((&password, now)), now).is_some());
        assert_eq!(unmet(&mfa, Some((&with_code, now)), now), None);
        assert!(unmet(&hwk, Some((&with_code, now)), now).is_some(), "a TOTP code can be phished");
        assert_eq!(unmet(&hwk, Some((&passkey, now)), now), None);
        assert_eq!(unmet(&fresh, Some((&password, now - Duration::minutes(5))), now), None);
        assert!(unmet(&fresh, Some((&password, now - Duration::minutes(6))), now).is_some());
        for req in [mfa, hwk, fresh] {
            assert!(unmet(&req, None, now).is_some(), "an API token meets none: {req:?}");
        }
    }
}
