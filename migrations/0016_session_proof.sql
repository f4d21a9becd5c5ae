-- How each session was proven (RFC 8176 `amr`, comma-separated, without `mfa`, which
-- follows from two distinct factors); `auth_at` already holds when. Sessions from before
-- this migration proved something unknown: an empty list.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
-- A device sign-in carries the approving session's proof.
ALTER TABLE device_grants ADD COLUMN approved_amr TEXT;
