//! Backup codes: ten single-use codes of 50 random bits each, shown as `xxxxx-xxxxx`
//! in Crockford's base32 so that O/0 and I/L/1 cannot be mistyped.

use std::fmt;

pub const COUNT: usize = 10;
const LEN: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A normalised code: ten base32 characters, no dash. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCode(String);

impl BackupCode {
    /// 50 bits from `random` (the top 6 of its 56 bits are dropped).
    pub fn from_random(random: [u8; 7]) -> Self {
        let mut bits = random.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let mut out = [0u8; LEN];
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(bits & 31) as usize];
            bits >>= 5;
        }
        Self(out.iter().map(|&b| char::from(b)).collect())
    }

    /// Accepts what people type: any case, with or without the dash or spaces, and the
    /// letters Crockford's alphabet leaves out read as the digits they look like.
    pub fn parse(input: &str) -> Option<Self> {
        let mut out = String::with_capacity(LEN);
        for c in input.chars() {
            let c = match c.to_ascii_lowercase() {
                '-' | ' ' => continue,
                'o' => '0',
                'i' | 'l' => '1',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            out.push(c);
        }
        (out.len() == LEN).then_some(Self(out))
    }

    /// The canonical form that is hashed and stored.
    pub fn normalized(&self) -> &str {
        &self.0
    }

    /// Which of an account's stored codes this one can be: its first character, stored in
    /// the clear beside the code's slow hash. The ten codes of an account never share it,
    /// so checking a typed code costs one slow hash at most; it gives a thief of the
    /// database 5 of the 50 bits, and it needs no key (a code outlives any key rotation).
    pub fn hint(&self) -> &str {
        &self.0[..1]
    }

    /// `xxxxx-xxxxx`, as shown to the person.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_is_the_first_character_whatever_was_typed() {
        let code = BackupCode::parse("Q2B4X-7K9MN").unwrap();
        assert_eq!(code.hint(), "q");
        assert_eq!(BackupCode::parse("q2b4x7k9mn").unwrap().hint(), code.hint());
    }

    #[test]
    fn codes_look_like_xxxxx_dash_xxxxx() {
        let c = BackupCode::from_random([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45]);
        let shown = c.display();
        assert_eq!(shown.len(), 11);
        assert_eq!(&shown[5..6], "-");
        assert!(shown.chars().filter(|&c| c != '-').all(|c| ALPHABET.contains(&(c as u8))));
    }

    #[test]
    fn different_randomness_gives_different_codes() {
        let a = BackupCode::from_random([0; 7]);
        let b = BackupCode::from_random([0, 0, 0, 0, 0, 0, 1]);
        assert_ne!(a, b);
        assert_eq!(a.normalized(), "0000000000");
        assert_eq!(b.normalized(), "0000000001");
    }

    #[test]
    fn typing_is_forgiving() {
        let c = BackupCode::parse("abcde-fghjk").unwrap();
        assert_eq!(BackupCode::parse("ABCDEFGHJK"), Some(c.clone()));
        assert_eq!(BackupCode::parse(" abcde fghjk "), Some(c));
        assert_eq!(BackupCode::parse("0O1IL-00000").unwrap().normalized(), "0011100000");
    }

    #[test]
    fn wrong_lengths_and_alphabets_are_refused() {
        for bad in ["", "abcde", "abcde-fghjkm", "abcde-fghju", "abcde-fghj!", "ábcde-fghjk"] {
            assert!(BackupCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        let c = BackupCode::from_random([9, 8, 7, 6, 5, 4, 3]);
        assert_eq!(BackupCode::parse(&c.display()), Some(c));
    }
}
