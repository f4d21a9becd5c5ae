//! How a session was proven: the RFC 8176 authentication methods (`amr`) of each session,
//! and when the latest proof happened (`auth_time`). Set by every way in, raised by a
//! re-authentication or a step-up, carried over by a device sign-in.

use std::collections::BTreeSet;

/// One RFC 8176 method as Latchkey proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// A password.
    Pwd,
    /// A one-time code: TOTP or a backup code.
    Otp,
    /// A hardware-bound key: a security key or a passkey.
    Hwk,
    /// The authenticator verified the user (a passkey's PIN or biometric).
    User,
    /// An OAuth / OpenID Connect provider.
    Fed,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Otp => "otp",
            Self::Hwk => "hwk",
            Self::User => "user",
            Self::Fed => "fed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pwd" => Self::Pwd,
            "otp" => Self::Otp,
            "hwk" => Self::Hwk,
            "user" => Self::User,
            "fed" => Self::Fed,
            _ => return None,
        })
    }

    /// The kind of factor: two methods of one kind are still one factor.
    fn factor(self) -> u8 {
        match self {
            Self::Pwd => 0,
            Self::Otp | Self::Hwk => 1,
            Self::User => 2,
            Self::Fed => 3,
        }
    }
}

/// The methods a session proved. `mfa` is not stored: it follows from two distinct factors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amr(BTreeSet<Method>);

impl Amr {
    pub fn of(methods: &[Method]) -> Self {
        Self(methods.iter().copied().collect())
    }

    /// A re-authentication or step-up adds what it proved.
    pub fn with(mut self, more: &[Method]) -> Self {
        self.0.extend(more.iter().copied());
        self
    }

    pub fn is_multi_factor(&self) -> bool {
        self.0.iter().map(|m| m.factor()).collect::<BTreeSet<_>>().len() >= 2
    }

    pub fn has(&self, method: Method) -> bool {
        self.0.contains(&method)
    }

    /// The RFC 8176 values, `mfa` last when it applies: `["pwd", "otp", "mfa"]`.
    pub fn values(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self.0.iter().map(|m| m.as_str()).collect();
        if self.is_multi_factor() {
            out.push("mfa");
        }
        out
    }

    /// As stored: the methods, comma-separated (no `mfa`).
    pub fn stored(&self) -> String {
        self.0.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
    }

    /// From storage; `None` for a value the schema should not hold.
    pub fn parse_stored(s: &str) -> Option<Self> {
        if s.is_empty() {
            return Some(Self::default());
        }
        s.split(',').map(Method::parse).collect::<Option<BTreeSet<_>>>().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::Method::*;
    use super::*;

    #[test]
    fn two_distinct_factors_make_mfa_and_one_kind_twice_does_not() {
        assert_eq!(Amr::of(&[Pwd]).values(), ["pwd"]);
        assert_eq!(Amr::of(&[Pwd, Otp]).values(), ["pwd", "otp", "mfa"]);
        assert_eq!(Amr::of(&[Pwd, Hwk]).values(), ["pwd", "hwk", "mfa"]);
        assert_eq!(Amr::of(&[Hwk, User]).values(), ["hwk", "user", "mfa"], "a passkey with user verification");
        assert_eq!(Amr::of(&[Fed]).values(), ["fed"], "a provider alone is one factor");
        assert_eq!(Amr::of(&[Fed, Otp]).values(), ["otp", "fed", "mfa"]);
        assert_eq!(Amr::of(&[Otp, Hwk]).values(), ["otp", "hwk"], "two things you have are one factor");
    }

    #[test]
    fn a_re_authentication_adds_its_method() {
        let raised = Amr::of(&[Pwd]).with(&[Otp]);
        assert!(raised.is_multi_factor() && raised.has(Otp));
    }

    #[test]
    fn stored_form_round_trips_and_refuses_strangers() {
        for amr in [Amr::default(), Amr::of(&[Pwd]), Amr::of(&[Hwk, User]), Amr::of(&[Fed, Otp, Pwd])] {
            assert_eq!(Amr::parse_stored(&amr.stored()), Some(amr.clone()));
        }
        assert_eq!(Amr::parse_stored("pwd,mfa"), None);
        assert_eq!(Amr::parse_stored("pwd,"), None);
    }
}
