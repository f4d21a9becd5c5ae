//! When a session expires (idle and absolute lifetimes) and when its activity is worth
//! writing down.

use chrono::{DateTime, Duration, Utc};

/// How long sessions live and how often their activity is written down.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long is dead.
    pub idle: Duration,
    /// A session is dead this long after sign-in, however busy.
    pub absolute: Duration,
    /// `last_activity_at` is written at most this often per session, so the hot path
    /// (every request validates a token) does not write on every request.
    pub activity_resolution: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle: Duration::days(14), absolute: Duration::days(90), activity_resolution: Duration::seconds(60) }
    }
}

impl SessionPolicy {
    pub fn expires_at(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at + self.absolute
    }

    pub fn is_live(&self, expires_at: DateTime<Utc>, last_activity_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now < expires_at && now < last_activity_at + self.idle
    }

    pub fn needs_touch(&self, last_activity_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - last_activity_at >= self.activity_resolution
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn idle_sessions_die() {
        let p = SessionPolicy::default();
        let expires = p.expires_at(t(0));
        assert!(p.is_live(expires, t(0), t(13 * 86_400)));
        assert!(!p.is_live(expires, t(0), t(14 * 86_400)));
    }

    #[test]
    fn busy_sessions_still_die_at_the_absolute_limit() {
        let p = SessionPolicy::default();
        let expires = p.expires_at(t(0));
        let now = t(90 * 86_400);
        assert!(!p.is_live(expires, now, now));
    }

    #[test]
    fn activity_is_written_once_per_resolution() {
        let p = SessionPolicy::default();
        assert!(!p.needs_touch(t(0), t(59)));
        assert!(p.needs_touch(t(0), t(60)));
    }
}
