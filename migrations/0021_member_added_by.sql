-- Who brought each member in: the account that added them, or whose invitation they
-- accepted (NULL: the workspace's creator, the operator's command line, or members from
-- before this column). A lock removes the members its account brought in during the lock's
-- window, as it removes the factors added then: a stolen session could have brought in
-- its thief.
ALTER TABLE workspace_members ADD COLUMN added_by TEXT REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX workspace_members_added_by ON workspace_members(added_by);
