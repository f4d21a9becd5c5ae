-- One sealed sample value: a wrong LATCHKEY_SECRET_KEY is caught at start-up.
CREATE TABLE key_check (
    id     BIGINT PRIMARY KEY,
    sealed TEXT NOT NULL
);

-- The confirmed authenticator of an account; the secret is sealed with the server key.
CREATE TABLE totp_credentials (
    user_id        TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    -- The newest time step accepted: no code at or below it is accepted again.
    last_used_step BIGINT NOT NULL
);

-- A setup waiting for its first code; it replaces nothing until confirmed.
CREATE TABLE totp_pending (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE backup_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    UNIQUE (user_id, code_hash)
);

-- The state between a correct password and the second factor (the mfa_token).
CREATE TABLE mfa_challenges (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    failures        BIGINT NOT NULL,
    consumed_at     BIGINT,
    remember_device BIGINT NOT NULL,
    device_kind     TEXT,
    device_name     TEXT,
    method          TEXT NOT NULL
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges(expires_at);

CREATE TABLE security_events (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at             BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    ip             TEXT,
    user_agent     TEXT,
    country        TEXT,
    city           TEXT,
    location_label TEXT NOT NULL,
    detail         TEXT
);
CREATE INDEX security_events_user ON security_events(user_id, id);
