-- 0/1 flags refuse anything else, as users.email_verified already does. Neither backend
-- can add a CHECK to an existing SQLite column, so each table is rebuilt: new table,
-- copy, drop, rename, indexes again. One file for both backends.

CREATE TABLE login_history_new (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at             BIGINT NOT NULL,
    success        BIGINT NOT NULL CHECK (success IN (0, 1)),
    ip             TEXT NOT NULL,
    user_agent     TEXT,
    device_kind    TEXT NOT NULL,
    country        TEXT,
    city           TEXT,
    location_label TEXT NOT NULL,
    mfa_challenged BIGINT NOT NULL CHECK (mfa_challenged IN (0, 1)),
    method         TEXT NOT NULL,
    failure        TEXT
);
INSERT INTO login_history_new (id, user_id, at, success, ip, user_agent, device_kind, country, city, location_label, mfa_challenged, method, failure)
    SELECT id, user_id, at, success, ip, user_agent, device_kind, country, city, location_label, mfa_challenged, method, failure FROM login_history;
DROP TABLE login_history;
ALTER TABLE login_history_new RENAME TO login_history;
CREATE INDEX login_history_user_at ON login_history(user_id, at);
CREATE INDEX login_history_at ON login_history(at);

CREATE TABLE mfa_challenges_new (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    failures        BIGINT NOT NULL,
    consumed_at     BIGINT,
    remember_device BIGINT NOT NULL CHECK (remember_device IN (0, 1)),
    device_kind     TEXT,
    device_name     TEXT,
    method          TEXT NOT NULL
);
INSERT INTO mfa_challenges_new (id, token_hash, user_id, created_at, expires_at, failures, consumed_at, remember_device, device_kind, device_name, method)
    SELECT id, token_hash, user_id, created_at, expires_at, failures, consumed_at, remember_device, device_kind, device_name, method FROM mfa_challenges;
DROP TABLE mfa_challenges;
ALTER TABLE mfa_challenges_new RENAME TO mfa_challenges;
CREATE INDEX mfa_challenges_expiry ON mfa_challenges(expires_at);

-- Members reference workspaces, so both are rebuilt together and the old members go first.
CREATE TABLE workspaces_new (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    require_2fa BIGINT NOT NULL CHECK (require_2fa IN (0, 1)),
    created_at  BIGINT NOT NULL
);
INSERT INTO workspaces_new (id, name, plan, require_2fa, created_at)
    SELECT id, name, plan, require_2fa, created_at FROM workspaces;
CREATE TABLE workspace_members_new (
    workspace_id TEXT NOT NULL REFERENCES workspaces_new(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
INSERT INTO workspace_members_new (workspace_id, user_id, role, created_at)
    SELECT workspace_id, user_id, role, created_at FROM workspace_members;
DROP TABLE workspace_members;
DROP TABLE workspaces;
ALTER TABLE workspaces_new RENAME TO workspaces;
ALTER TABLE workspace_members_new RENAME TO workspace_members;
CREATE INDEX workspace_members_user ON workspace_members(user_id);
