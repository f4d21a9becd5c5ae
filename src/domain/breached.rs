//! The breached-password list (ASVS 6.2.12) as a binary fuse filter: each SHA-1 of Have I
//! Been Pwned's list becomes a 64-bit key (its first 8 bytes), and the filter answers
//! "maybe in the list" in two or three memory reads, with about 18 bits a key and one
//! false positive in 65,536 good passwords. No I/O here: the store keeps the parts, the
//! service loads and checks.

use std::sync::{Arc, RwLock};

use sha1::{Digest, Sha1};
use xorf::{BinaryFuse16, Descriptor, Filter};

use super::password::Password;

/// The key of one line of the list (`HASH:COUNT`, any case, CR or not), if it is one.
pub fn key_of_line(line: &str) -> Option<u64> {
    let hash = line.trim_end_matches(['\r', '\n']).split(':').next()?.trim();
    if hash.len() != 40 {
        return None;
    }
    let bytes = hex::decode(hash).ok()?;
    Some(key_of_digest(&bytes))
}

/// The key of a password: the first 8 bytes of its SHA-1, as the list's are.
pub fn key_of_password(password: &Password) -> u64 {
    key_of_digest(&Sha1::digest(password.expose().as_bytes()))
}

fn key_of_digest(digest: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// A built filter and how many distinct hashes went in.
pub struct BreachedFilter {
    filter: BinaryFuse16,
    pub count: u64,
}

/// A filter as stored: the descriptor's numbers and the fingerprints (little-endian u16).
pub struct FilterParts {
    pub seed: u64,
    pub segment_length: u32,
    pub segment_length_mask: u32,
    pub segment_count_length: u32,
    pub count: u64,
    pub fingerprints: Vec<u8>,
}

impl BreachedFilter {
    /// From the keys of a list in any order, duplicates allowed.
    pub fn build(mut keys: Vec<u64>) -> Result<Self, &'static str> {
        keys.sort_unstable();
        keys.dedup();
        let count = keys.len() as u64;
        let filter = BinaryFuse16::try_from(&keys)?;
        Ok(Self { filter, count })
    }

    pub fn contains(&self, password: &Password) -> bool {
        self.filter.contains(&key_of_password(password))
    }

    pub fn to_parts(&self) -> FilterParts {
        let d = &self.filter.descriptor;
        FilterParts {
            seed: d.seed,
            segment_length: d.segment_length,
            segment_length_mask: d.segment_length_mask,
            segment_count_length: d.segment_count_length,
            count: self.count,
            fingerprints: self.filter.fingerprints.iter().flat_map(|f| f.to_le_bytes()).collect(),
        }
    }

    pub fn from_parts(parts: &FilterParts) -> Option<Self> {
        if !parts.fingerprints.len().is_multiple_of(2) {
            return None;
        }
        let fingerprints: Box<[u16]> =
            parts.fingerprints.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        let descriptor = Descriptor {
            seed: parts.seed,
            segment_length: parts.segment_length,
            segment_length_mask: parts.segment_length_mask,
            segment_count_length: parts.segment_count_length,
        };
        Some(Self { filter: BinaryFuse16 { descriptor, fingerprints }, count: parts.count })
    }

    /// Bytes the filter takes.
    pub fn size(&self) -> usize {
        self.filter.fingerprints.len() * 2
    }
}

/// The list this instance checks against, with the version it was loaded at; swapped
/// whole when another import replaces it.
#[derive(Default)]
pub struct LoadedList(RwLock<Option<(String, Arc<BreachedFilter>)>>);

impl LoadedList {
    pub fn version(&self) -> Option<String> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref().map(|(v, _)| v.clone())
    }

    pub fn current(&self) -> Option<Arc<BreachedFilter>> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref().map(|(_, f)| Arc::clone(f))
    }

    pub fn replace(&self, version: String, filter: BreachedFilter) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((version, Arc::new(filter)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1_hex(p: &str) -> String {
        hex::encode_upper(Sha1::digest(p.as_bytes()))
    }

    #[test]
    fn lines_in_any_case_with_crlf_and_counts_give_the_passwords_key() {
        let p = Password::new("hunter2hunter2".into());
        let key = key_of_password(&p);
        assert_eq!(key_of_line(&format!("{}:42\r\n", sha1_hex("hunter2hunter2"))), Some(key));
        assert_eq!(key_of_line(&format!("{}:1", sha1_hex("hunter2hunter2").to_lowercase())), Some(key));
        assert_eq!(key_of_line("not a hash:3"), None);
        assert_eq!(key_of_line(""), None);
    }

    #[test]
    fn a_filter_finds_every_listed_password_and_survives_its_stored_form() {
        let listed: Vec<String> = (0..2000).map(|i| format!("listed-password-{i}")).collect();
        let mut keys: Vec<u64> = listed.iter().map(|p| key_of_password(&Password::new(p.clone()))).collect();
        keys.extend(keys.clone()); // duplicates are allowed
        let filter = BreachedFilter::build(keys).unwrap();
        assert_eq!(filter.count, 2000);
        let stored = BreachedFilter::from_parts(&filter.to_parts()).unwrap();
        for p in &listed {
            assert!(stored.contains(&Password::new(p.clone())), "{p}");
        }
        let false_positives =
            (0..100_000).filter(|i| stored.contains(&Password::new(format!("good-password-{i}")))).count();
        assert!(false_positives <= 10, "{false_positives} of 100,000 good passwords refused");
    }
}
