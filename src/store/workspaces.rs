//! Workspaces, their members, plans and 2FA policy.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoreResult, flag, new_id, to_millis};
use crate::domain::workspace::{Membership, Plan, Role, Workspace, WorkspaceMember, WorkspacePolicy};

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(format!("unknown {what} in the database").into()))
}

fn membership(r: &sqlx::any::AnyRow) -> StoreResult<Membership> {
    Ok(Membership {
        workspace: Workspace {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            plan: Plan::parse(r.try_get("plan")?).ok_or_else(|| corrupt("plan"))?,
            policy: WorkspacePolicy { require_2fa: flag(r.try_get("require_2fa")?)? },
        },
        role: Role::parse(r.try_get("role")?).ok_or_else(|| corrupt("role"))?,
    })
}

/// Whether an account has a second factor, as one SQL expression over `users u`.
/// Keep in step with `Factors::enabled`.
const HAS_2FA: &str = "(EXISTS (SELECT 1 FROM totp_credentials t WHERE t.user_id = u.id) \
                        OR EXISTS (SELECT 1 FROM webauthn_credentials k WHERE k.user_id = u.id))";

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
        let rows = sqlx::query(
            "SELECT w.id, w.name, w.plan, w.require_2fa,
                    (SELECT u.email FROM workspace_members m JOIN users u ON u.id = m.user_id
                     WHERE m.workspace_id = w.id AND m.role = 'owner' ORDER BY m.created_at, u.email LIMIT 1) AS owner
             FROM workspaces w ORDER BY w.created_at, w.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let w = Workspace {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    plan: Plan::parse(r.try_get("plan")?).ok_or_else(|| corrupt("plan"))?,
                    policy: WorkspacePolicy { require_2fa: flag(r.try_get("require_2fa")?)? },
                };
                Ok((w, r.try_get("owner")?))
            })
            .collect()
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
        let row = sqlx::query(
            "SELECT w.id, w.name, w.plan, w.require_2fa, m.role FROM workspaces w
             JOIN workspace_members m ON m.workspace_id = w.id WHERE w.id = $1 AND m.user_id = $2",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(membership).transpose()
    }

    pub async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT w.id, w.name, w.plan, w.require_2fa, m.role FROM workspaces w
             JOIN workspace_members m ON m.workspace_id = w.id WHERE m.user_id = $1 ORDER BY w.name, w.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(membership).collect()
    }

    pub async fn members(&self, workspace_id: &str) -> StoreResult<Vec<WorkspaceMember>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT u.id, u.email, m.role, CASE WHEN {HAS_2FA} THEN 1 ELSE 0 END AS has_2fa
             FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.email"
        )))
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkspaceMember {
                    user_id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    role: Role::parse(r.try_get("role")?).ok_or_else(|| corrupt("role"))?,
                    two_factor_enabled: flag(r.try_get("has_2fa")?)?,
                })
            })
            .collect()
    }

    /// Adds a member; `Conflict` when they already are one.
    pub async fn add_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(workspace_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_workspace_policy(&self, workspace_id: &str, policy: WorkspacePolicy) -> StoreResult<()> {
        sqlx::query("UPDATE workspaces SET require_2fa = $1 WHERE id = $2")
            .bind(i64::from(policy.require_2fa))
            .bind(workspace_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
