-- Recovery never opens a door that the owner's factors closed (#29).

-- A reset link serves at most 5 refused tries; each try is counted before anything is
-- hashed, so a burst on one link costs at most 5 password hashes.
ALTER TABLE email_tokens ADD COLUMN tries BIGINT NOT NULL DEFAULT 0;
-- The lock link of an `email_changed` alert, sent to the old address, puts it back.
ALTER TABLE email_tokens ADD COLUMN restores_email BIGINT NOT NULL DEFAULT 0 CHECK (restores_email IN (0, 1));
-- Messages of one kind per recipient and hour are counted by address.
CREATE INDEX email_tokens_recipient ON email_tokens(email, purpose, created_at);

-- A device sign-in's session is never fresher than the session that approved it.
ALTER TABLE device_grants ADD COLUMN approved_auth_at BIGINT;

-- "New device" is decided from what the server observes: the user agent and the network
-- (/24 for IPv4, /48 for IPv6) of earlier successful sign-ins.
ALTER TABLE login_history ADD COLUMN network TEXT;
CREATE INDEX login_history_known_network ON login_history(user_id, network) WHERE success = 1;
