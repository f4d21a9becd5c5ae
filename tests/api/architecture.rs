//! The layers stay layered, checked on the source: no import cycle among the modules of
//! any layer, nor among the crate's top-level modules; nothing reaches up (the domain does
//! no I/O and names nothing above it, the store names only the domain, the services never
//! name a surface); and the surfaces (API, pages, command line) reach storage, and its
//! types, only through the services. A failure names the cycle or the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file's code without its test module (tests may import anything).
fn source(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("#[cfg(test)]").next().unwrap_or_default().to_owned()
}

/// The `.rs` files of `dir` (relative to the crate), sorted.
fn files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    out.sort();
    out
}

/// The `.rs` files under `dir`, its folders' too, sorted.
fn all_files(dir: &str) -> Vec<PathBuf> {
    let mut out = files(dir);
    for entry in std::fs::read_dir(root().join(dir)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&format!("{dir}/{}", stem(&path))));
        }
    }
    out.sort();
    out
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_str().unwrap().to_owned()
}

/// The names right after each `prefix` in `text` (`super::{a, b}` gives both).
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices(prefix) {
        let rest = &text[i + prefix.len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(list) => list.split('}').next().unwrap_or_default().split(',').collect(),
            None => vec![rest],
        };
        for name in names {
            let name: String = name.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            found.insert(name);
        }
    }
    found
}

/// Which sibling modules each module of the layer `dir` names: a file through `super::`,
/// a folder module (`x/mod.rs` and `x/*.rs`) through `super::` in its `mod.rs` and
/// `super::super::` in the files beside it.
fn layer_graph(dir: &str) -> Graph {
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files(dir) {
        if stem(&file) != "mod" {
            sources.entry(stem(&file)).or_default().push(source(&file));
        }
    }
    for entry in std::fs::read_dir(root().join(dir)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = stem(&path);
            for file in files(&format!("{dir}/{name}")) {
                let text = source(&file);
                let seen = if stem(&file) == "mod" { text } else { keep_outer(&text) };
                sources.entry(name.clone()).or_default().push(seen);
            }
        }
    }
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let mut graph = Graph::new();
    for (m, texts) in &sources {
        let used: BTreeSet<String> = texts.iter().flat_map(|t| names_after(t, "super::")).collect();
        graph.insert(m.clone(), used.into_iter().filter(|n| modules.contains(n) && n != m).collect());
    }
    graph
}

/// A nested file's references to the layer above its folder, written as `super::x`:
/// `super::super::x` becomes `super::x`, and its own `super::` (the folder) is dropped.
fn keep_outer(text: &str) -> String {
    text.replace("super::super::", "\u{1}").replace("super::", "folder::").replace('\u{1}', "super::")
}

/// The crate's top-level modules (a file or a folder under `src/`) and which others each
/// names through `crate::`.
fn crate_graph() -> Graph {
    let mut graph = Graph::new();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        let name = stem(&path);
        if name == "main" || name == "lib" {
            continue;
        }
        let sources = if path.is_dir() { all_files(&format!("src/{name}")) } else { vec![path.clone()] };
        let used: BTreeSet<String> =
            sources.iter().flat_map(|p| names_after(&source(p), "crate::")).filter(|n| *n != name).collect();
        graph.insert(name, used);
    }
    graph
}

fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(node: &str, graph: &Graph, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
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
fn no_layer_has_an_import_cycle_among_its_modules() {
    for dir in ["src/domain", "src/store", "src/service", "src/http", "src/web", "src/cli"] {
        let graph = layer_graph(dir);
        assert_eq!(find_cycle(&graph), None, "{dir}: {graph:#?}");
    }
    // Folder modules count as one module of their layer, and their insides are checked too.
    for dir in ["src/domain/workspace", "src/service/workspaces", "src/http/workspaces"] {
        let graph = layer_graph(dir);
        assert_eq!(find_cycle(&graph), None, "{dir}: {graph:#?}");
    }
    assert!(layer_graph("src/service")["workspaces"].contains("rate_limit"), "a nested file's super::super:: counts");
    // The parser sees imports.
    assert!(layer_graph("src/store")["recovery"].contains("pending"));
    assert!(layer_graph("src/service")["auth"].contains("sign_in"));
    assert!(layer_graph("src/web")["security"].contains("security_page"));
}

#[test]
fn the_crates_top_level_modules_import_each_other_without_a_cycle() {
    let graph = crate_graph();
    assert!(graph["server"].contains("http") && graph["web"].contains("service"), "{graph:?}");
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        graph.entry(from.to_owned()).or_default().insert(to.to_owned());
    }
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}

#[test]
fn lower_layers_never_reach_up() {
    let graph = crate_graph();
    let allowed = |layer: &str, may: &[&str]| {
        let extra: Vec<&String> = graph[layer].iter().filter(|m| !may.contains(&m.as_str())).collect();
        assert!(extra.is_empty(), "{layer} names {extra:?}, above or beside it");
    };
    allowed("domain", &[]);
    allowed("store", &["domain"]);
    for below in
        ["domain", "store", "service", "state", "mail", "metrics", "config", "secrets", "hasher", "geo", "oidc"]
    {
        for up in ["http", "web", "cli", "server"] {
            assert!(!graph[below].contains(up), "{below} names {up}");
        }
    }
    for file in all_files("src/domain") {
        for io in ["sqlx", "tokio", "reqwest", "std::fs", "std::net::TcpStream"] {
            assert!(!source(&file).contains(io), "{} (the domain, no I/O) uses {io}", file.display());
        }
    }
}

#[test]
fn the_surfaces_reach_storage_and_its_types_only_through_the_services() {
    for dir in ["src/http", "src/web", "src/cli"] {
        for file in all_files(dir) {
            let text = source(&file);
            assert!(!text.contains(".store."), "{} calls the store directly", file.display());
            assert!(!text.contains("crate::store"), "{} handles the store's own types", file.display());
        }
    }
}
