//! Invitations to a workspace, addressed to an email. A link token is kept only as its
//! SHA-256; an invitation ends (`ended_at`) when accepted, revoked or voided by another
//! being accepted.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::workspace_events::insert_event;
use super::workspaces::{lock_workspace, role_from, role_in};
use super::{Store, StoreResult, from_millis, new_id, to_millis};
use crate::domain::mail::Letter;
use crate::domain::workspace::events::{Detail, EventKind, NewEvent};
use crate::domain::workspace::{Invitation, Role};

/// An invitation as it is written.
pub struct NewInvitation<'a> {
    pub workspace_id: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub invited_by: &'a str,
    /// The inviter's credential: it must still be live under their account's lock.
    pub acting: super::Acting<'a>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

fn invitation(r: &sqlx::any::AnyRow) -> StoreResult<Invitation> {
    Ok(Invitation {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        email: r.try_get("email")?,
        role: role_from(r.try_get("role")?)?,
        created_at: from_millis(r.try_get("created_at")?)?,
        expires_at: from_millis(r.try_get("expires_at")?)?,
    })
}

const COLUMNS: &str = "i.id, i.workspace_id, i.email, i.role, i.created_at, i.expires_at";

impl Store {
    /// Stores the invitation, records it and queues its mail (none when the address had
    /// its hour's worth), in one transaction; returns its id.
    pub async fn create_invitation(&self, new: NewInvitation<'_>, letter: Option<&Letter>) -> StoreResult<String> {
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        super::account_lock::lock_account_as(&mut tx, new.invited_by, new.acting).await?;
        sqlx::query(
            "INSERT INTO workspace_invitations (id, workspace_id, email, role, token_hash, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(new.workspace_id)
        .bind(new.email)
        .bind(new.role.as_str())
        .bind(new.token_hash)
        .bind(new.invited_by)
        .bind(to_millis(new.now))
        .bind(to_millis(new.expires_at))
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            workspace_id: new.workspace_id,
            actor_id: Some(new.invited_by),
            kind: EventKind::InvitationSent,
            detail: Detail::member(new.email, new.role),
            at: new.now,
        };
        insert_event(&mut tx, &event).await?;
        if let Some(letter) = letter {
            super::outbox::queue_mail(&mut tx, letter, new.now).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The invitations still open, newest first.
    pub async fn pending_invitations(&self, workspace_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM workspace_invitations i
             WHERE i.workspace_id = $1 AND i.ended_at IS NULL AND i.expires_at > $2 ORDER BY i.created_at DESC, i.id"
        )))
        .bind(workspace_id)
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invitation).collect()
    }

    /// False when it is not an open invitation of this workspace.
    pub async fn revoke_invitation(
        &self,
        workspace_id: &str,
        invitation_id: &str,
        actor_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE workspace_invitations SET ended_at = $1
             WHERE id = $2 AND workspace_id = $3 AND ended_at IS NULL AND expires_at > $1 RETURNING email, role",
        )
        .bind(to_millis(now))
        .bind(invitation_id)
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let email: String = row.try_get("email")?;
        let detail = Detail::member(&email, role_from(row.try_get("role")?)?);
        let event =
            NewEvent { workspace_id, actor_id: Some(actor_id), kind: EventKind::InvitationRevoked, detail, at: now };
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The open invitation a link names, with its workspace's name.
    pub async fn live_invitation(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(Invitation, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, w.name FROM workspace_invitations i JOIN workspaces w ON w.id = i.workspace_id
             WHERE i.token_hash = $1 AND i.ended_at IS NULL AND i.expires_at > $2"
        )))
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((invitation(&r)?, r.try_get("name")?))).transpose()
    }

    /// Uses the invitation for `user_id`, under the workspace's lock: they join with its
    /// role (a member already keeps theirs), and the address's other open invitations to
    /// the workspace end. `None` when it was used, revoked or expired in the meantime.
    pub async fn accept_invitation(
        &self,
        invite: &Invitation,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Role>> {
        let mut tx = self.pool.begin().await?;
        lock_workspace(&mut tx, &invite.workspace_id).await?;
        let used = sqlx::query(
            "UPDATE workspace_invitations SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL AND expires_at > $1",
        )
        .bind(to_millis(now))
        .bind(&invite.id)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query("UPDATE workspace_invitations SET ended_at = $1 WHERE workspace_id = $2 AND email = $3 AND ended_at IS NULL")
            .bind(to_millis(now))
            .bind(&invite.workspace_id)
            .bind(&invite.email)
            .execute(&mut *tx)
            .await?;
        let role = match role_in(&mut tx, &invite.workspace_id, user_id).await? {
            Some(role) => role,
            None => {
                sqlx::query(
                    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at, added_by)
                     VALUES ($1, $2, $3, $4, (SELECT invited_by FROM workspace_invitations WHERE id = $5))",
                )
                .bind(&invite.workspace_id)
                .bind(user_id)
                .bind(invite.role.as_str())
                .bind(to_millis(now))
                .bind(&invite.id)
                .execute(&mut *tx)
                .await?;
                let event = NewEvent {
                    workspace_id: &invite.workspace_id,
                    actor_id: Some(user_id),
                    kind: EventKind::InvitationAccepted,
                    detail: Detail::member(&invite.email, invite.role),
                    at: now,
                };
                insert_event(&mut tx, &event).await?;
                invite.role
            }
        };
        tx.commit().await?;
        Ok(Some(role))
    }
}
