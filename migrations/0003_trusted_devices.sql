-- Browsers and apps that skip the second factor for a while ("remember this device").
CREATE TABLE trusted_devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    device_kind    TEXT NOT NULL,
    device_name    TEXT NOT NULL,
    ip             TEXT NOT NULL,
    country        TEXT,
    city           TEXT,
    location_label TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX trusted_devices_user ON trusted_devices(user_id);

-- The trusted device a session was signed in from, to mark it `current`.
ALTER TABLE sessions ADD COLUMN trusted_device_id TEXT;
