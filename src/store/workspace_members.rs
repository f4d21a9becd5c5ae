//! Changes to a workspace's members: adding, role changes and removal under the
//! workspace's lock (the last-owner rule), and the operator's `add-owner`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::workspace_events::insert_event;
use super::workspaces::{Tx, lock_workspace, role_from, role_in};
use super::{Store, StoreResult, to_millis};
use crate::domain::voiding::Removal;
use crate::domain::workspace::Role;
use crate::domain::workspace::events::{Detail, EventKind, NewEvent};
use crate::domain::workspace::roles::{self, MemberChange, Refusal};

/// What became of a member change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChanged {
    Done { email: String, from: Role },
    NotAMember,
    Refused(Refusal),
}

impl Store {
    /// Adds a member and records who did it: the event's actor, whose credential `acting`
    /// must still be live under their account's lock; `Conflict` when they already are one.
    pub async fn add_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: Role,
        event: NewEvent<'_>,
        acting: super::Acting<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(actor) = event.actor_id {
            super::account_lock::lock_account_as(&mut tx, actor, acting).await?;
        }
        sqlx::query(
            "INSERT INTO workspace_members (workspace_id, user_id, role, created_at, added_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(to_millis(event.at))
        .bind(event.actor_id)
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a member's role or removes them, under the workspace's lock: the actor's
    /// role, the target's and the owner count are read inside it, so two racing demotions
    /// of the last two owners leave exactly one.
    pub async fn change_member(
        &self,
        workspace_id: &str,
        actor_id: &str,
        target_id: &str,
        change: MemberChange,
        now: DateTime<Utc>,
    ) -> StoreResult<MemberChanged> {
        let mut tx = self.pool.begin().await?;
        if !lock_workspace(&mut tx, workspace_id).await? {
            return Ok(MemberChanged::NotAMember);
        }
        let Some(actor_role) = role_in(&mut tx, workspace_id, actor_id).await? else {
            return Ok(MemberChanged::Refused(Refusal::Forbidden));
        };
        let target = sqlx::query(
            "SELECT m.role, u.email FROM workspace_members m JOIN users u ON u.id = m.user_id
             WHERE m.workspace_id = $1 AND m.user_id = $2",
        )
        .bind(workspace_id)
        .bind(target_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(target) = target else {
            return Ok(MemberChanged::NotAMember);
        };
        let from = role_from(target.try_get("role")?)?;
        let email: String = target.try_get("email")?;
        let owners: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM workspace_members WHERE workspace_id = $1 AND role = 'owner'")
                .bind(workspace_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if let Err(refusal) =
            roles::check(actor_role, actor_id == target_id, from, change, owners.try_into().unwrap_or(0))
        {
            return Ok(MemberChanged::Refused(refusal));
        }
        let (kind, detail) = match change {
            MemberChange::SetRole(role) => {
                sqlx::query("UPDATE workspace_members SET role = $1 WHERE workspace_id = $2 AND user_id = $3")
                    .bind(role.as_str())
                    .bind(workspace_id)
                    .bind(target_id)
                    .execute(&mut *tx)
                    .await?;
                (EventKind::RoleChanged, Detail { from_role: Some(from), ..Detail::member(&email, role) })
            }
            MemberChange::Remove => {
                sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(target_id)
                    .execute(&mut *tx)
                    .await?;
                (EventKind::MemberRemoved, Detail::member(&email, from))
            }
        };
        let unchanged = change == MemberChange::SetRole(from);
        if !unchanged {
            let event = NewEvent { workspace_id, actor_id: Some(actor_id), kind, detail, at: now };
            insert_event(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(MemberChanged::Done { email, from })
    }

    /// `latchkey workspace add-owner`: makes the account an owner, a member or not yet.
    /// False when there is no such workspace.
    pub async fn make_owner(
        &self,
        workspace_id: &str,
        user_id: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        if !lock_workspace(&mut tx, workspace_id).await? {
            return Ok(false);
        }
        let from = role_in(&mut tx, workspace_id, user_id).await?;
        if from == Some(Role::Owner) {
            return Ok(true);
        }
        let (kind, detail) = match from {
            Some(from) => {
                sqlx::query("UPDATE workspace_members SET role = 'owner' WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                (EventKind::RoleChanged, Detail { from_role: Some(from), ..Detail::member(email, Role::Owner) })
            }
            None => {
                sqlx::query(
                    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
                )
                .bind(workspace_id)
                .bind(user_id)
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
                (EventKind::MemberAdded, Detail::member(email, Role::Owner))
            }
        };
        insert_event(&mut tx, &NewEvent { workspace_id, actor_id: None, kind, detail, at: now }).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The earliest `created_at` of the members a removal takes; `None` to keep them all.
fn removed_since(members: Removal) -> Option<i64> {
    match members {
        Removal::Keep => None,
        Removal::All => Some(i64::MIN),
        Removal::AddedSince(since) => Some(to_millis(since)),
    }
}

/// Takes the lock of every workspace where `user_id` has an invitation out or brought in
/// a member that `members` removes, in the order of their ids: the workspaces a void then
/// changes, locked before any of their rows, as every other writer does, and in one
/// order, so that two voids cannot wait for each other either.
pub(super) async fn lock_workspaces_touched_by(tx: Tx<'_, '_>, user_id: &str, members: Removal) -> StoreResult<()> {
    let rows = sqlx::query(
        "SELECT workspace_id FROM workspace_invitations WHERE invited_by = $1 AND ended_at IS NULL
         UNION SELECT workspace_id FROM workspace_members WHERE added_by = $1 AND created_at >= $2
         ORDER BY workspace_id",
    )
    .bind(user_id)
    // Keeping the members: a time none was added at.
    .bind(removed_since(members).unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        lock_workspace(tx, &row.try_get::<String, _>("workspace_id")?).await?;
    }
    Ok(())
}

/// Removes the members `added_by` brought in (added, or by its invitation) that `members`
/// takes, and in turn those that each removed member brought into
/// that workspace, whose pending invitations there end too: what a lock or a reclaim does
/// (`domain::voiding`), as a thief's own account may have brought in more. Each removal
/// runs under its workspace's lock and is recorded as `member_removed` by no actor. A
/// member who is by then the workspace's only owner stays, as every removal keeps one
/// owner; the operator's `workspace add-owner` and the console remove them then.
pub(super) async fn remove_members_added_by(
    tx: Tx<'_, '_>,
    added_by: &str,
    members: Removal,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let Some(since) = removed_since(members) else { return Ok(0) };
    // Whose members go next, and in which workspace (the account's own: in every one).
    let mut next: Vec<(String, Option<String>)> = vec![(added_by.to_owned(), None)];
    let mut removed = 0;
    while let Some((by, only_in)) = next.pop() {
        let rows = sqlx::query(
            "SELECT m.workspace_id, m.user_id, m.role, u.email FROM workspace_members m JOIN users u ON u.id = m.user_id
             WHERE m.added_by = $1 AND m.created_at >= $2 AND ($3 = '' OR m.workspace_id = $3)
             ORDER BY m.workspace_id, m.user_id",
        )
        .bind(&by)
        .bind(since)
        .bind(only_in.as_deref().unwrap_or(""))
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            let (workspace_id, user_id): (String, String) = (row.try_get("workspace_id")?, row.try_get("user_id")?);
            let (role, email) = (role_from(&row.try_get::<String, _>("role")?)?, row.try_get::<String, _>("email")?);
            if remove_brought_in(tx, &workspace_id, &user_id, &by, role).await? {
                removed += 1;
                let event = NewEvent {
                    workspace_id: &workspace_id,
                    actor_id: None,
                    kind: EventKind::MemberRemoved,
                    detail: Detail::member(&email, role),
                    at: now,
                };
                insert_event(tx, &event).await?;
                sqlx::query(
                    "UPDATE workspace_invitations SET ended_at = $3 WHERE workspace_id = $1 AND invited_by = $2 AND ended_at IS NULL",
                )
                .bind(&workspace_id)
                .bind(&user_id)
                .bind(to_millis(now))
                .execute(&mut **tx)
                .await?;
                next.push((user_id, Some(workspace_id)));
            }
        }
    }
    Ok(removed)
}

/// Removes `user_id`, brought into the workspace by `by`, under the workspace's lock,
/// unless they are its only owner.
async fn remove_brought_in(
    tx: Tx<'_, '_>,
    workspace_id: &str,
    user_id: &str,
    by: &str,
    role: Role,
) -> StoreResult<bool> {
    lock_workspace(tx, workspace_id).await?;
    if role == Role::Owner {
        let owners: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM workspace_members WHERE workspace_id = $1 AND role = 'owner'")
                .bind(workspace_id)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        if owners <= 1 {
            return Ok(false);
        }
    }
    let done = sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 AND added_by = $3")
        .bind(workspace_id)
        .bind(user_id)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
