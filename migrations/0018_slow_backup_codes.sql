-- Backup codes as salted Argon2id (ASVS 6.5.2) instead of a keyed HMAC. `hint`, the code's
-- first character, picks the one row a typed code can match, so a check costs at most one
-- slow hash (codes of one account never share a hint). Rows from before keep their HMAC
-- in code_hash and no hint, and still work until the codes are regenerated.
ALTER TABLE backup_codes ADD COLUMN hint TEXT;
CREATE INDEX backup_codes_hint ON backup_codes (user_id, hint);
