//! What this instance already knows is locked, so that a flood against a locked key is
//! refused without a database round trip (issue #29: 8 clients looping on a locked reset
//! link slowed everyone's sign-in through the database's write lock).
//!
//! The database stays the authority: a key is remembered only after the database refused
//! it, and only until the lock it read there ends, so this memory can refuse what the
//! database would refuse and never let through what it would not. The one way it is
//! stricter: a right answer that was already counted before the lock can lift the lock in
//! the database early (`Forgive`); this instance forgets the key then, another instance
//! keeps refusing until the lock's end, which it would have told the client anyway.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Past this many keys, expired ones are dropped; if all are live, nothing new is kept
/// (the database answers those keys as before): a spray of fresh keys cannot grow it.
const CAPACITY: usize = 50_000;

#[derive(Default)]
pub struct Refusals {
    locked: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Refusals {
    /// The latest lock end, after `now`, among the remembered ones of `keys`.
    pub fn locked_until(&self, keys: &[&str], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let locked = self.locked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.iter().filter_map(|k| locked.get(*k).copied()).filter(|until| *until > now).max()
    }

    /// The database refused `key` until `until`.
    pub fn remember(&self, key: &str, until: DateTime<Utc>, now: DateTime<Utc>) {
        let mut locked = self.locked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if locked.len() >= CAPACITY && !locked.contains_key(key) {
            locked.retain(|_, until| *until > now);
            if locked.len() >= CAPACITY {
                return;
            }
        }
        locked.insert(key.to_owned(), until);
    }

    /// The key's lock may have been lifted here (a right answer forgave it).
    pub fn forget(&self, key: &str) {
        self.locked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn a_key_is_refused_until_its_lock_ends_and_no_longer() {
        let refusals = Refusals::default();
        let now = Utc::now();
        refusals.remember("reset-ip:1", now + Duration::seconds(30), now);
        assert_eq!(refusals.locked_until(&["other", "reset-ip:1"], now), Some(now + Duration::seconds(30)));
        assert_eq!(refusals.locked_until(&["reset-ip:1"], now + Duration::seconds(30)), None);
        assert_eq!(refusals.locked_until(&["other"], now), None);
    }

    #[test]
    fn the_latest_lock_of_several_keys_is_the_wait() {
        let refusals = Refusals::default();
        let now = Utc::now();
        refusals.remember("a", now + Duration::seconds(5), now);
        refusals.remember("b", now + Duration::seconds(60), now);
        assert_eq!(refusals.locked_until(&["a", "b"], now), Some(now + Duration::seconds(60)));
    }

    #[test]
    fn a_forgiven_key_goes_to_the_database_again() {
        let refusals = Refusals::default();
        let now = Utc::now();
        refusals.remember("a", now + Duration::seconds(5), now);
        refusals.forget("a");
        assert_eq!(refusals.locked_until(&["a"], now), None);
    }

    #[test]
    fn a_full_memory_drops_expired_keys_and_never_grows_past_its_capacity() {
        let refusals = Refusals::default();
        let now = Utc::now();
        for i in 0..CAPACITY {
            refusals.remember(&format!("k{i}"), now + Duration::seconds(1), now);
        }
        refusals.remember("late", now + Duration::seconds(9), now);
        assert_eq!(refusals.locked_until(&["late"], now), None, "full of live keys: not kept");
        let later = now + Duration::seconds(2);
        refusals.remember("late", later + Duration::seconds(9), later);
        assert_eq!(refusals.locked_until(&["late"], later), Some(later + Duration::seconds(9)));
        assert_eq!(refusals.locked.lock().unwrap().len(), 1, "the expired keys were dropped");
    }
}
