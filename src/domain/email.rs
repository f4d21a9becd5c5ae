//! Email addresses, parsed and normalised at the edge.

use std::fmt;

/// An email address, trimmed and lower-cased so that one person has one account.
///
/// The check is deliberately shallow (one `@`, a dotted domain, no spaces): the only
/// real proof that an address works is mail reaching it, which is not Latchkey's job.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("email is empty".into());
        }
        if s.len() > 254 {
            return Err("email is longer than 254 characters".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("email contains whitespace".into());
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("email has no @".into());
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err("email is not of the form name@domain".into());
        }
        let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-'));
        if !domain.contains('.') || !labels_ok {
            return Err("email domain is not valid".into());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let e = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada@example.com");
        assert_eq!(e.local_part(), "ada");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn rejects_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
