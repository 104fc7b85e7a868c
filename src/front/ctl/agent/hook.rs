//! `leashctl agent hook AGENT`: Claude Code's hooks around a Bash command, and Codex's
//! and Gemini CLI's before each shell command.
//!
//! PreToolUse: a command the model starts with `run_in_background` is marked (a no-op
//! `:` command before it), so that leash as Claude Code's shell gives it a background
//! job's wall limit; the shell sees only the script, not the tool's input.
//!
//! PostToolUseFailure: a command leash stopped may have printed megabytes first, and
//! Claude Code keeps only the start of a failed command's output for its model, so
//! leash's line at the end can be lost: the hook finds the command's report and hands its
//! reason to the model as context.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::Agent;
use crate::front::ctl::CtlError;
use crate::front::personality::agent_shell::{BACKGROUND, NOTES_DIR, REPORT_PREFIX};

/// Reports older than this are of commands whose hook will not come: removed.
const STALE: Duration = Duration::from_secs(3600);

/// Answer one hook call: its JSON on stdin, the answer (if any) on stdout.
pub(crate) fn run() -> Result<(), CtlError> {
    let mut input = String::new();
    let _ = std::io::stdin().take(1 << 20).read_to_string(&mut input);
    let call: Value = serde_json::from_str(&input).unwrap_or(Value::Null);
    match call["hook_event_name"].as_str() {
        Some("PreToolUse") => match marked(&call["tool_input"]) {
            Some(input) => crate::front::ctl::out(&(updated(&input).to_string() + "\n")),
            None => Ok(()),
        },
        _ => after_failure(&call),
    }
}

/// Answer one call of Codex's PreToolUse or Gemini CLI's BeforeTool hook (its JSON on
/// stdin): the command rewritten to run in a leash session with `options`, or, where leash
/// cannot be found, refused, so that no command runs without its limits.
pub(crate) fn run_rewrite(agent: Agent, options: &[String]) -> Result<(), CtlError> {
    let mut input = String::new();
    let _ = std::io::stdin().take(1 << 20).read_to_string(&mut input);
    let call: Value = serde_json::from_str(&input).unwrap_or(Value::Null);
    let leash = crate::front::ctl::leash_beside("agent hook");
    let answer = match (agent, leash) {
        (Agent::Gemini, Ok(leash)) => super::gemini::answer(&call, &leash, options),
        (Agent::Gemini, Err(e)) => Some(super::gemini::refusal(&e.to_string())),
        (_, Ok(leash)) => super::codex::answer(&call, &leash, options),
        (_, Err(e)) => Some(super::codex::refusal(&e.to_string())),
    };
    match answer {
        Some(answer) => crate::front::ctl::out(&(answer.to_string() + "\n")),
        None => Ok(()),
    }
}

/// A background command's tool input, marked; `None` for any other.
fn marked(input: &Value) -> Option<Value> {
    if input["run_in_background"] != Value::Bool(true) {
        return None;
    }
    let command = input["command"].as_str()?;
    if command.starts_with(BACKGROUND) {
        return None;
    }
    let mut input = input.clone();
    input["command"] = Value::String(format!("{BACKGROUND}{command}"));
    Some(input)
}

/// The PreToolUse answer that runs `input` instead (the permission decision left to
/// Claude Code's own rules).
fn updated(input: &Value) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "updatedInput": input,
        }
    })
}

/// Answer a PostToolUseFailure call with leash's reason, or with what to do instead of a
/// refused signal.
fn after_failure(call: &Value) -> Result<(), CtlError> {
    let command = call["tool_input"]["command"].as_str().unwrap_or_default();
    let error = call["error"].as_str().unwrap_or_default();
    // Without the notes directory there is no report, but a refused signal still is one.
    let reported = crate::front::ctl::env_dir(NOTES_DIR).and_then(|d| take_reason(&d, command));
    let Some(reason) = reported.or_else(|| refused_signal(command, error)) else {
        return Ok(());
    };
    let answer = json!({
        "hookSpecificOutput": {
            "hookEventName": "PostToolUseFailure",
            "additionalContext": reason,
        }
    });
    crate::front::ctl::out(&(answer.to_string() + "\n"))
}

/// The reason leash stopped `command`, from its report in `dir` (removed once read, with
/// any stale ones).
fn take_reason(dir: &Path, command: &str) -> Option<String> {
    let mut reason = None;
    for path in reports(dir) {
        let Ok(text) = crate::machine::small_file::read(&path) else {
            continue;
        };
        let report: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let script = report["command"][2].as_str().unwrap_or_default();
        if reason.is_none() && evaluated(script).as_deref() == Some(command) {
            reason = Some(said(&report));
            let _ = fs::remove_file(&path);
        } else if is_stale(&path) {
            let _ = fs::remove_file(&path);
        }
    }
    reason.flatten()
}

/// What to do instead, when `command` failed because it signalled a process outside its
/// session (a server an earlier command started in the background): the Landlock scope
/// refuses that, and the model would otherwise retry or give up.
fn refused_signal(command: &str, error: &str) -> Option<String> {
    let signals = ["kill", "pkill", "killall"].iter().any(|k| {
        command
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == *k)
    });
    (signals && error.contains("Operation not permitted")).then(|| {
        "leash: each Bash command runs as a session of its own, which may not signal \
         processes outside it (hence 'Operation not permitted'); stop a command started with \
         run_in_background with the TaskStop tool, or start and stop a process within one \
         command"
            .to_string()
    })
}

/// The model's command in a Bash command's script: Claude Code runs it as
/// `... && eval WORD < /dev/null && pwd -P >| FILE`, WORD the command quoted as one shell
/// word (bare, in single quotes, or in double quotes).
fn evaluated(script: &str) -> Option<String> {
    let end = script.rfind(" < /dev/null && pwd -P >| ")?;
    let start = script[..end].rfind("&& eval ")? + "&& eval ".len();
    unquoted(&script[start..end])
}

/// The one POSIX shell word `word` spells, unquoted; `None` if it is not one word.
fn unquoted(word: &str) -> Option<String> {
    let mut text = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => text.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        c @ ('$' | '`' | '"' | '\\') => text.push(c),
                        '\n' => {}
                        c => text.extend(['\\', c]),
                    },
                    c => text.push(c),
                }
            },
            '\\' => text.push(chars.next()?),
            c if c.is_whitespace() => return None,
            c => text.push(c),
        }
    }
    Some(text)
}

/// The reports in `dir`.
fn reports(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).into_iter().flatten().flatten();
    entries
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(REPORT_PREFIX) && name.ends_with(".json")
        })
        .map(|e| e.path())
        .collect()
}

fn is_stale(path: &Path) -> bool {
    let modified = fs::metadata(path).and_then(|m| m.modified());
    modified.is_ok_and(|at| SystemTime::now().duration_since(at).unwrap_or_default() > STALE)
}

/// leash's line for a session its report says leash stopped, as leash said it.
fn said(report: &Value) -> Option<String> {
    let message = report["breach"]["message"].as_str()?;
    let stopped = report["stopped_processes"].as_u64().unwrap_or(0);
    let processes = crate::session::message::processes(usize::try_from(stopped).ok()?);
    Some(format!("leash: {message}; stopped {processes}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_background_command_is_marked_and_only_once() {
        let background = json!({"command": "npm run dev", "run_in_background": true,
                                "description": "the server"});
        let marked_once = marked(&background).unwrap();
        assert_eq!(marked_once["command"], ": leash-background; npm run dev");
        assert_eq!(marked_once["description"], "the server");
        assert_eq!(marked(&marked_once), None);
        assert_eq!(marked(&json!({"command": "make"})), None);
    }

    #[test]
    fn a_refused_kill_is_answered_with_what_to_do_instead() {
        let refused = "Exit code 1\nbash: kill: (14002) - Operation not permitted";
        assert!(refused_signal("kill $(cat server.pid)", refused).is_some());
        assert!(refused_signal("pkill -f 'node server'", refused).is_some());
        assert!(refused_signal("skill-check", refused).is_none());
        assert!(refused_signal("kill 1", "Exit code 1\nno such process").is_none());
    }

    #[test]
    fn a_shell_word_is_unquoted_as_the_shell_would() {
        for (word, meant) in [
            ("yes", "yes"),
            (
                "'echo \"it'\"'\"'s\" $HOME \\\\ done'",
                "echo \"it's\" $HOME \\\\ done",
            ),
            ("\"it's \\$x \\\\ \\q\"", "it's $x \\ \\q"),
            ("a\\ b", "a b"),
        ] {
            assert_eq!(unquoted(word).as_deref(), Some(meant), "{word}");
        }
        assert_eq!(unquoted("two words"), None);
        assert_eq!(unquoted("'open"), None);
    }

    #[test]
    fn the_report_of_the_command_gives_its_reason_once() {
        let dir = tempfile::tempdir().unwrap();
        let report = |script: &str, message: Option<&str>| {
            json!({
                "command": ["/bin/bash", "-c", script],
                "breach": message.map(|m| json!({"message": m})),
                "stopped_processes": 3,
            })
            .to_string()
        };
        let mine =
            "source x && true && eval 'echo \"it'\"'\"'s\" | yes' < /dev/null && pwd -P >| c";
        fs::write(
            dir.path().join("leash-1.json"),
            report(mine, Some("output limit")),
        )
        .unwrap();
        let other = "source x && eval true < /dev/null && pwd -P >| c";
        fs::write(dir.path().join("leash-2.json"), report(other, None)).unwrap();
        let command = "echo \"it's\" | yes";
        assert_eq!(
            take_reason(dir.path(), command).as_deref(),
            Some("leash: output limit; stopped 3 processes")
        );
        assert_eq!(take_reason(dir.path(), command), None);
        assert_eq!(take_reason(dir.path(), "true"), None);
        assert!(!dir.path().join("leash-2.json").exists());
    }
}
