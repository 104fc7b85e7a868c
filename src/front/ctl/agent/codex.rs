//! Codex CLI (checked against 0.169.0): a PreToolUse hook in `$CODEX_HOME/hooks.json`
//! whose answer rewrites each shell command to run under leash, the trust Codex asks of
//! every hook before it runs one (a hash in config.toml's `hooks.state`), and the hook.
//!
//! Codex runs the rewritten command as it would have run the model's (its login shell
//! with `-lc`, inside its own sandbox if on), and hands the model the command's output
//! with its start and its end kept: leash's line, the last, survives a long output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Agent;
use super::command_line::{Run, check_options, hook_command, in_session};
use super::hook_list::{Seam, refused};
use super::record::{Changed, Wired, load, position, read, restore, save, write_settings};
use crate::front::ctl::{CtlError, env_dir};

const AGENT: Agent = Agent::Codex;

/// Wire Codex for the user: leash's hook in hooks.json, trusted in config.toml; an
/// earlier install is replaced (the files as they were before it kept for `remove`).
pub(crate) fn install(options: &[String]) -> Result<String, CtlError> {
    crate::front::ctl::leash_beside("agent install")?;
    check_options(options)?;
    let hook = hook_command(AGENT, options)?;
    let files = files()?;
    let mut records = load()?;
    let earlier = position(&records, AGENT, &files.hooks).map(|at| records.remove(at));
    let hooks_text = read(&files.hooks)?;
    let config_text = read(&files.config)?;
    let mut hooks = SEAM.parse(&files.hooks, hooks_text.as_deref().unwrap_or_default())?;
    let mut config = config_text.clone().unwrap_or_default();
    if let Some(earlier) = &earlier {
        hooks = SEAM.without(AGENT, &files.hooks, hooks, earlier)?;
        for change in &earlier.also {
            config = config.replacen(&change.added, "", 1);
        }
    }
    let (hooks_wired, group) = SEAM.wired(hooks, &hook);
    let lines = trust_lines(&files.hooks, group, &hook);
    let config_wired = trusted(&files.config, &config, &lines)?;
    write_settings(&files.hooks, &hooks_wired)?;
    write_settings(&files.config, &config_wired)?;
    let (original, config_original) = match earlier {
        Some(mut earlier) if !earlier.also.is_empty() => {
            (earlier.original, earlier.also.swap_remove(0).original)
        }
        _ => (hooks_text, config_text),
    };
    records.push(Wired {
        agent: AGENT.name().into(),
        settings: files.hooks.clone(),
        program: None,
        leash_options: options.to_vec(),
        original,
        installed: hooks_wired,
        also: vec![Changed {
            file: files.config,
            original: config_original,
            installed: config_wired,
            added: lines,
        }],
    });
    save(&records)?;
    Ok(super::installed_line(AGENT, options, &files.hooks))
}

/// Undo the install: each file as it was, or, changed since, without leash's lines.
pub(crate) fn remove() -> Result<String, CtlError> {
    let files = files()?;
    let mut records = load()?;
    let Some(at) = position(&records, AGENT, &files.hooks) else {
        return Err(super::not_wired(AGENT, &files.hooks));
    };
    let wired = records.remove(at);
    SEAM.undo(AGENT, &wired)?;
    for change in &wired.also {
        let current = read(&change.file)?;
        if current.as_deref() == Some(change.installed.as_str()) {
            restore(&change.file, change.original.as_deref())?;
        } else if let Some(text) = current.filter(|t| t.contains(&change.added)) {
            write_settings(&change.file, &text.replacen(&change.added, "", 1))?;
        }
    }
    save(&records)?;
    Ok(format!(
        "removed: {} runs its commands as before; {} and {} without leash's lines\n",
        AGENT.name(),
        files.hooks.display(),
        files.config.display()
    ))
}

/// Whether hooks.json still runs the hook of `wired`.
pub(super) fn is_live(wired: &Wired) -> bool {
    SEAM.runs(AGENT, wired)
}

/// Codex's files leashctl changes: its hooks and its config (where trust is kept).
pub(crate) struct Files {
    pub(crate) hooks: PathBuf,
    pub(crate) config: PathBuf,
}

/// `$CODEX_HOME` (or `~/.codex`): hooks.json and config.toml.
pub(crate) fn files() -> Result<Files, CtlError> {
    let home = env_dir("CODEX_HOME")
        .or_else(|| env_dir("HOME").map(|home| home.join(".codex")))
        .ok_or_else(|| CtlError::Usage("agent: no HOME to find Codex's files in".into()))?;
    let home = std::path::absolute(&home)
        .map_err(|e| CtlError::Usage(format!("agent: {}: {e}", home.display())))?;
    Ok(Files {
        hooks: home.join("hooks.json"),
        config: home.join("config.toml"),
    })
}

/// The event leashctl's hook is for, as hooks.json names it and as Codex keys its trust,
/// and the name Codex gives its shell tools there.
const EVENT: &str = "PreToolUse";
const EVENT_KEY: &str = "pre_tool_use";
const SEAM: Seam = Seam {
    event: EVENT,
    matcher: "Bash",
};

/// The lines that tell Codex to trust `hook`, the PreToolUse group `group` of `hooks_file`:
/// Codex keys a hook's trust by file, event and place, and checks a SHA-256 of the hook's
/// normalized definition (its config fingerprint: canonical JSON, keys in order; a
/// command hook's timeout defaults to 600 s).
pub(crate) fn trust_lines(hooks_file: &Path, group: usize, hook: &str) -> String {
    let key = format!("{}:{EVENT_KEY}:{group}:0", hooks_file.display());
    let identity = json!({
        "event_name": EVENT_KEY,
        "hooks": [{"async": false, "command": hook, "timeout": 600, "type": "command"}],
        "matcher": SEAM.matcher,
    });
    let digest = Sha256::digest(identity.to_string().as_bytes());
    let hash = digest.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!(
        "\n# leashctl agent install codex: Codex runs a hook once it is trusted.\n\
         [hooks.state.{}]\ntrusted_hash = \"sha256:{hash}\"\n",
        toml::Value::String(key)
    )
}

/// Codex's config `text` (from `file`) with `lines` added at its end, checked to read as
/// TOML with them.
pub(crate) fn trusted(file: &Path, text: &str, lines: &str) -> Result<String, CtlError> {
    text.parse::<toml::Table>()
        .map_err(|e| refused(file, &format!("not TOML ({})", e.message())))?;
    let mut trusted = text.to_string();
    if !trusted.is_empty() && !trusted.ends_with('\n') {
        trusted.push('\n');
    }
    trusted.push_str(lines);
    trusted.parse::<toml::Table>().map_err(|_| {
        refused(
            file,
            "its hooks.state cannot take leash's hook (already trusted there?)",
        )
    })?;
    Ok(trusted)
}

/// Answer one PreToolUse call of Codex: its shell command, rewritten to run in a leash
/// session (`leash` with `options`); `None` for a call with no command, or one already
/// rewritten.
pub(crate) fn answer(call: &Value, leash: &Path, options: &[String]) -> Option<Value> {
    let command = call["tool_input"]["command"].as_str()?;
    let rewritten = in_session(command, Run::InPlace, leash, options)?;
    Some(json!({
        "hookSpecificOutput": {
            "hookEventName": EVENT,
            // Codex takes a rewrite only with "allow"; its approval rules still apply.
            "permissionDecision": "allow",
            "updatedInput": {"command": rewritten},
        }
    }))
}

/// The answer that blocks the command, telling the model why: a hook that fails would
/// let it run without its limits.
pub(crate) fn refusal(why: &str) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": EVENT,
            "permissionDecision": "deny",
            "permissionDecisionReason": format!("leash: {why}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_hash_is_the_one_codex_computes() {
        // Codex 0.169.0 ran this hook with exactly this entry, and no other.
        let lines = trust_lines(
            Path::new("/var/tmp/cx/home/hooks.json"),
            0,
            "/var/tmp/cx/hook.sh",
        );
        assert!(lines.contains("[hooks.state.\"/var/tmp/cx/home/hooks.json:pre_tool_use:0:0\"]"));
        assert!(lines.contains(
            "trusted_hash = \"sha256:53796546d28887a1f580d3c058882197222b9d131cc97f2d3b728939ad97008c\""
        ));
    }

    #[test]
    fn a_command_is_rewritten_once_into_a_session_in_codexs_shell() {
        let call = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                          "tool_input": {"command": "echo 'it''s' | wc -c"}});
        let options = ["--mem".to_string(), "1G".to_string()];
        let answer = answer(&call, Path::new("/usr/bin/leash"), &options).unwrap();
        let rewritten = answer["hookSpecificOutput"]["updatedInput"]["command"]
            .as_str()
            .unwrap();
        assert_eq!(
            rewritten,
            "exec setsid -w /usr/bin/leash --profile agent-command --die-with-parent \
             --die-with \"$PPID\" --mem 1G -- \"${0#-}\" -c 'echo '\\''it'\\'''\\''s'\\'' | wc -c' 2>&1"
        );
        let again = json!({"tool_input": {"command": rewritten}});
        assert_eq!(
            super::answer(&again, Path::new("/usr/bin/leash"), &options),
            None
        );
        assert_eq!(
            super::answer(&json!({}), Path::new("/usr/bin/leash"), &[]),
            None
        );
    }

    #[test]
    fn trust_is_added_only_where_the_config_still_reads() {
        let lines = trust_lines(Path::new("/h/hooks.json"), 1, "hook");
        let file = Path::new("config.toml");
        let added = trusted(file, "model = \"o\"", &lines).unwrap();
        assert!(added.starts_with("model = \"o\"\n\n# leashctl"));
        assert!(trusted(file, &added, &lines).is_err(), "the same key twice");
        assert!(trusted(file, "model = ", &lines).is_err());
    }
}
