//! `latchkey workspace add|list|add-owner|set-plan`: what only the operator does to
//! workspaces.

use clap::Subcommand;

use crate::domain::workspace::Plan;
use crate::error::Error;
use crate::service;
use crate::state::AppState;

use super::{account_of, describe, parse_email};

#[derive(Debug, Subcommand)]
pub(super) enum WorkspaceCommand {
    /// Create a workspace with its first owner
    Add {
        name: String,
        #[arg(long)]
        owner: String,
        #[arg(long, default_value = "free", value_parser = ["free", "team"])]
        plan: String,
    },
    /// Id, name, plan and owner of each workspace
    List,
    /// Make an account an owner: the recovery for a workspace whose owners are gone or locked out
    AddOwner { workspace_id: String, email: String },
    /// Change a workspace's plan (the API cannot)
    SetPlan {
        workspace_id: String,
        #[arg(value_parser = ["free", "team"])]
        plan: String,
    },
}

pub(super) async fn run(state: &AppState, cmd: WorkspaceCommand) -> anyhow::Result<()> {
    match cmd {
        WorkspaceCommand::List => {
            let all = service::workspaces::list_all(state).await.map_err(describe)?;
            println!("{:<34} {:<30} {:<6} OWNER", "ID", "NAME", "PLAN");
            for (w, owner) in all {
                println!("{:<34} {:<30} {:<6} {}", w.id, w.name, w.plan.as_str(), owner.as_deref().unwrap_or("-"));
            }
            Ok(())
        }
        WorkspaceCommand::SetPlan { workspace_id, plan } => {
            let plan = Plan::parse(&plan).ok_or_else(|| anyhow::anyhow!("plan must be free or team"))?;
            service::workspaces::set_plan(state, &workspace_id, plan).await.map_err(describe)?;
            println!("workspace {workspace_id} is on the {} plan", plan.as_str());
            Ok(())
        }
        WorkspaceCommand::AddOwner { workspace_id, email } => {
            let email = parse_email(&email)?;
            let user = account_of(state, &email).await?;
            service::workspaces::add_owner(state, &workspace_id, &user.id, &user.email).await.map_err(|e| match e {
                Error::NotFound => anyhow::anyhow!("no workspace has the id {workspace_id}"),
                other => describe(other),
            })?;
            println!("{email} is an owner of workspace {workspace_id}");
            Ok(())
        }
        WorkspaceCommand::Add { name, owner, plan } => {
            let email = parse_email(&owner)?;
            let user = account_of(state, &email).await?;
            let plan = Plan::parse(&plan).ok_or_else(|| anyhow::anyhow!("plan must be free or team"))?;
            let w = service::workspaces::create(state, &user.id, &name, plan).await.map_err(describe)?;
            println!("created workspace {} ({}) on the {} plan, owned by {email}", w.name, w.id, w.plan.as_str());
            Ok(())
        }
    }
}
