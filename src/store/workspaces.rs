//! Workspaces, their members, plans and 2FA policy.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::factors::{FACTOR_COLUMNS, factors_from_row};
use super::workspace_events::insert_event;
use super::{Store, StoreError, StoreResult, flag, from_millis, new_id, to_millis};
use crate::domain::mail::Letter;
use crate::domain::workspace::events::{Detail, EventKind, NewEvent};
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
