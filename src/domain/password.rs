//! The password policy: length, character classes, common passwords, the email, and
//! history.

use std::fmt;

use serde::Serialize;

use super::email::Email;

pub const MIN_LENGTH: usize = 12;
/// The minimum when no composition rule applies (NIST SP 800-63B rev 4, 3.1.1.2).
pub const MIN_LENGTH_WITHOUT_COMPOSITION: usize = 15;

/// Which rules a new password meets (`LATCHKEY_PASSWORD_RULES`). Both keep the blocklist,
/// the email, the history, the breached list and the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rules {
    /// SPEC.md's: 12 characters, a lowercase and an uppercase letter, a digit, a symbol.
    #[default]
    Classes,
    /// NIST SP 800-63B rev 4 (and ASVS 6.2.5): no composition rules, 15 characters.
    Length,
}

impl Rules {
    /// What the forms say the rules are.
    pub fn hint(self) -> &'static str {
        match self {
            Self::Classes => "At least 12 characters with a lowercase and an uppercase letter, a digit and a symbol",
            Self::Length => "At least 15 characters, any characters, spaces too",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "classes" => Some(Self::Classes),
            "length" => Some(Self::Length),
            _ => None,
        }
    }
}
/// Argon2 happily hashes megabytes; a cap keeps a single request from costing that.
pub const MAX_LENGTH: usize = 256;

/// A password as typed. `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(raw: String) -> Self {
        Self(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// One reason a new password is refused; serialised as the contract's snake_case codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    TooShort,
    /// Shorter than 15 characters, under the `length` rules (the same code).
    #[serde(rename = "too_short")]
    TooShortWithoutComposition,
    TooLong,
    MissingLowercase,
    MissingUppercase,
    MissingDigit,
    MissingSymbol,
    Reused,
    TooCommon,
    ContainsEmail,
    /// In the breached-password list (`latchkey breached import`).
    Breached,
}

impl Violation {
    pub fn describe(self) -> &'static str {
        match self {
            Self::TooShort => "must be at least 12 characters",
            Self::TooShortWithoutComposition => "must be at least 15 characters",
            Self::TooLong => "must be at most 256 characters",
            Self::MissingLowercase => "must contain a lowercase letter",
            Self::MissingUppercase => "must contain an uppercase letter",
            Self::MissingDigit => "must contain a digit",
            Self::MissingSymbol => "must contain a symbol",
            Self::Reused => "must not be one of your last 5 passwords",
            Self::TooCommon => "is too common or easy to guess",
            Self::ContainsEmail => "must not contain your email address",
            Self::Breached => "appears in a list of passwords exposed in data breaches",
        }
    }
}

/// The number of earlier passwords (the current one included) a new one may not repeat.
pub const HISTORY_DEPTH: usize = 5;

/// Every rule a password can break on its own, without the account's history.
/// Reuse needs the stored hashes and is checked by the caller.
pub fn check(password: &Password, email: &Email, rules: Rules) -> Vec<Violation> {
    let p = password.expose();
    let mut out = Vec::new();
    let len = p.chars().count();
    match rules {
        Rules::Classes if len < MIN_LENGTH => out.push(Violation::TooShort),
        Rules::Length if len < MIN_LENGTH_WITHOUT_COMPOSITION => out.push(Violation::TooShortWithoutComposition),
        _ => {}
    }
    if len > MAX_LENGTH {
        out.push(Violation::TooLong);
    }
    if rules == Rules::Classes {
        out.extend(missing_classes(p));
    }
    if contains_email(p, email) {
        out.push(Violation::ContainsEmail);
    }
    // zxcvbn is slow on very long inputs and meaningless on refused ones.
    if out.is_empty() && is_too_common(p, email) {
        out.push(Violation::TooCommon);
    }
    out
}

/// The character classes SPEC.md asks for that `p` lacks.
fn missing_classes(p: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    if !p.chars().any(char::is_lowercase) {
        out.push(Violation::MissingLowercase);
    }
    if !p.chars().any(char::is_uppercase) {
        out.push(Violation::MissingUppercase);
    }
    if !p.chars().any(|c| c.is_ascii_digit()) {
        out.push(Violation::MissingDigit);
    }
    if !p.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
        out.push(Violation::MissingSymbol);
    }
    out
}

fn contains_email(password: &str, email: &Email) -> bool {
    let lower = password.to_lowercase();
    let local = email.local_part();
    lower.contains(email.as_str()) || (local.chars().count() >= 4 && lower.contains(local))
}

/// zxcvbn score 2 means "somewhat guessable" (under 10^8 guesses). Rate limits stop an
/// online attack long before that, so only scores 0 and 1, dictionary words with the
/// usual decorations, are refused: `Password123!` is, `Tr0ub4dor&3x` is not.
fn is_too_common(password: &str, email: &Email) -> bool {
    let inputs = [email.as_str(), email.local_part()];
    (zxcvbn::zxcvbn(password, &inputs).score() as u8) < 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("ada.lovelace@example.com").unwrap()
    }

    fn violations(p: &str) -> Vec<Violation> {
        check(&Password::new(p.into()), &email(), Rules::Classes)
    }

    #[test]
    fn the_length_rules_ask_for_15_characters_and_no_classes_and_keep_the_blocklist() {
        let length = |p: &str| check(&Password::new(p.into()), &email(), Rules::Length);
        assert_eq!(length("correct horse battery"), vec![], "no composition rule");
        assert_eq!(length("Sh0rt!Pw-abc12"), vec![Violation::TooShortWithoutComposition], "14 characters");
        assert_eq!(length("passwordpassword"), vec![Violation::TooCommon]);
        assert_eq!(length("ada.lovelace@example.com!!"), vec![Violation::ContainsEmail]);
        assert_eq!(serde_json::to_value(Violation::TooShortWithoutComposition).unwrap(), "too_short");
        assert_eq!(violations("correct horse battery").len(), 3, "the classes rules still ask for classes");
    }

    #[test]
    fn a_strong_password_passes() {
        assert_eq!(violations("Correct-Horse-Battery-9"), vec![]);
        assert_eq!(violations("Tr0ub4dor&3xq"), vec![]);
    }

    #[test]
    fn each_rule_is_reported_on_its_own() {
        assert_eq!(violations("Sh0rt!Pw"), vec![Violation::TooShort]);
        assert_eq!(violations("NO-LOWER-CASE-HERE-9"), vec![Violation::MissingLowercase]);
        assert_eq!(violations("no-upper-case-here-9"), vec![Violation::MissingUppercase]);
        assert_eq!(violations("No-Digits-Anywhere-Here"), vec![Violation::MissingDigit]);
        assert_eq!(violations("NoSymbolsAnywhere9Here"), vec![Violation::MissingSymbol]);
        assert_eq!(violations("Password123!"), vec![Violation::TooCommon]);
        assert_eq!(violations("Ada.Lovelace-Rules-99"), vec![Violation::ContainsEmail]);
    }

    #[test]
    fn several_failures_are_all_listed() {
        let v = violations("abc");
        assert!(v.contains(&Violation::TooShort));
        assert!(v.contains(&Violation::MissingUppercase));
        assert!(v.contains(&Violation::MissingDigit));
        assert!(v.contains(&Violation::MissingSymbol));
    }

    #[test]
    fn overlong_passwords_are_refused() {
        let long = format!("Aa1!{}", "x".repeat(300));
        assert_eq!(violations(&long), vec![Violation::TooLong]);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::new("Correct-Horse-Battery-9".into());
        assert!(!format!("{p:?}").contains("Horse"));
    }

    #[test]
    fn codes_serialise_in_snake_case() {
        let s = serde_json::to_string(&Violation::MissingLowercase).unwrap();
        assert_eq!(s, "\"missing_lowercase\"");
    }
}
