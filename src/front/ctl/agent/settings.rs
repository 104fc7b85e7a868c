//! An agent's settings file: where it is, and what leashctl adds to it (Claude Code's
//! `env.CLAUDE_CODE_SHELL`, and hooks before a Bash command and after one fails),
//! every other key kept in its place.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::SettingsPlace;
use crate::front::ctl::{CtlError, env_dir};

/// The setting whose value is the shell Claude Code runs each Bash command in.
pub(crate) const SHELL: &str = "CLAUDE_CODE_SHELL";

/// The Claude Code settings file `place` names.
pub(crate) fn path(place: &SettingsPlace) -> Result<PathBuf, CtlError> {
    if let Some(project) = &place.project {
        let project = std::path::absolute(project)
            .map_err(|e| CtlError::Usage(format!("agent: --project: {e}")))?;
        return Ok(project.join(".claude/settings.local.json"));
    }
    let config = env_dir("CLAUDE_CONFIG_DIR")
        .or_else(|| env_dir("HOME").map(|home| home.join(".claude")))
        .ok_or_else(|| CtlError::Usage("agent: no HOME to find the user's settings in".into()))?;
    Ok(config.join("settings.json"))
}

/// The settings in `text` (from `file`, for messages): a JSON object, whose `env` and
/// `hooks`, if any, are objects too, and the hook lists leashctl adds to, lists.
pub(crate) fn parse(file: &Path, text: &str) -> Result<Map<String, Value>, CtlError> {
    let refused = |why: &str| super::hook_list::refused(file, why);
    let settings = super::hook_list::json_object(file, text)?;
    for key in ["env", "hooks"] {
        if settings.get(key).is_some_and(|value| !value.is_object()) {
            return Err(refused(&format!("its \"{key}\" is not an object")));
        }
    }
    for event in HOOKS {
        let entries = settings.get("hooks").and_then(|h| h.get(event));
        if entries.is_some_and(|e| !e.is_array()) {
            return Err(refused(&format!("its \"hooks\".\"{event}\" is not a list")));
        }
    }
    Ok(settings)
}

/// The shell `settings` name, if any.
pub(crate) fn shell(settings: &Map<String, Value>) -> Option<&str> {
    settings.get("env")?.get(SHELL)?.as_str()
}

/// leash's hook, as the settings name it: leashctl run directly with its arguments (no
/// shell started for it: it runs before every Bash command).
pub(crate) fn hook(leashctl: &Path) -> Value {
    json!({
        "type": "command",
        "command": leashctl.display().to_string(),
        "args": super::CLAUDE_CODE_HOOK,
    })
}

/// `settings` with the shell set to `program`, and `hook` run before each Bash command
/// and after each that fails.
pub(crate) fn wired(mut settings: Map<String, Value>, program: &Path, hook: &Value) -> String {
    if let Value::Object(env) = object(&mut settings, "env") {
        env.insert(SHELL.into(), Value::String(program.display().to_string()));
    }
    if let Value::Object(hooks) = object(&mut settings, "hooks") {
        for event in HOOKS {
            let entries = hooks
                .entry(event)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(entries) = entries {
                entries.push(json!({"matcher": "Bash", "hooks": [hook]}));
            }
        }
    }
    pretty(&settings)
}

/// `settings` without leash's shell and the hook `hook` (and without an object left
/// empty by that).
pub(crate) fn unwired(mut settings: Map<String, Value>, hook: &Value) -> String {
    if let Some(Value::Object(env)) = settings.get_mut("env") {
        env.shift_remove(SHELL);
    }
    if let Some(Value::Object(hooks)) = settings.get_mut("hooks") {
        for event in HOOKS {
            if let Some(Value::Array(entries)) = hooks.get_mut(event) {
                entries.retain(|entry| entry["hooks"][0] != *hook);
                if entries.is_empty() {
                    hooks.shift_remove(event);
                }
            }
        }
    }
    for key in ["env", "hooks"] {
        if settings
            .get(key)
            .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
        {
            settings.shift_remove(key);
        }
    }
    pretty(&settings)
}

/// Claude Code's hooks leashctl adds to: before a Bash command, and after one that failed.
const HOOKS: [&str; 2] = ["PreToolUse", "PostToolUseFailure"];

/// The object at `key` of `settings`, made if missing.
fn object<'a>(settings: &'a mut Map<String, Value>, key: &str) -> &'a mut Value {
    settings
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
}

/// As Claude Code writes its settings: two spaces, a newline at the end.
fn pretty(settings: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(settings).unwrap_or_default() + "\n"
}
