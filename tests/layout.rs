//! The shape of the source that the developers' guide asks for, checked: every module says
//! what it owns, no file or function grows past what a reader can hold, errors are typed,
//! and the README names the same phases of a session as the code, in the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const LONGEST_FILE: usize = 450;
const LONGEST_FUNCTION: usize = 59;

/// Every `.rs` file below `src/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in fs::read_dir(dir).expect("src is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).expect("a source file is text");
                found.push((path, text));
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(found.len() > 20, "found only {found:?}");
    found
}

/// The functions of a rustfmt-formatted file: (first line, lines from `fn` to its brace).
fn functions(text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let signature = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "const fn ",
        ]
        .iter()
        .chain(&["unsafe fn ", "pub unsafe fn ", "pub const fn "])
        .any(|start| code.starts_with(start));
        if !signature || code.ends_with(';') {
            continue;
        }
        let end = lines[at..]
            .iter()
            .position(|l| *l == format!("{indent}}}"))
            .unwrap_or_else(|| panic!("no end of the function at line {}", at + 1));
        found.push((at + 1, end + 1));
    }
    found
}

#[test]
fn every_module_says_what_it_owns_in_a_doc_line() {
    for (path, text) in sources() {
        assert!(
            text.starts_with("//! "),
            "{} does not start with a module doc line",
            path.display()
        );
    }
}

#[test]
fn no_file_or_function_is_too_long_to_read() {
    let mut long = Vec::new();
    for (path, text) in sources() {
        let lines = text.lines().count();
        if lines > LONGEST_FILE {
            long.push(format!("{}: {lines} lines", path.display()));
        }
        for (line, length) in functions(&text) {
            if length > LONGEST_FUNCTION {
                long.push(format!(
                    "{}:{line}: a function of {length} lines",
                    path.display()
                ));
            }
        }
    }
    assert!(long.is_empty(), "too long: {long:#?}");
}

#[test]
fn the_length_check_sees_a_long_function() {
    let body = "    step();\n".repeat(LONGEST_FUNCTION);
    let text = format!("//! x\n\nfn short() {{\n}}\n\npub fn long() {{\n{body}}}\n");
    let lengths: Vec<usize> = functions(&text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(lengths, [2, LONGEST_FUNCTION + 2]);
}

#[test]
fn errors_are_typed_not_strings() {
    for (path, text) in sources() {
        for (at, line) in text.lines().enumerate() {
            let stringly = line.contains(", String>") && line.contains("Result<");
            assert!(
                !stringly,
                "{}:{}: a Result with a String error: {line}",
                path.display(),
                at + 1
            );
        }
    }
}

/// The phases a text lists as `N. **Name**` (README) or `//! N. name: ...` (module docs).
fn phases(lines: impl Iterator<Item = String>) -> Vec<String> {
    lines
        .filter_map(|line| {
            let (number, rest) = line.trim().split_once(". ")?;
            number.parse::<u32>().ok()?;
            let name = rest.trim_start_matches("**");
            let end = name.find(|c: char| !c.is_ascii_alphabetic())?;
            Some(name[..end].to_ascii_lowercase())
        })
        .collect()
}

#[test]
fn the_readme_and_the_module_docs_name_the_same_phases_in_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## What leash does\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a section 'What leash does'");
    let in_readme = phases(section.lines().map(String::from));
    let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let in_docs = phases(
        lib.lines()
            .filter_map(|l| l.strip_prefix("//! "))
            .map(String::from),
    );
    assert_eq!(
        in_readme,
        ["parse", "plan", "start", "watch", "stop", "finish"]
    );
    assert_eq!(in_readme, in_docs, "README and src/lib.rs disagree");
    // Each phase's own module says which phase it is.
    let modules = [
        "src/cli/mod.rs",
        "src/supervise/plan.rs",
        "src/supervise/start.rs",
        "src/supervise/watch/mod.rs",
        "src/supervise/stop.rs",
        "src/supervise/finish.rs",
    ];
    for (number, (phase, module)) in in_docs.iter().zip(modules).enumerate() {
        let text = fs::read_to_string(root.join(module)).unwrap();
        let expected = format!("//! Phase {}, {phase}: ", number + 1);
        assert!(
            text.starts_with(&expected),
            "{module} does not start with {expected:?}"
        );
    }
}

/// The top-level module a source file belongs to (`src/cgroup/dir.rs`: `cgroup`).
fn top_module(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = path.strip_prefix(&root).expect("below src");
    let first = relative.iter().next().expect("a file").to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The modules `text` names as `crate::NAME`.
fn uses(text: &str) -> BTreeSet<String> {
    text.split("crate::")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn no_two_modules_use_each_other() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let module = top_module(&path);
        if module == "lib" || module == "main" {
            continue;
        }
        let mut used = uses(&text);
        used.remove(&module);
        graph.entry(module).or_default().extend(used);
    }
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut pending = vec![from.to_string()];
        while let Some(module) = pending.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    pending.push(next.clone());
                }
            }
        }
        false
    };
    let circles: Vec<String> = graph
        .iter()
        .flat_map(|(module, used)| used.iter().map(move |u| (module, u)))
        .filter(|(module, used)| reaches(used, module))
        .map(|(module, used)| format!("{module} -> {used}"))
        .collect();
    assert!(circles.is_empty(), "modules in a circle: {circles:?}");
    assert!(graph["supervise"].contains("spawn"), "{graph:?}");
}
