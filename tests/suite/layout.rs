//! The shape of the source that the developers' guide asks for, checked: three layers
//! (machine, session, front ends) in which no module names a layer above its own, no import
//! circle, every module says what it owns, no file or function grows past what a reader can
//! hold, errors are typed, and the manual names the same phases of a session as the code.

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
        // Any visibility, then any of the qualifiers a function may have.
        let code_after_visibility = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|v| code.strip_prefix(v))
            .unwrap_or(code);
        let signature = ["fn ", "const fn ", "unsafe fn ", "const unsafe fn "]
            .iter()
            .any(|start| code_after_visibility.starts_with(start));
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
            // leash's Error takes a case with typed fields, never a message made on the spot.
            let made_up = ["Usage", "Config", "Cgroup", "Isolation", "Setup", "NoSlot"]
                .iter()
                .any(|v| {
                    let made = format!("Error::{v}(format!");
                    line.match_indices(&made).any(|(at, _)| {
                        !line[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    })
                });
            assert!(
                !made_up,
                "{}:{}: an error made of a message: {line}",
                path.display(),
                at + 1
            );
        }
    }
    // The variants of leash's Error carry cases, not text.
    let error =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/machine/error/mod.rs"))
            .expect("the error module");
    assert!(
        !error.contains("(String)"),
        "a variant of Error carries a String"
    );
}

/// The phases a text lists as `N. **Name**` (the manual) or `//! N. name: ...` (module docs).
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
fn the_manual_and_the_module_docs_name_the_same_phases_in_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manual = fs::read_to_string(root.join("docs/manual.md")).unwrap();
    let section = manual
        .split("## What leash does\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a section 'What leash does'");
    let in_manual = phases(section.lines().map(String::from));
    let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let in_docs = phases(
        lib.lines()
            .filter_map(|l| l.strip_prefix("//! "))
            .map(String::from),
    );
    assert_eq!(
        in_manual,
        ["parse", "plan", "start", "watch", "stop", "finish"]
    );
    assert_eq!(in_manual, in_docs, "the manual and src/lib.rs disagree");
    // Each phase's own module says which phase it is.
    let modules = [
        "src/front/cli/mod.rs",
        "src/session/plan.rs",
        "src/session/start.rs",
        "src/session/watch/mod.rs",
        "src/session/stop.rs",
        "src/session/finish.rs",
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

/// The layers, lowest first: a module may name its own layer and those below it.
const LAYERS: [&str; 3] = ["machine", "session", "front"];

/// The edges between front ends (`front::cli`, `front::personality`, `front::ctl`), each
/// from one module: `leashctl kernel` and `leashctl agent` check leash's options with
/// leash's own parser, and share what the agent shell (a personality) reads. And `front::generate`, which writes the man pages and completions
/// of all three, names each.
/// Any other module of one front end naming another fails the layout test.
const FRONT_EDGES: [(&str, &str); 8] = [
    ("front::ctl::agent::command_line", "cli"),
    ("front::ctl::agent::command_line", "personality"),
    ("front::ctl::agent::hook", "personality"),
    ("front::ctl::agent::install", "personality"),
    ("front::ctl::kernel::check", "cli"),
    ("front::generate", "cli"),
    ("front::generate", "ctl"),
    ("front::generate", "personality"),
];

/// A module's path below the crate root (`src/session/spawn/child.rs`:
/// `session::spawn::child`), or `None` for the crate root and the binaries.
fn module_path(path: &Path) -> Option<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = path.strip_prefix(&root).unwrap_or(path);
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    if parts.is_empty() || parts[0] == "bin" {
        return None;
    }
    if file != "mod.rs" {
        parts.push(file.trim_end_matches(".rs").to_string());
    }
    Some(parts)
}

/// The paths one `use` tree names, from `text` on (`a::{b, c::d}`: `a::b`, `a::c::d`).
fn use_tree(text: &[u8], at: &mut usize, prefix: &[String], found: &mut Vec<Vec<String>>) {
    let skip_space = |at: &mut usize| {
        while *at < text.len() && text[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    skip_space(at);
    if text.get(*at) == Some(&b'{') {
        *at += 1;
        loop {
            use_tree(text, at, prefix, found);
            skip_space(at);
            match text.get(*at) {
                Some(b',') => *at += 1,
                Some(b'}') => {
                    *at += 1;
                    return;
                }
                _ => return,
            }
            skip_space(at);
            if text.get(*at) == Some(&b'}') {
                *at += 1;
                return;
            }
        }
    }
    let start = *at;
    while *at < text.len() && (text[*at].is_ascii_alphanumeric() || text[*at] == b'_') {
        *at += 1;
    }
    let name = String::from_utf8_lossy(&text[start..*at]).into_owned();
    let mut path = prefix.to_vec();
    if !name.is_empty() && name != "self" {
        path.push(name);
    }
    if text[*at..].starts_with(b"::") {
        *at += 2;
        use_tree(text, at, &path, found);
    } else {
        found.push(path);
    }
}

/// The absolute module paths a file names through `crate::` and `super::`, its tests left
/// out.
fn named_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text).as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let word_start = at == 0 || !(code[at - 1].is_ascii_alphanumeric() || code[at - 1] == b'_');
        let mut base = None;
        if word_start && code[at..].starts_with(b"crate::") {
            at += "crate::".len();
            base = Some(Vec::new());
        } else if word_start && code[at..].starts_with(b"super::") {
            // A module's path is its folder's for a mod.rs, so `super` is one up for both.
            let mut parent = module.to_vec();
            parent.pop();
            while code[at..].starts_with(b"super::") {
                at += "super::".len();
                if code[at..].starts_with(b"super::") {
                    parent.pop();
                }
            }
            base = Some(parent);
        }
        match base {
            Some(base) => use_tree(code, &mut at, &base, &mut found),
            None => at += 1,
        }
    }
    found
}

/// Every module file and the modules it names: (its path, the path of each module file
/// it reaches, as the longest module path that starts what it names).
fn module_graph(sources: &[(PathBuf, String)]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules: BTreeMap<Vec<String>, &(PathBuf, String)> = sources
        .iter()
        .filter_map(|source| Some((module_path(&source.0)?, source)))
        .collect();
    let mut graph = BTreeMap::new();
    for (module, (_, text)) in &modules {
        let mut reached = BTreeSet::new();
        for named in named_paths(module, text) {
            let target = (1..=named.len())
                .rev()
                .map(|n| named[..n].to_vec())
                .find(|prefix| modules.contains_key(prefix));
            if let Some(target) = target {
                reached.insert(target);
            }
        }
        graph.insert(module.clone(), reached);
    }
    graph
}

/// The edges that name a layer above the naming module's own, and those between front
/// ends that `FRONT_EDGES` does not list.
fn layer_violations(sources: &[(PathBuf, String)]) -> Vec<String> {
    let rank = |m: &[String]| {
        LAYERS
            .iter()
            .position(|l| m.first().is_some_and(|f| f == l))
    };
    let mut wrong = Vec::new();
    for (module, reached) in module_graph(sources) {
        for target in reached {
            let (Some(from), Some(to)) = (rank(&module), rank(&target)) else {
                continue;
            };
            let front = |m: &[String]| m.get(1).cloned().unwrap_or_default();
            let crosses = from == 2 && to == 2 && front(&module) != front(&target);
            let listed =
                FRONT_EDGES.contains(&(module.join("::").as_str(), front(&target).as_str()));
            if to > from || (crosses && !listed) {
                wrong.push(format!("{} -> {}", module.join("::"), target.join("::")));
            }
        }
    }
    wrong
}

/// The import circles: module files that reach each other, not counting a module's
/// edges to its own ancestors and descendants (a folder's mod.rs and its children).
fn circles(sources: &[(PathBuf, String)]) -> Vec<String> {
    let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = module_graph(sources)
        .into_iter()
        .map(|(m, reached)| {
            let reached = reached.into_iter().filter(|t| !related(&m, t)).collect();
            (m, reached)
        })
        .collect();
    // The same graph between the layers' top modules (`session::spawn`, ...).
    let mut tops: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, reached) in &graph {
        let top = |m: &[String]| m[..m.len().min(2)].to_vec();
        let edges = tops.entry(top(module)).or_default();
        edges.extend(reached.iter().map(|t| top(t)).filter(|t| *t != top(module)));
    }
    let mut found = Vec::new();
    for graph in [graph, tops] {
        let reaches = |from: &Vec<String>, to: &Vec<String>| {
            let mut seen = BTreeSet::new();
            let mut pending = vec![from.clone()];
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
        for (module, reached) in &graph {
            for target in reached.iter().filter(|t| reaches(t, module)) {
                found.push(format!("{} -> {}", module.join("::"), target.join("::")));
            }
        }
    }
    found
}

/// Planted source files, as `sources` would list them.
fn planted(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    files
        .iter()
        .map(|(path, text)| (root.join(path), (*text).to_string()))
        .collect()
}

#[test]
fn no_module_names_a_layer_above_its_own() {
    let sources = sources();
    let wrong = layer_violations(&sources);
    assert!(wrong.is_empty(), "edges to a higher layer: {wrong:#?}");
    // The check sees the edges that are there.
    let graph = module_graph(&sources);
    let edge = |from: &str, to: &str| {
        let path = |m: &str| m.split("::").map(String::from).collect::<Vec<_>>();
        graph[&path(from)].contains(&path(to))
    };
    assert!(edge("session::start", "session::spawn"), "{graph:#?}");
    assert!(
        edge("session::spawn::child", "machine::signals::caller"),
        "{graph:#?}"
    );
    assert!(edge("front::ctl", "session::registry"), "{graph:#?}");
}

#[test]
fn the_layer_check_fails_on_a_planted_upward_edge() {
    let sources = planted(&[
        ("machine/mod.rs", "//! m\npub(crate) mod units;\n"),
        (
            "machine/units/mod.rs",
            "//! u\nuse crate::{session::{plan::Plan, x}};\n",
        ),
        ("session/plan.rs", "//! p\n"),
        (
            "front/ctl/mod.rs",
            "//! c\nfn f() { crate::front::personality::run(); crate::front::cli::parse(); }\n",
        ),
        // The one listed edge from leashctl to leash's command line: not a violation.
        (
            "front/ctl/kernel/check.rs",
            "//! k\nuse crate::front::cli::parse;\n",
        ),
        ("front/cli/mod.rs", "//! c\n"),
        ("front/personality/mod.rs", "//! p\n"),
    ]);
    assert_eq!(
        layer_violations(&sources),
        [
            "front::ctl -> front::cli",
            "front::ctl -> front::personality",
            "machine::units -> session::plan"
        ]
    );
}

#[test]
fn no_import_circle() {
    let found = circles(&sources());
    assert!(found.is_empty(), "modules in a circle: {found:#?}");
}

#[test]
fn the_circle_check_fails_on_a_planted_circle() {
    let sources = planted(&[
        ("session/spawn/mod.rs", "//! s\nuse child::run;\n"),
        (
            "session/spawn/child.rs",
            "//! c\nuse super::namespace::Ns;\nuse super::Spawned;\n",
        ),
        (
            "session/spawn/namespace.rs",
            "//! n\nuse super::super::spawn::child::X;\n",
        ),
        (
            "session/record/mod.rs",
            "//! r\nuse crate::session::relay::Relay;\n",
        ),
        (
            "session/relay/mod.rs",
            "//! r\n#[cfg(test)]\nuse crate::session::record::R;\n",
        ),
    ]);
    assert_eq!(
        circles(&sources),
        [
            "session::spawn::child -> session::spawn::namespace",
            "session::spawn::namespace -> session::spawn::child",
        ]
    );
}

/// The ruff that lints the project's Python, installed once per build directory.
const RUFF: &str = "0.17.6";

#[test]
fn the_python_the_project_carries_passes_ruff() {
    // The kernel launcher (carried in leashctl), the tests' scripted models and clients,
    // the benchmarks' helpers: ruff's default rules (pyflakes and pycodestyle's errors).
    let venv = crate::common::installed_once(&format!("ruff-{RUFF}"), |venv| {
        crate::common::make_venv("python3", venv, &[&format!("ruff=={RUFF}")]);
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checked = std::process::Command::new(venv.join("bin/ruff"))
        .args(["check", "--no-cache", "--output-format", "concise"])
        .args(["src", "tests", "bench"])
        .current_dir(root)
        .output()
        .expect("ruff");
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{said}");
    assert!(said.contains("All checks passed"), "{said}");
}

#[test]
fn no_two_types_share_a_name() {
    // `Plan`, `Live`, `Usage` meaning two things each made a reader ask which one.
    let mut defined: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in sources() {
        for line in text.lines() {
            let code = line.trim_start();
            let code = ["pub(crate) ", "pub(super) ", "pub "]
                .iter()
                .find_map(|v| code.strip_prefix(v))
                .unwrap_or(code);
            let name = ["struct ", "enum ", "type ", "trait "]
                .iter()
                .find_map(|kind| code.strip_prefix(kind))
                .map(|rest| {
                    rest.chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect::<String>()
                });
            if let Some(name) = name.filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase())) {
                defined
                    .entry(name)
                    .or_default()
                    .push(path.display().to_string());
            }
        }
    }
    let twice: Vec<_> = defined.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(twice.is_empty(), "types defined twice: {twice:#?}");
    assert!(defined.contains_key("Spec") && defined.contains_key("Placement"));
}
