-- An operator's stop on an account (`latchkey user disable`): while set, nothing signs in
-- and no session or token of it is honoured.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
