//! The README's and the manual's commands run as written, and both render as written: a
//! stale example or a broken fence fails here.

use std::path::Path;
use std::time::Duration;

use crate::common;
use crate::common::Sandbox;

const README: &str = include_str!("../../README.md");
const MANUAL: &str = include_str!("../../docs/manual.md");

#[test]
fn the_fresh_machine_command_builds_leash_and_stops_the_detached_spinner() {
    // The whole line as written, except that apt-get is a stub that logs what it was asked
    // (a test does not install packages on a shared machine) and cargo builds offline in
    // the build directory the install tests use.
    let line = README
        .lines()
        .find(|l| l.starts_with("apt-get "))
        .expect("the fresh-machine command");
    let sandbox = Sandbox::new();
    let asked = sandbox.path("apt-get.log");
    sandbox.stub("apt-get", &format!("echo \"$*\" >> '{}'", asked.display()));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install");
    let script = format!(
        "export CARGO_TARGET_DIR='{}' CARGO_NET_OFFLINE=true CARGO_TERM_QUIET=true\n\
         cd '{}' && {line}",
        target.display(),
        env!("CARGO_MANIFEST_DIR")
    );
    let run = sandbox
        .start_shell(&script, "")
        .finish_within(Duration::from_secs(600));
    assert!(
        run.stdout.ends_with("exit status 124\n"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr.contains("leash: wall time limit 3s reached"),
        "{}",
        run.stderr
    );
    let asked = std::fs::read_to_string(asked).expect("apt-get was run");
    assert!(asked.starts_with("update\ninstall -y "), "{asked}");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_comparison_with_timeout_shows_what_leash_prints() {
    // The console example: the command after `$ leash ` and the line leash prints.
    let mut lines = README.lines().skip_while(|l| !l.starts_with("$ leash "));
    let command = lines.next().expect("a `$ leash` example");
    let args = command
        .trim_start_matches("$ leash ")
        .split("; echo $?")
        .next()
        .unwrap_or_default();
    let said = lines.next().expect("what leash prints");
    let sandbox = Sandbox::new();
    let run = sandbox.start_shell(&format!("leash {args}"), "").finish();
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert_eq!(run.stderr.trim_end(), said);
    sandbox.assert_no_survivors(&[]);
}

/// A command line the README shows, and how a user would run it.
#[derive(Debug)]
struct Shown {
    line: String,
    /// A container's entrypoint: leash runs as PID 1.
    as_pid1: bool,
}

/// The README and the manual, each with its name.
const DOCUMENTS: [(&str, &str); 2] = [("README.md", README), ("docs/manual.md", MANUAL)];

/// The most lines the README's front page may have: the manual holds the rest.
const FRONT_PAGE_LINES: usize = 150;

/// What a CommonMark reader sees of a document: its fenced blocks (language, text), its
/// inline code spans, and its headings' texts.
#[derive(Debug, Default)]
struct Read {
    blocks: Vec<(String, String)>,
    spans: Vec<String>,
    headings: Vec<String>,
}

/// Read `markdown` as CommonMark does (GitHub renders it so).
fn read(markdown: &str) -> Read {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let mut read = Read::default();
    let mut block: Option<(String, String)> = None;
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some((language, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => read.blocks.extend(block.take()),
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => read.headings.extend(heading.take()),
            Event::Text(text) => {
                if let Some((_, body)) = &mut block {
                    body.push_str(&text);
                } else if let Some(title) = &mut heading {
                    title.push_str(&text);
                }
            }
            Event::Code(span) => {
                if let Some(title) = &mut heading {
                    title.extend(["`", &span, "`"]);
                }
                read.spans.push(span.to_string());
            }
            _ => {}
        }
    }
    read
}

/// What would not render as written: a `## ` line that a reader does not take for a
/// heading (swallowed by a code block that a fence did not close), or a fence line inside
/// a code block.
fn misrendered(markdown: &str) -> Vec<String> {
    let read = read(markdown);
    let mut wrong: Vec<String> = markdown
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter(|title| !read.headings.iter().any(|h| h == title))
        .map(|title| format!("not a heading: ## {title}"))
        .collect();
    for (language, body) in &read.blocks {
        if let Some(fence) = body.lines().find(|l| l.trim_start().starts_with("```")) {
            wrong.push(format!("a fence inside a {language} block: {fence}"));
        }
    }
    wrong
}

#[test]
fn the_readme_and_the_manual_render_as_written() {
    for (name, text) in DOCUMENTS {
        let wrong = misrendered(text);
        assert!(wrong.is_empty(), "{name}: {wrong:#?}");
    }
    // Text after a closing fence makes it no fence: the heading after it is swallowed.
    let broken = "```sh\nleash -- true\n``` and more\n\n## Next\n\n```sh\nls\n```\n";
    assert_eq!(
        misrendered(broken),
        [
            "not a heading: ## Next",
            "a fence inside a sh block: ``` and more"
        ]
    );
}

#[test]
fn the_readme_is_a_front_page_and_the_manual_has_a_table_of_contents() {
    let lines = README.lines().count();
    assert!(lines < FRONT_PAGE_LINES, "README.md: {lines} lines");
    let manual = read(MANUAL);
    let sections = &manual.headings[1..];
    assert!(sections.len() > 15, "{sections:?}");
    for (number, section) in sections.iter().enumerate() {
        let entry = format!("{}. [{section}](#", number + 1);
        assert!(
            MANUAL.contains(&entry),
            "no {entry:?} in the table of contents"
        );
    }
}

/// Every `leash` command line the README and the manual show: in shell blocks
/// (continuation lines joined, trailing comments dropped), GitHub Actions `run:` steps, a
/// Dockerfile's ENTRYPOINT and CMD, a Kubernetes container's command and args, and
/// `leash ...` or `alias ...` code spans in the prose (an alias with the span that uses
/// it).
fn shown_command_lines() -> Vec<Shown> {
    let mut shown = Vec::new();
    for (_, text) in DOCUMENTS {
        let read = read(text);
        for (language, body) in &read.blocks {
            shown.extend(block_command_lines(language, body));
        }
        shown.extend(span_command_lines(&read.spans));
    }
    shown
}

/// The command lines of one fenced block in `language`.
fn block_command_lines(language: &str, body: &str) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut continued = String::new();
    let mut container: Vec<String> = Vec::new();
    for line in body.lines() {
        match language {
            "sh" => {
                continued.push_str(line.trim_start());
                if continued.ends_with('\\') {
                    continued.pop();
                    continue;
                }
                let joined = std::mem::take(&mut continued);
                let command = joined.split("  #").next().unwrap_or_default().trim();
                if command.starts_with("leash ") {
                    shown.push(Shown::plain(command));
                }
            }
            "yaml" => {
                let line = line.trim_start().trim_start_matches("- ");
                if let Some(run) = line.strip_prefix("run: ") {
                    shown.push(Shown::plain(run));
                }
                for key in ["command: ", "args: "] {
                    if let Some(words) = line.strip_prefix(key) {
                        container.extend(json_words(words));
                    }
                }
            }
            "dockerfile" => {
                for key in ["ENTRYPOINT ", "CMD "] {
                    if let Some(words) = line.strip_prefix(key) {
                        container.extend(json_words(words));
                    }
                }
            }
            _ => {}
        }
    }
    if !container.is_empty() {
        shown.push(Shown {
            line: container.join(" "),
            as_pid1: true,
        });
    }
    shown
}

impl Shown {
    fn plain(line: &str) -> Shown {
        Shown {
            line: line.to_owned(),
            as_pid1: false,
        }
    }
}

/// A JSON array of strings, shell-quoted.
fn json_words(array: &str) -> Vec<String> {
    let words: Vec<String> = serde_json::from_str(array).expect("a JSON array of strings");
    words.iter().map(|w| format!("'{w}'")).collect()
}

/// `leash ...` spans of the prose, and `alias ...` spans joined with the next span.
fn span_command_lines(spans: &[String]) -> Vec<Shown> {
    let mut shown = Vec::new();
    for (at, span) in spans.iter().enumerate() {
        if span.starts_with("leash ") {
            shown.push(Shown::plain(span));
        } else if span.starts_with("alias ") {
            let used = spans.get(at + 1).expect("the alias's use in the next span");
            shown.push(Shown::plain(&format!("{span}\n{used}")));
        }
    }
    shown
}

/// The programs the README's command lines run by name, as stubs on PATH that log that
/// they ran.
const STUBS_ON_PATH: &[&str] = &[
    "interpreter",
    "codex",
    "claude",
    "gemini",
    "make",
    "server",
    "...",
];
/// The scripts they run from the working directory, as the same stubs.
const STUBS_HERE: &[&str] = &[
    "script.sh",
    "ci-step.sh",
    "build.sh",
    "agent.sh",
    "bench.sh",
    "job",
    "train.sh",
];

/// Run a shown command line in a sandbox of its own, with the README's system paths
/// moved into the sandbox, and say what went wrong, if anything.
fn check(shown: &Shown) -> Result<(), String> {
    let sandbox = Sandbox::new();
    let ran = sandbox.path("stubs-ran");
    let log = format!("echo \"$0 $*\" >> '{}'", ran.display());
    for name in STUBS_ON_PATH {
        sandbox.stub(name, &log);
    }
    for name in STUBS_HERE {
        common::shell_script(&sandbox.path(name), &log);
    }
    let here = format!("{}/", sandbox.dir().display());
    let mut line = shown.line.clone();
    for system_dir in ["/var/log/", "/var/lib/node_exporter/", "/reports/"] {
        line = line.replace(system_dir, &here);
    }
    if shown.as_pid1 && nix::unistd::geteuid().is_root() {
        line = format!("unshare --pid --fork --mount-proc {line}");
    }
    // --slots and --rate keep their state in the runtime directory.
    let script = format!(
        "export XDG_RUNTIME_DIR='{}'\n{line}",
        sandbox.dir().display()
    );
    let run = sandbox.start_shell(&script, "").finish();
    let runs_nothing = ["--explain", "--print-config"]
        .iter()
        .any(|flag| line.contains(flag));
    let stub_ran = ran.exists();
    let kernel_only = line.contains("--cgroup require") || line.contains("--cpu-rate");
    let refused_unprivileged = kernel_only && sandbox.is_unprivileged() && run.code() == Some(125);
    let fine = refused_unprivileged || (run.code() == Some(0) && stub_ran != runs_nothing);
    sandbox.assert_no_survivors(&[]);
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{line}\n  {} (a stub ran: {stub_ran})\n  {}",
            run.status,
            run.stderr.trim_end()
        ))
    }
}

#[test]
fn every_command_line_the_readme_shows_runs() {
    let shown = shown_command_lines();
    // The quick start alone shows a dozen: fewer means the extraction broke.
    assert!(
        shown.len() >= 25,
        "only {} command lines: {shown:#?}",
        shown.len()
    );
    assert_eq!(shown.iter().filter(|s| s.as_pid1).count(), 2, "{shown:#?}");
    let failed: Vec<String> = shown.iter().filter_map(|s| check(s).err()).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_manual_shows_the_built_in_profiles_as_they_are() {
    let profile = leash::BUILT_IN.trim_matches('\n');
    assert!(
        MANUAL.contains(&format!("```toml\n{profile}\n```")),
        "the manual's copy of the built-in profiles differs from src/front/cli/config/built_in.toml"
    );
}
