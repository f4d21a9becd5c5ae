-- Device sign-ins (RFC 8628): a CLI or desktop app asks, a signed-in person approves in
-- the browser. The device code is kept only as its hash; the user code is what people
-- type (8 letters, without the dash).
CREATE TABLE device_grants (
    id               TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code        TEXT NOT NULL UNIQUE,
    client_name      TEXT NOT NULL,
    device_kind      TEXT NOT NULL,
    device_name      TEXT NOT NULL,
    ip               TEXT NOT NULL,
    country          TEXT,
    city             TEXT,
    location_label   TEXT NOT NULL,
    user_agent       TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    interval_secs    BIGINT NOT NULL,
    last_polled_at   BIGINT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    -- Set by the approval or denial: whose session it becomes, and whether the approving
    -- session's account had passed a second factor.
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    mfa_passed       BIGINT CHECK (mfa_passed IN (0, 1))
);
CREATE INDEX device_grants_expiry ON device_grants(expires_at);
