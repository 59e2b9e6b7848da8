//! Keeps grove-node's files layered: no file reaches, through `crate::…`, `super::…`,
//! `self::…` or a child module's name, a file that reaches back to it. Types sit at the
//! bottom (errors, DTOs, what the store keeps), then the event loop's state and the
//! methods it runs (`state/`), then the handles and their operations, then the crate root.
//!
//! What it reads: every `src/**/*.rs` file up to its `#[cfg(test)]` module (tests may use
//! anything), without comments (doc links are not imports). Methods called on a type
//! defined elsewhere are invisible to it, which is why every `impl NodeState` block lives
//! under `state/` (docs/design.md, section 8).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path: `[]` is the crate root, `["state", "network"]` is `src/state/network.rs`.
type ModPath = Vec<String>;

fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code before its test module, without comments and string contents.
fn code_of(text: &str) -> String {
    // An inline test module (`mod tests {`), not a test-only file (`mod layering;`).
    let inline_tests = text.match_indices("#[cfg(test)]\nmod ").find(|(at, _)| {
        text[*at..]
            .lines()
            .nth(1)
            .is_some_and(|line| line.trim_end().ends_with('{'))
    });
    let text = match inline_tests {
        Some((at, _)) => &text[..at],
        None => text,
    };
    // A quote as a char literal opens no string.
    let text = text.replace("'\"'", "' '").replace("'\\\"'", "' '");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_str = false;
                    out.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                in_str = true;
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths a use tree or path starting at `text` names, each as its segments (`a::{b, c::d}`
/// gives `[a, b]` and `[a, c, d]`).
fn paths_at(text: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let inner = &group[..end];
            let mut items = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[start..]);
            let mut out = Vec::new();
            for item in items.into_iter().filter(|i| !i.trim().is_empty()) {
                for tail in paths_at(item) {
                    let mut path = segments.clone();
                    path.extend(tail);
                    out.push(path);
                }
            }
            if out.is_empty() {
                out.push(segments);
            }
            return out;
        }
        let len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segments.push(rest[..len].to_string());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    vec![segments]
}

/// Every module path the file's code names, relative to the crate root.
fn references(module: &ModPath, code: &str, children: &[String]) -> Vec<ModPath> {
    let mut out = Vec::new();
    let mut starts: Vec<(&str, ModPath)> =
        vec![("crate::", Vec::new()), ("self::", module.clone())];
    if !module.is_empty() {
        starts.push(("super::", module[..module.len() - 1].to_vec()));
    }
    let child_starts: Vec<String> = children.iter().map(|c| format!("{c}::")).collect();
    for (i, _) in code.char_indices() {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == ':' || c == '$') {
            continue;
        }
        let here = &code[i..];
        for (start, base) in &starts {
            if let Some(rest) = here.strip_prefix(start) {
                for tail in paths_at(rest) {
                    let mut path = base.clone();
                    path.extend(tail);
                    out.push(path);
                }
            }
        }
        for (child, start) in children.iter().zip(&child_starts) {
            if here.starts_with(start.as_str()) {
                let mut path = module.clone();
                path.push(child.clone());
                out.push(path);
            }
        }
    }
    out
}

/// The file a path lands in: its longest prefix that is a module with a file.
fn resolve(path: &[String], modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "lib.rs".to_string()
    } else {
        m.join("/")
    }
}

/// Each strongly connected component of more than one module (Tarjan's algorithm).
fn loops(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a ModPath) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn graph_of(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        let children: Vec<String> = modules
            .iter()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(&module))
            .map(|m| m[module.len()].clone())
            .collect();
        let edges: BTreeSet<ModPath> = references(&module, &code, &children)
            .iter()
            .map(|p| resolve(p, &modules))
            .filter(|target| *target != module)
            .collect();
        graph.insert(module, edges);
    }
    graph
}

#[test]
fn grove_node_files_import_no_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.len() > 10, "read too few files: {:?}", graph.keys());
    let found = loops(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|component| {
            let members: BTreeSet<&ModPath> = component.iter().collect();
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| members.contains(to))
                        .map(move |to| format!("{} -> {}", name(from), name(to)))
                })
                .collect();
            format!(
                "{} files import each other in a loop: {}\n  {}",
                component.len(),
                component.iter().map(name).collect::<Vec<_>>().join(", "),
                edges.join("\n  ")
            )
        })
        .collect();
    assert!(found.is_empty(), "{}", described.join("\n"));
}

#[test]
fn the_reader_sees_grouped_relative_and_child_paths() {
    let module: ModPath = vec!["state".into()];
    let code = code_of(
        "use crate::{error::{NodeError, Result}, dto};\nuse super::x;\n// crate::commented\n\
         fn f() { net::Network::new(); let s = \"crate::in_a_string\"; }\n\
         #[cfg(test)]\nmod tests {\n    use crate::late;\n}\n",
    );
    let found = references(&module, &code, &["net".to_string()]);
    let want: Vec<ModPath> = vec![
        vec!["error".into(), "NodeError".into()],
        vec!["error".into(), "Result".into()],
        vec!["dto".into()],
        vec!["x".into()],
        vec!["state".into(), "net".into()],
    ];
    assert_eq!(found, want);
    // A loop of two is found and named; a chain is not a loop.
    let a: ModPath = vec!["a".into()];
    let b: ModPath = vec!["b".into()];
    let c: ModPath = vec!["c".into()];
    let mut graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([c.clone()])),
        (c.clone(), BTreeSet::new()),
    ]);
    assert!(loops(&graph).is_empty());
    graph.insert(c.clone(), BTreeSet::from([a.clone()]));
    assert_eq!(loops(&graph), vec![vec![a, b, c]]);
}
