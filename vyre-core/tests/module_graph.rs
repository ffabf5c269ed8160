//! The module graph of vyre-core has no cycles: `ir` at the bottom names
//! nothing above it, and no two modules (top-level, or files within any
//! module directory) import each other, directly or around a loop.
//!
//! Edges are read from the sources: a file of module `a` that names
//! `crate::b` (or, within a directory, `super::b`) depends on `b`. Comments
//! and `#[cfg(test)]` tails are ignored; doc links count only when written
//! as paths in code, not in `//` comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The code of a file without comments and without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names `prefix::NAME` occurring in `code`, for NAME in `names`.
fn named(code: &str, prefix: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if names.contains(&name) {
            out.insert(name);
        }
    }
    out
}

/// Every cycle edge (a -> b where b reaches a again).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if seen.insert(x.clone()) {
                stack.extend(graph.get(&x).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut out = Vec::new();
    for (a, deps) in graph {
        for b in deps {
            if reaches(b, a) {
                out.push((a.clone(), b.clone()));
            }
        }
    }
    out
}

/// The graph of the modules directly under `dir` (files and directories),
/// with `prefix` naming a sibling (`crate::` at the top, `super::` inside).
fn graph(dir: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut mods = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if name != "mod" && name != "lib" && (p.is_dir() || !name.is_empty()) {
            mods.insert(name);
        }
    }
    let mut g = BTreeMap::new();
    for m in &mods {
        let file = dir.join(format!("{m}.rs"));
        let files = if file.exists() {
            vec![file]
        } else {
            rust_files(&dir.join(m))
        };
        let mut deps = BTreeSet::new();
        for f in files {
            deps.extend(named(&code(&f), prefix, &mods));
        }
        deps.remove(m);
        g.insert(m.clone(), deps);
    }
    g
}

#[test]
fn vyre_core_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let top = graph(&src, "crate::");
    assert!(
        top["ir"].is_empty(),
        "ir must name nothing above it: {:?}",
        top["ir"]
    );
    let found = cycles(&top);
    assert!(
        found.is_empty(),
        "cycles among vyre-core's modules: {found:?}\n{top:#?}"
    );
}

#[test]
fn files_within_every_module_directory_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src.clone()];
    let mut checked = 0;
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
        if d == src {
            continue;
        }
        let g = graph(&d, "super::");
        let found = cycles(&g);
        assert!(
            found.is_empty(),
            "cycles among the files of {}: {found:?}\n{g:#?}",
            d.display()
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} module directories found");
}
