//! What Latchkey does, one use case per function: the HTTP handlers and the command
//! line both call in here, so the rules are enforced the same way on every surface.

pub mod account;
mod alerts;
pub mod api_tokens;
pub mod auth;
pub mod device;
pub mod email;
pub mod events;
pub mod history;
pub mod maintenance;
pub mod mfa;
pub mod oauth;
pub mod operator;
pub mod passkeys;
pub mod rate_limit;
pub mod sessions;
pub mod sign_in;
pub mod trusted_devices;
pub mod two_factor;
pub mod webauthn;
pub mod workspaces;

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::domain::location::Location;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::AccountSummary;

/// Who is asking, as far as the network can tell.
#[derive(Debug, Clone)]
pub struct ClientContext {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub location: Location,
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A sign-in: browser, desktop app or CLI.
    Session(SessionCredential),
    /// A personal access token (its id): it reads and uses the account, but never manages
    /// its credentials (password, second factors, tokens, sessions), and is never "recent".
    ApiToken(String),
}

#[derive(Debug, Clone)]
pub struct SessionCredential {
    pub id: String,
    /// When the session last proved a password or second factor (sign-in or re-auth).
    pub auth_at: DateTime<Utc>,
    /// The trusted device the session signed in from, if any.
    pub trusted_device_id: Option<String>,
    /// How the session was proven (RFC 8176).
    pub amr: crate::domain::proof::Amr,
}

/// A signed-in caller, as the authentication extractor found them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub credential: Credential,
    /// The account, as it was when this request was authenticated.
    pub account: AccountSummary,
}

impl Caller {
    /// The session, when the caller signed in (not an API token).
    pub fn session(&self) -> Option<&SessionCredential> {
        match &self.credential {
            Credential::Session(s) => Some(s),
            Credential::ApiToken(_) => None,
        }
    }

    /// The session's id, or the API token's: what CSRF tokens and "current" markers key on.
    pub fn credential_id(&self) -> &str {
        match &self.credential {
            Credential::Session(s) => &s.id,
            Credential::ApiToken(id) => id,
        }
    }

    /// The session, or 403 `session_required` for an API token.
    pub fn require_session(&self) -> Result<&SessionCredential> {
        self.session().ok_or(Error::SessionRequired)
    }

    /// 403 `reauth_required` unless the caller is a session that proved a password or a
    /// second factor within the re-auth window (an API token never has).
    pub fn require_recent_auth(&self, state: &AppState) -> Result<&SessionCredential> {
        let session = self.require_session()?;
        if state.clock.now() - session.auth_at > state.config.settings.reauth_window {
            return Err(Error::ReauthRequired);
        }
        Ok(session)
    }
}

/// The layers stay layered: no import cycle among the services nor among the store's
/// modules, nothing below the HTTP
/// layer reaches up into it, and the surfaces (API, pages, command line) reach storage
/// only through the services. A cycle fails with its path.
#[cfg(test)]
mod layers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    fn source(rel: &str) -> String {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap();
        // Test modules close each file and may import anything.
        text.split("#[cfg(test)]").next().unwrap_or_default().to_owned()
    }

    fn files(dir: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".rs"))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        out.sort();
        out
    }

    /// Which sibling modules each module of `dir` names through `super::`.
    fn module_graph(dir: &str) -> BTreeMap<String, BTreeSet<String>> {
        let prefix = format!("{dir}/");
        let modules: BTreeSet<String> = files(dir)
            .iter()
            .map(|f| f.trim_start_matches(&prefix).trim_end_matches(".rs").to_owned())
            .filter(|m| m != "mod")
            .collect();
        let mut graph = BTreeMap::new();
        for m in &modules {
            let text = source(&format!("{dir}/{m}.rs"));
            let mut used = BTreeSet::new();
            for (i, _) in text.match_indices("super::") {
                let rest = &text[i + "super::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(list) => list.split('}').next().unwrap_or_default().split(',').collect(),
                    None => vec![rest],
                };
                for name in names {
                    let name: String =
                        name.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if modules.contains(&name) && &name != m {
                        used.insert(name);
                    }
                }
            }
            graph.insert(m.clone(), used);
        }
        graph
    }

    fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == node) {
                let mut cycle = path[at..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            if done.contains(node) {
                return None;
            }
            path.push(node.to_owned());
            for next in graph.get(node).into_iter().flatten() {
                if let Some(c) = visit(next, graph, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(node.to_owned());
            None
        }
        let mut done = BTreeSet::new();
        graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
    }

    #[test]
    fn the_services_import_each_other_without_a_cycle() {
        let graph = module_graph("src/service");
        assert!(graph["auth"].contains("sign_in"), "the parser sees imports: {graph:?}");
        assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    }

    #[test]
    fn the_stores_modules_import_each_other_without_a_cycle() {
        let graph = module_graph("src/store");
        assert!(graph["recovery"].contains("pending"), "the parser sees imports: {graph:?}");
        assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    }

    #[test]
    fn a_cycle_is_found_and_named() {
        let mut graph = BTreeMap::new();
        for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
            graph.entry(from.to_owned()).or_insert_with(BTreeSet::new).insert(to.to_owned());
        }
        graph.insert("c".into(), ["a".to_owned()].into());
        assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    }

    #[test]
    fn lower_layers_never_reach_up_and_surfaces_reach_storage_through_services() {
        let below = ["src/domain", "src/store", "src/service"].iter().flat_map(|d| files(d));
        for file in below.chain(["src/state.rs".to_owned(), "src/metrics.rs".to_owned()]) {
            let text = source(&file);
            for up in ["crate::http", "crate::web", "crate::cli"] {
                assert!(!text.contains(up), "{file} imports {up}");
            }
        }
        for file in files("src/domain") {
            for io in ["crate::store", "crate::state", "sqlx", "tokio"] {
                assert!(!source(&file).contains(io), "{file} (the domain, no I/O) uses {io}");
            }
        }
        for file in ["src/http", "src/web", "src/cli"].iter().flat_map(|d| files(d)) {
            let text = source(&file);
            assert!(!text.contains(".store."), "{file} calls the store directly");
            assert!(!text.contains("crate::store"), "{file} handles the store's own types");
        }
    }
}
