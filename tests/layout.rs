//! The source tree's layout: no import circle between the files of a crate.
//!
//! Each workspace crate's `src/` is read as text. A file is a module
//! (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs`
//! the root); a file refers to another when its code (not its comments,
//! not its `#[cfg(test)]` module) names a path into it: `crate::a::b::…`,
//! `super::…`, `self::…`, or a child module by its name. A name reached
//! through a module that re-exports it (`pub use`) is followed to the file
//! that defines it, and a module's own re-exports are not what it depends
//! on. A module and its own descendants may refer to each other (a parent
//! declares and uses its children, a child implements its parent's types);
//! any other circle of references fails, with the files and what ties
//! them. (The test kit, whose library is `tests/lib.rs` beside its test
//! binaries rather than a `src/`, is not read.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from its crate's root.
type Module = Vec<String>;

/// A path as a file names it: its first segment, then the rest.
type Named = (String, Vec<String>);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the tests crate")
        .to_owned()
}

/// The workspace members' `src/` directories, from the root manifest.
fn crate_sources(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("the root manifest lists its members")
        .0;
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root.join(m).join("src"))
        .filter(|src| src.is_dir())
        .collect()
}

/// Every `.rs` file under `dir` but `src/bin/`, each with its module path.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("bin") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod") {
                module.pop();
            }
            if module.len() == 1 && (module[0] == "lib" || module[0] == "main") {
                module.clear();
            }
            out.insert(module, path);
        }
    }
    out
}

/// The file's code: comments and the `#[cfg(test)]` module removed.
fn code(text: &str) -> String {
    let text = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a file names a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// In its code.
    Path,
    /// In a `use`.
    Import,
    /// In a `pub use` (or `pub(…) use`): a name the module offers others,
    /// not one its own code needs. Those who name it through the module
    /// are followed to where it is defined.
    Export,
}

const fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The paths `code` names, each as the identifiers after its first
/// segment (`crate`, `super`, `self`, or the first identifier of a `use`),
/// with the segment itself and how it is named; a group
/// (`crate::{a::b, c}`) gives one path per member, its nested groups read
/// the same way.
fn paths(code: &str) -> Vec<(String, Vec<String>, Use)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = i == 0 || (!is_ident(bytes[i - 1]) && bytes[i - 1] != b':');
        if !starts || !is_ident(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let head = &code[start..i];
        let before = code[..start].trim_end();
        let after_use = before.strip_suffix("use").map(|b| {
            let b = b.trim_end();
            if b.ends_with("pub") || b.ends_with(')') {
                Use::Export
            } else {
                Use::Import
            }
        });
        let anchored = matches!(head, "crate" | "super" | "self");
        if (anchored || after_use.is_some()) && bytes[i..].starts_with(b"::") {
            let mut found = Vec::new();
            i = tail(bytes, i, &mut Vec::new(), &mut found);
            let kind = after_use.unwrap_or(Use::Path);
            out.extend(found.into_iter().map(|p| (head.to_owned(), p, kind)));
        }
    }
    out
}

/// The identifier at `i`, if any, and where it ends.
fn ident(bytes: &[u8], i: usize) -> Option<(String, usize)> {
    let end = i + bytes[i.min(bytes.len())..]
        .iter()
        .take_while(|c| is_ident(**c))
        .count();
    (end > i).then(|| (String::from_utf8_lossy(&bytes[i..end]).into_owned(), end))
}

/// Reads `::a::b` or `::{a, b::c}` from `i`; pushes each complete path
/// (`prefix` included) into `found`; returns where it stopped.
fn tail(
    bytes: &[u8],
    mut i: usize,
    prefix: &mut Vec<String>,
    found: &mut Vec<Vec<String>>,
) -> usize {
    let depth = prefix.len();
    while bytes[i..].starts_with(b"::") {
        i += 2;
        if bytes.get(i) == Some(&b'{') {
            i += 1;
            loop {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_whitespace() || *c == b',')
                {
                    i += 1;
                }
                if bytes.get(i).is_none_or(|c| *c == b'}') {
                    i += 1;
                    break;
                }
                let Some((name, end)) = ident(bytes, i) else {
                    i += 1;
                    continue;
                };
                prefix.push(name);
                i = tail(bytes, end, prefix, found);
                prefix.truncate(depth);
                // Skip an `as name` or anything else up to the member's end.
                while bytes.get(i).is_some_and(|c| *c != b',' && *c != b'}') {
                    i += 1;
                }
            }
            return i;
        }
        let Some((name, end)) = ident(bytes, i) else {
            break;
        };
        prefix.push(name);
        i = end;
    }
    found.push(prefix.clone());
    prefix.truncate(depth);
    i
}

/// A crate's files and what each file's `use`s name.
struct Crate {
    modules: BTreeMap<Module, PathBuf>,
    /// Per module, the paths its `use` statements name.
    uses: BTreeMap<Module, Vec<Named>>,
}

impl Crate {
    fn read(src: &Path) -> (Self, BTreeMap<Module, Vec<Named>>) {
        let modules = modules(src);
        let mut uses = BTreeMap::new();
        let mut named = BTreeMap::new();
        for (module, file) in &modules {
            let text = code(&std::fs::read_to_string(file).unwrap());
            let mut all = Vec::new();
            let mut used = Vec::new();
            for (head, path, kind) in paths(&text) {
                if kind != Use::Path {
                    used.push((head.clone(), path.clone()));
                }
                if kind != Use::Export {
                    all.push((head, path));
                }
            }
            uses.insert(module.clone(), used);
            named.insert(module.clone(), all);
        }
        (Self { modules, uses }, named)
    }

    /// The file whose item a path from `from` names: the module the path
    /// leads into, followed through the `use` that brings an item into a
    /// module from another (a re-export); `None` when it leaves the crate.
    fn target(&self, from: &Module, head: &str, path: &[String], depth: usize) -> Option<Module> {
        let mut full: Module = match head {
            "crate" => Vec::new(),
            "self" => from.clone(),
            "super" => from[..from.len().checked_sub(1)?].to_vec(),
            // A `use` of a child module by its name.
            child => {
                let mut m = from.clone();
                m.push(child.to_owned());
                if !self.modules.contains_key(&m) {
                    return None;
                }
                m
            }
        };
        let mut rest = path.iter().peekable();
        // `super::super::…`
        while head == "super" && rest.peek().is_some_and(|s| *s == "super") {
            full.pop();
            rest.next();
        }
        for segment in rest {
            let mut child = full.clone();
            child.push(segment.clone());
            if self.modules.contains_key(&child) {
                full = child;
                continue;
            }
            // An item of `full`'s: defined there, or brought in by a `use`.
            let brought = self
                .uses
                .get(&full)
                .into_iter()
                .flatten()
                .find(|(_, p)| p.last() == Some(segment));
            if let Some((h, p)) = brought
                && depth < 8
                && let Some(to) = self.target(&full, h, p, depth + 1)
            {
                return Some(to);
            }
            break;
        }
        self.modules.contains_key(&full).then_some(full)
    }
}

/// Whether one module is the other or contains it.
fn related(a: &Module, b: &Module) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// The strongly connected sets of more than one module (Tarjan).
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                set.push(w.clone());
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                set.sort();
                s.out.push(set);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The circles that are not within one family: a module and its
/// descendants name each other's items (the parent declares and uses its
/// children, a child implements its parent's types).
fn foreign_circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    circles(edges)
        .into_iter()
        .filter(|circle| !circle.iter().all(|a| circle.iter().all(|b| related(a, b))))
        .collect()
}

/// Each crate's references between files, from the module to the modules
/// it names with the names that tie them.
fn references(src: &Path) -> BTreeMap<Module, BTreeMap<Module, BTreeSet<String>>> {
    let (krate, named) = Crate::read(src);
    let mut out: BTreeMap<Module, BTreeMap<Module, BTreeSet<String>>> = BTreeMap::new();
    for (module, paths) in named {
        let edges = out.entry(module.clone()).or_default();
        for (head, path) in paths {
            let Some(to) = krate.target(&module, &head, &path, 0) else {
                continue;
            };
            if to == module {
                continue;
            }
            edges
                .entry(to)
                .or_default()
                .insert(format!("{head}::{}", path.join("::")));
        }
    }
    out
}

#[test]
fn no_crate_has_an_import_circle_between_its_files() {
    let root = workspace();
    let sources = crate_sources(&root);
    assert!(sources.len() >= 10, "the workspace's crates: {sources:?}");
    let mut found = Vec::new();
    for src in sources {
        let references = references(&src);
        let edges = edges_in(&references);
        for circle in foreign_circles(&edges) {
            let mut lines = vec![format!(
                "{}: {}",
                src.strip_prefix(&root).unwrap().display(),
                circle
                    .iter()
                    .map(|m| m.join("::"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )];
            for from in &circle {
                for (to, names) in &references[from] {
                    if circle.contains(to) {
                        lines.push(format!(
                            "  {} -> {}: {}",
                            from.join("::"),
                            to.join("::"),
                            names.iter().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
            }
            found.push(lines.join("\n"));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// Which modules each module refers to, from its references.
fn edges_in(
    references: &BTreeMap<Module, BTreeMap<Module, BTreeSet<String>>>,
) -> BTreeMap<Module, BTreeSet<Module>> {
    references
        .iter()
        .map(|(from, to)| (from.clone(), to.keys().cloned().collect()))
        .collect()
}

/// The reading itself, on a crate made up here: a circle through a
/// grouped import, `super`, a re-export and a child named by a `use` is
/// found; a parent and its child referring to each other are not a circle.
#[test]
fn a_circle_is_found_and_a_parent_with_its_child_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("b")).unwrap();
    let write = |file: &str, text: &str| std::fs::write(src.join(file), text).unwrap();
    write("lib.rs", "mod a;\nmod b;\nmod c;\n");
    write(
        "a.rs",
        "use crate::{c::C, x};\n// crate::b::Not, a comment\n",
    );
    write(
        "b/mod.rs",
        "mod d;\npub use d::D;\nuse d::E;\npub struct B;\n",
    );
    write("b/d.rs", "use super::B;\npub struct D;\n");
    write(
        "c.rs",
        "pub fn f() -> crate::b::D { todo!() }\n#[cfg(test)]\nuse crate::a;\n",
    );
    let edges = edges_in(&references(src));
    let module = |m: &str| -> Module {
        m.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let set = |ms: &[&str]| ms.iter().map(|m| module(m)).collect::<BTreeSet<_>>();
    // `x` is no module: the path ends in the crate's root. c names D
    // through b, which offers it (`pub use`) from d: c depends on d, and
    // b's offer is no dependency of b's.
    assert_eq!(edges[&module("a")], set(&["c", ""]));
    assert_eq!(edges[&module("c")], set(&["b::d"]));
    assert_eq!(edges[&module("b")], set(&["b::d"]));
    assert_eq!(edges[&module("b::d")], set(&["b"]));
    assert_eq!(circles(&edges), vec![vec![module("b"), module("b::d")]]);
    assert!(foreign_circles(&edges).is_empty(), "a family's own circle");

    // c now names a outside its test module, and d names c: a -> c -> a,
    // and a -> d -> c -> a, through d's family.
    write("c.rs", "use crate::a::A;\npub struct C;\n");
    write("b/d.rs", "use super::B;\nuse crate::c::C;\npub struct D;\n");
    write("a.rs", "use crate::{c::C, b::d::D};\npub struct A;\n");
    let edges = edges_in(&references(src));
    assert_eq!(
        foreign_circles(&edges),
        vec![vec![module("a"), module("b"), module("b::d"), module("c")]],
        "{edges:?}"
    );
}
