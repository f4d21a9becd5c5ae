-- Whether the account's email has been shown to belong to its holder: by a provider that
-- verified it (sign-up or linking through one), or later by the email flow. An account
-- whose email is not verified can be taken over by the address's owner signing in through
-- such a provider (no pre-hijacking by registering someone else's email first).
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
-- Accounts made or linked through a provider were matched by a verified email.
UPDATE users SET email_verified = 1 WHERE id IN (SELECT user_id FROM oauth_identities);

-- A provider flow started from the Security page to link the provider to this signed-in
-- account (NULL for a sign-in).
ALTER TABLE oauth_flows ADD COLUMN link_user_id TEXT REFERENCES users(id) ON DELETE CASCADE;
