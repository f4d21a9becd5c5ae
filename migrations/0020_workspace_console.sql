-- The workspace console: a 2FA policy with a deadline and a tier, invitations by email,
-- and a record of who changed what.

-- `accepted_methods`: `any` or `phishing_resistant`; `enforce_at`: until then members
-- without a qualifying factor keep access (grace); NULL while the policy is off.
ALTER TABLE workspaces ADD COLUMN accepted_methods TEXT NOT NULL DEFAULT 'any';
ALTER TABLE workspaces ADD COLUMN enforce_at BIGINT;

-- An invitation is addressed to an email, not to an account: it is made without looking
-- the address up (the answer must not tell whether it has an account). Its link token is
-- kept only as its SHA-256; `ended_at` is set when it is accepted, revoked or voided.
CREATE TABLE workspace_invitations (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX workspace_invitations_workspace ON workspace_invitations(workspace_id, ended_at);
CREATE INDEX workspace_invitations_email ON workspace_invitations(email);

-- What changed in a workspace and who changed it (NULL: the operator's command line).
-- Ids are time-ordered (UUIDv7), so `before=ID` pages newest first.
CREATE TABLE workspace_events (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    actor_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX workspace_events_workspace ON workspace_events(workspace_id, id);
