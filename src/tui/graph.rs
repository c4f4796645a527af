//! The modules of the app import one another without circles: read from the source, so
//! that a new `use` that closes a circle fails here rather than in review.
//!
//! Every path into the app (`crate::tui::…`, `super::…`) in a module's source is an edge
//! to the deepest module it names. Edges between a module and its own parents do not
//! count (a parent names its children to declare them), and neither do the tests and
//! their fixtures, which use everything and which nothing uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`["state", "links"]`) of every source file under `src/tui`.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "snapshots" && name != "tests" {
                let mut inner = prefix.to_vec();
                inner.push(name);
                modules(&path, &inner, out);
            }
        } else if let Some(stem) = name.strip_suffix(".rs")
            && !["tests", "fixture", "graph"].contains(&stem)
            && !prefix.iter().any(|part| part == "tests")
        {
            let mut module = prefix.to_vec();
            if stem != "mod" {
                module.push(stem.to_owned());
            }
            out.insert(module, path);
        }
    }
}

/// The paths a line names: `a::b::{c, d::e}` gives `a::b::c` and `a::b::d::e`.
fn paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["crate::tui::", "super::"] {
        let mut rest = text;
        while let Some(at) = rest.find(start) {
            // `super::` inside `super::super::` was read with the first one.
            let whole = &rest[at..];
            let before = &rest[..at];
            rest = &rest[at + start.len()..];
            if start == "super::" && (before.ends_with("super::") || before.ends_with("tui::")) {
                continue;
            }
            let end = whole
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(whole.len());
            let path = whole[..end].trim_end_matches(':').to_owned();
            if whole[end..].starts_with('{') {
                let group = &whole[end + 1..whole.find('}').unwrap_or(whole.len())];
                for item in group.split(',') {
                    let item = item.split_whitespace().next().unwrap_or("");
                    let item = if item == "self" { "" } else { item };
                    out.push(format!("{}::{item}", path.trim_end_matches(':')));
                }
            }
            out.push(path);
        }
    }
    out
}

/// The module a path from `from` names, if it is one of `known`.
fn resolve(
    from: &[String],
    is_mod_rs: bool,
    path: &str,
    known: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    let mut base: Vec<String> = if parts.first() == Some(&"crate") {
        parts.drain(..2);
        Vec::new()
    } else {
        // A `mod.rs` is its directory's module; `super` is that module's parent.
        let mut base = from.to_vec();
        if !is_mod_rs || !base.is_empty() {
            base.pop();
        }
        while parts.first() == Some(&"super") {
            parts.remove(0);
            if parts.first() == Some(&"super") {
                base.pop();
            }
        }
        base
    };
    let mut found = None;
    for part in parts {
        base.push(part.to_owned());
        if known.contains(&base) {
            found = Some(base.clone());
        } else {
            break;
        }
    }
    found
}

fn is_prefix(a: &[String], b: &[String]) -> bool {
    a.len() <= b.len() && b[..a.len()] == *a
}

/// Edges of the module graph, without those between a module and its parents.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut files = BTreeMap::new();
    modules(&root, &[], &mut files);
    let known: BTreeSet<Vec<String>> = files.keys().cloned().collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let is_mod_rs = file.ends_with("mod.rs");
        let targets = edges.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for path in paths(code) {
                if let Some(target) = resolve(module, is_mod_rs, &path, &known)
                    && !is_prefix(&target, module)
                    && !is_prefix(module, &target)
                {
                    targets.insert(target);
                }
            }
        }
    }
    edges
}

/// A circle through the graph, if there is one.
fn circle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.clone());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(found) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(found);
        }
    }
    None
}

fn name(module: &[String]) -> String {
    format!("tui::{}", module.join("::"))
}

#[test]
fn the_modules_import_each_other_without_circles() {
    let edges = graph();
    // Modules one level down: a child that uses its parent's sibling is an edge between
    // the two top-level modules.
    let mut top: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, targets) in &edges {
        for to in targets {
            if let (Some(a), Some(b)) = (from.first(), to.first())
                && a != b
            {
                top.entry(vec![a.clone()])
                    .or_default()
                    .insert(vec![b.clone()]);
            }
        }
    }
    for graph in [&edges, &top] {
        if let Some(found) = circle(graph) {
            let names: Vec<String> = found.iter().map(|m| name(m)).collect();
            panic!("an import circle: {}", names.join(" → "));
        }
    }
    let uses = |from: &str, to: &str| {
        top.get(&vec![from.to_owned()])
            .is_some_and(|targets| targets.contains(&vec![to.to_owned()]))
    };
    assert!(
        !uses("model", "action") && !uses("model", "state"),
        "{top:?}"
    );
    assert!(!uses("state", "view") && !uses("view", "update"), "{top:?}");
    for plain in ["model", "action", "state", "view", "update"] {
        assert!(
            !uses(plain, "runtime"),
            "{plain} must not reach the runtime"
        );
    }
}

#[test]
fn the_graph_sees_a_circle_when_there_is_one() {
    let known: BTreeSet<Vec<String>> = [vec!["a".to_owned()], vec!["b".to_owned()]].into();
    let a = resolve(&["b".to_owned()], false, "super::a::Thing", &known);
    assert_eq!(a, Some(vec!["a".to_owned()]));
    let mut edges = BTreeMap::new();
    edges.insert(vec!["a".to_owned()], [vec!["b".to_owned()]].into());
    edges.insert(vec!["b".to_owned()], [vec!["a".to_owned()]].into());
    assert!(circle(&edges).is_some());
    assert_eq!(
        paths("use crate::tui::state::{Settings, layout::areas};"),
        [
            "crate::tui::state::Settings",
            "crate::tui::state::layout::areas",
            "crate::tui::state"
        ]
    );
}
