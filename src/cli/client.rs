//! `latchkey client add|list|remove`: the apps allowed to introspect tokens.

use clap::Subcommand;

use crate::service;
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub(super) enum ClientCommand {
    /// Make a client for POST /api/v1/introspect; prints its id and its secret, once
    Add { name: String },
    /// Every client: id, name, when it was made
    List,
    /// Remove a client: its next request is refused
    Remove { id: String },
}

pub(super) async fn run(state: &AppState, cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Add { name } => {
            let made = service::introspection::add_client(state, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("client_id: {}", made.client.id);
            println!("client_secret: {}", made.secret.expose());
        }
        ClientCommand::List => {
            println!("{:<34} {:<30} CREATED", "ID", "NAME");
            for c in service::introspection::clients(state).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("{:<34} {:<30} {}", c.id, c.name, c.created_at.format("%Y-%m-%d %H:%M UTC"));
            }
        }
        ClientCommand::Remove { id } => {
            service::introspection::remove_client(state, &id).await.map_err(|e| match e {
                crate::error::Error::NotFound => anyhow::anyhow!("no client {id}"),
                other => anyhow::anyhow!("{other}"),
            })?;
            println!("removed client {id}");
        }
    }
    Ok(())
}
