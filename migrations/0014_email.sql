-- Mail. A message is a row of the outbox, written in the same transaction as what causes
-- it; a worker on any instance claims due rows (a lease in claimed_until, FOR UPDATE SKIP
-- LOCKED on PostgreSQL), sends them, and retries with backoff. Bodies are blanked once
-- sent: they may hold single-use links.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    claimed_until   BIGINT,
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;

-- Single-use links sent by mail, kept only as hashes: confirm an address (sign-up or a
-- change: `email` is the address being confirmed), reset a password, lock the account.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify', 'reset', 'lock')),
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose, created_at);

-- The one alert a person may turn off: a sign-in from a device not seen before.
ALTER TABLE users ADD COLUMN notify_new_sign_in BIGINT NOT NULL DEFAULT 1 CHECK (notify_new_sign_in IN (0, 1));

-- The device's label ("Chrome on Linux"), to tell a new device from a known one.
ALTER TABLE login_history ADD COLUMN device_label TEXT;
CREATE INDEX login_history_known_device ON login_history(user_id, device_label, country) WHERE success = 1;
