-- Passkeys: a WebAuthn credential registered as discoverable with user verification,
-- which can sign in alone. Every credential, passkey or not, stays a second factor.
ALTER TABLE webauthn_credentials ADD COLUMN passkey BIGINT NOT NULL DEFAULT 0 CHECK (passkey IN (0, 1));

-- A passkey sign-in's challenge, before anyone is known: no user yet, used once, expires.
CREATE TABLE passkey_challenges (
    id         TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges(expires_at);
