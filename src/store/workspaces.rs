//! Workspaces, their members, plans and 2FA policy.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::factors::{FACTOR_COLUMNS, factors_from_row};
use super::workspace_events::insert_event;
use super::{Store, StoreError, StoreResult, flag, from_millis, new_id, to_millis};
use crate::domain::mail::Letter;
use crate::domain::workspace::events::{Detail, EventKind, NewEvent};
use crate::domain::workspace::roles::{self, MemberChange, Refusal};
use crate::domain::workspace::{AcceptedMethods, Membership, Plan, Role, Workspace, WorkspaceMember, WorkspacePolicy};

pub(super) type Tx<'t, 'c> = &'t mut sqlx::Transaction<'c, sqlx::Any>;

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(format!("unknown {what} in the database").into()))
}

pub(super) fn role_from(text: &str) -> StoreResult<Role> {
    Role::parse(text).ok_or_else(|| corrupt("role"))
}

/// The columns of `workspaces w` that make a [`Workspace`].
const WORKSPACE_COLUMNS: &str = "w.id, w.name, w.plan, w.require_2fa, w.accepted_methods, w.enforce_at";

fn workspace(r: &sqlx::any::AnyRow) -> StoreResult<Workspace> {
    Ok(Workspace {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        plan: Plan::parse(r.try_get("plan")?).ok_or_else(|| corrupt("plan"))?,
        policy: WorkspacePolicy {
            require_2fa: flag(r.try_get("require_2fa")?)?,
            accepted_methods: AcceptedMethods::parse(r.try_get("accepted_methods")?)
                .ok_or_else(|| corrupt("accepted methods"))?,
            enforce_at: r.try_get::<Option<i64>, _>("enforce_at")?.map(from_millis).transpose()?,
        },
    })
}

fn membership(r: &sqlx::any::AnyRow) -> StoreResult<Membership> {
    Ok(Membership { workspace: workspace(r)?, role: role_from(r.try_get("role")?)? })
}

/// Takes the workspace row's lock for the rest of `tx` (a write, so on SQLite the
/// database's write lock): rules over all members ("keep an owner") run one at a time.
pub(super) async fn lock_workspace(tx: Tx<'_, '_>, workspace_id: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE workspaces SET created_at = created_at WHERE id = $1")
        .bind(workspace_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn role_in(tx: Tx<'_, '_>, workspace_id: &str, user_id: &str) -> StoreResult<Option<Role>> {
    let row = sqlx::query("SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| role_from(r.try_get("role")?)).transpose()
}

async fn members_with<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    workspace_id: &str,
) -> StoreResult<Vec<WorkspaceMember>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT users.id, users.email, m.role, {FACTOR_COLUMNS}
         FROM workspace_members m JOIN users ON users.id = m.user_id WHERE m.workspace_id = $1 ORDER BY users.email"
    )))
    .bind(workspace_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WorkspaceMember {
                user_id: r.try_get("id")?,
                email: r.try_get("email")?,
                role: role_from(r.try_get("role")?)?,
                factors: factors_from_row(r)?,
            })
        })
        .collect()
}

/// A policy change as the service decided it, from the policy and members it was shown.
pub struct PolicyUpdate {
    pub policy: WorkspacePolicy,
    pub notices: Vec<Letter>,
}

/// What became of a member change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChanged {
    Done { email: String, from: Role },
    NotAMember,
    Refused(Refusal),
}

impl Store {
    /// Creates a workspace with its first owner, in one transaction.
    pub async fn create_workspace(
        &self,
        name: &str,
        plan: Plan,
        owner_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Workspace> {
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO workspaces (id, name, plan, require_2fa, created_at) VALUES ($1, $2, $3, 0, $4)")
            .bind(&id)
            .bind(name)
            .bind(plan.as_str())
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(owner_id)
            .bind(Role::Owner.as_str())
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Workspace { id, name: name.to_owned(), plan, policy: WorkspacePolicy::default() })
    }

    /// Every workspace, oldest first, with the email of its earliest owner.
    pub async fn all_workspaces(&self) -> StoreResult<Vec<(Workspace, Option<String>)>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WORKSPACE_COLUMNS},
                    (SELECT u.email FROM workspace_members m JOIN users u ON u.id = m.user_id
                     WHERE m.workspace_id = w.id AND m.role = 'owner' ORDER BY m.created_at, u.email LIMIT 1) AS owner
             FROM workspaces w ORDER BY w.created_at, w.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((workspace(r)?, r.try_get("owner")?))).collect()
    }

    /// False when there is no such workspace.
    pub async fn set_workspace_plan(&self, workspace_id: &str, plan: Plan) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE workspaces SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(workspace_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The workspace `workspace_id` as `user_id` sees it; `None` unless they are a member.
    pub async fn membership(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<Membership>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WORKSPACE_COLUMNS}, m.role FROM workspaces w
             JOIN workspace_members m ON m.workspace_id = w.id WHERE w.id = $1 AND m.user_id = $2"
        )))
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(membership).transpose()
    }

    pub async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WORKSPACE_COLUMNS}, m.role FROM workspaces w
             JOIN workspace_members m ON m.workspace_id = w.id WHERE m.user_id = $1 ORDER BY w.name, w.id"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(membership).collect()
    }

    /// The members with their factors, by email.
    pub async fn members(&self, workspace_id: &str) -> StoreResult<Vec<WorkspaceMember>> {
        members_with(&self.pool, workspace_id).await
    }

    /// Adds a member and records who did it; `Conflict` when they already are one.
    pub async fn add_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: Role,
        event: NewEvent<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(workspace_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(to_millis(event.at))
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

    /// Changes the policy as `decide` says, given the current policy and the members with
    /// their factors, all read under the workspace's lock (so "unchanged while it stays on"
    /// and who gets a notice rest on what is really there); records it and queues the
    /// notices, in one transaction. `decide`'s refusal is handed back and nothing changes.
    pub async fn update_workspace_policy<E>(
        &self,
        workspace_id: &str,
        actor_id: &str,
        now: DateTime<Utc>,
        decide: impl FnOnce(&WorkspacePolicy, &[WorkspaceMember]) -> Result<PolicyUpdate, E>,
    ) -> StoreResult<Result<WorkspacePolicy, E>> {
        let mut tx = self.pool.begin().await?;
        if !lock_workspace(&mut tx, workspace_id).await? {
            return Err(StoreError::Db(sqlx::Error::RowNotFound));
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces w WHERE w.id = $1")))
            .bind(workspace_id)
            .fetch_one(&mut *tx)
            .await?;
        let current = workspace(&row)?.policy;
        let members = members_with(&mut *tx, workspace_id).await?;
        let update = match decide(&current, &members) {
            Ok(update) => update,
            Err(refused) => return Ok(Err(refused)),
        };
        let policy = update.policy;
        sqlx::query("UPDATE workspaces SET require_2fa = $1, accepted_methods = $2, enforce_at = $3 WHERE id = $4")
            .bind(i64::from(policy.require_2fa))
            .bind(policy.accepted_methods.as_str())
            .bind(policy.enforce_at.map(to_millis))
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        let event = NewEvent {
            workspace_id,
            actor_id: Some(actor_id),
            kind: EventKind::PolicyChanged,
            detail: Detail::policy(&policy),
            at: now,
        };
        insert_event(&mut tx, &event).await?;
        for letter in &update.notices {
            super::outbox::queue_mail(&mut tx, letter, now).await?;
        }
        tx.commit().await?;
        Ok(Ok(policy))
    }
}
