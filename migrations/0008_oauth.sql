-- Accounts linked to an OpenID provider: matched by the provider's subject, which (unlike
-- the email) never changes. One link per provider and account.
CREATE TABLE oauth_identities (
    provider     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email        TEXT,
    linked_at    BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider)
);

-- A sign-in between its redirect to the provider and the callback, keyed by a hash of
-- its `state`: taken once, only by the browser that started it (`browser_hash` is the
-- hash of that browser's binding cookie), and only before it expires.
CREATE TABLE oauth_flows (
    state_hash    TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);
