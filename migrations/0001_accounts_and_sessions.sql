-- Times are Unix milliseconds and flags are 0/1, both BIGINT, on both backends so the
-- same SQL runs on each (sqlx::Any cannot decode SQLite booleans).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT
);

-- Every password an account has had, the current one included; reuse is checked
-- against the newest five.
CREATE TABLE password_history (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, created_at);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash       TEXT NOT NULL UNIQUE,
    device_kind      TEXT NOT NULL,
    device_name      TEXT NOT NULL,
    ip               TEXT NOT NULL,
    country          TEXT,
    city             TEXT,
    location_label   TEXT NOT NULL,
    user_agent       TEXT,
    created_at       BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- When the holder last proved a password or second factor (the re-auth window).
    auth_at          BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id, last_activity_at);

CREATE TABLE login_history (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at             BIGINT NOT NULL,
    success        BIGINT NOT NULL,
    ip             TEXT NOT NULL,
    user_agent     TEXT,
    device_kind    TEXT NOT NULL,
    country        TEXT,
    city           TEXT,
    location_label TEXT NOT NULL,
    mfa_challenged BIGINT NOT NULL,
    method         TEXT NOT NULL,
    failure        TEXT
);
CREATE INDEX login_history_user_at ON login_history(user_id, at);
CREATE INDEX login_history_at ON login_history(at);
