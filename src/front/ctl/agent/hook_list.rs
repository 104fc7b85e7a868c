//! An agent's JSON file of hooks (Codex's hooks.json, Gemini CLI's settings.json): lists
//! of hook groups per event, to which leashctl adds one group of its own, last, and from
//! which it takes that group out again, every other key kept in its place.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::Agent;
use super::command_line::hook_command;
use super::record::{Wired, read, restore, write_settings};
use crate::front::ctl::CtlError;

/// Where an agent takes leash's hook: the event before a shell command, and the name of
/// its shell tool, as a group's matcher.
#[derive(Clone, Copy)]
pub(crate) struct Seam {
    pub(crate) event: &'static str,
    pub(crate) matcher: &'static str,
}

impl Seam {
    /// The hooks in `text` (from `file`, for messages): a JSON object whose `hooks` is an
    /// object and whose list for the event, if any, a list.
    pub(crate) fn parse(self, file: &Path, text: &str) -> Result<Map<String, Value>, CtlError> {
        let file_hooks = json_object(file, text)?;
        if file_hooks.get("hooks").is_some_and(|h| !h.is_object()) {
            return Err(refused(file, "its \"hooks\" is not an object"));
        }
        let groups = file_hooks.get("hooks").and_then(|h| h.get(self.event));
        if groups.is_some_and(|e| !e.is_array()) {
            let event = self.event;
            return Err(refused(
                file,
                &format!("its \"hooks\".\"{event}\" is not a list"),
            ));
        }
        Ok(file_hooks)
    }

    /// Whether the file of `wired` (an install for `agent`) still runs its hook.
    pub(crate) fn runs(self, agent: Agent, wired: &Wired) -> bool {
        let Ok(hook) = hook_command(agent, &wired.leash_options) else {
            return false;
        };
        read(&wired.settings)
            .ok()
            .flatten()
            .and_then(|t| self.parse(&wired.settings, &t).ok())
            .is_some_and(|h| self.group_of(&h, &hook).is_some())
    }

    /// `file_hooks` (of `file`) without the hook an earlier install (`earlier`, for
    /// `agent`) added, as an install that replaces it starts from.
    pub(crate) fn without(
        self,
        agent: Agent,
        file: &Path,
        file_hooks: Map<String, Value>,
        earlier: &Wired,
    ) -> Result<Map<String, Value>, CtlError> {
        let hook = hook_command(agent, &earlier.leash_options)?;
        self.parse(file, &self.unwired(file_hooks, &hook))
    }

    /// Undo `wired` (an install for `agent`) in its file: the file as it was, where
    /// nothing changed it since the install; else without leash's hook, if still there.
    pub(crate) fn undo(self, agent: Agent, wired: &Wired) -> Result<(), CtlError> {
        let hook = hook_command(agent, &wired.leash_options)?;
        let file = &wired.settings;
        let current = read(file)?;
        if current.as_deref() == Some(wired.installed.as_str()) {
            return restore(file, wired.original.as_deref());
        }
        let Some(text) = current else {
            return Ok(());
        };
        let file_hooks = self.parse(file, &text)?;
        if self.group_of(&file_hooks, &hook).is_some() {
            write_settings(file, &self.unwired(file_hooks, &hook))?;
        }
        Ok(())
    }

    /// Where among the event's groups of `file_hooks` the one running `hook` is.
    pub(crate) fn group_of(self, file_hooks: &Map<String, Value>, hook: &str) -> Option<usize> {
        let groups = file_hooks.get("hooks")?.get(self.event)?.as_array()?;
        groups
            .iter()
            .position(|group| group["hooks"][0]["command"] == hook)
    }

    /// `file_hooks` with `hook` run before each shell command (a group of its own, last),
    /// as text, and that group's place.
    pub(crate) fn wired(self, mut file_hooks: Map<String, Value>, hook: &str) -> (String, usize) {
        let hooks = file_hooks
            .entry("hooks")
            .or_insert_with(|| Value::Object(Map::new()));
        let mut at = 0;
        if let Value::Object(hooks) = hooks {
            let groups = hooks
                .entry(self.event)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(groups) = groups {
                at = groups.len();
                groups.push(json!({
                    "matcher": self.matcher,
                    "hooks": [{"type": "command", "command": hook}],
                }));
            }
        }
        (pretty(&file_hooks), at)
    }

    /// `file_hooks` without `hook` (and without what that leaves empty).
    pub(crate) fn unwired(self, mut file_hooks: Map<String, Value>, hook: &str) -> String {
        if let Some(Value::Object(hooks)) = file_hooks.get_mut("hooks") {
            if let Some(Value::Array(groups)) = hooks.get_mut(self.event) {
                groups.retain(|group| group["hooks"][0]["command"] != hook);
                if groups.is_empty() {
                    hooks.shift_remove(self.event);
                }
            }
            if hooks.is_empty() {
                file_hooks.shift_remove("hooks");
            }
        }
        pretty(&file_hooks)
    }
}

/// The JSON object in `text` (from `file`; none there: an empty one), or the refusal that
/// says why it is not one.
pub(crate) fn json_object(file: &Path, text: &str) -> Result<Map<String, Value>, CtlError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| refused(file, &format!("not JSON ({e})")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(refused(file, "not a JSON object")),
    }
}

/// An agent's file leashctl will not change, and why.
pub(crate) fn refused(file: &Path, why: &str) -> CtlError {
    CtlError::Usage(format!(
        "agent: {}: {why}; leashctl changes nothing",
        file.display()
    ))
}

/// As the agents write their JSON: two spaces, a newline at the end.
fn pretty(value: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
