//! Gemini CLI (checked against 0.61.0): a BeforeTool hook in the user's settings.json
//! (`$GEMINI_CLI_HOME/.gemini`, else `~/.gemini`) whose answer rewrites each
//! run_shell_command to run under leash. Gemini CLI runs user hooks without asking, and
//! the rewritten command as it would have run the model's (`bash -c`, in its per-call
//! sandbox if on); it then adds a line of its own to the tool's result, saying a hook
//! changed the input.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Agent;
use super::command_line::{Run, check_options, hook_command, in_session};
use super::hook_list::Seam;
use super::record::{Wired, load, position, read, save, write_settings};
use crate::front::ctl::{CtlError, env_dir};

const AGENT: Agent = Agent::Gemini;
const SEAM: Seam = Seam {
    event: "BeforeTool",
    matcher: "run_shell_command",
};

/// The user's settings file.
fn settings() -> Result<PathBuf, CtlError> {
    let home = env_dir("GEMINI_CLI_HOME")
        .or_else(|| env_dir("HOME"))
        .ok_or_else(|| CtlError::Usage("agent: no HOME to find Gemini CLI's settings in".into()))?;
    let home = std::path::absolute(&home)
        .map_err(|e| CtlError::Usage(format!("agent: {}: {e}", home.display())))?;
    Ok(home.join(".gemini/settings.json"))
}

/// Wire Gemini CLI for the user; an earlier install is replaced (the file as it was before
/// it kept for `remove`).
pub(crate) fn install(options: &[String]) -> Result<String, CtlError> {
    crate::front::ctl::leash_beside("agent install")?;
    check_options(options)?;
    let hook = hook_command(AGENT, options)?;
    let file = settings()?;
    let mut records = load()?;
    let earlier = position(&records, AGENT, &file).map(|at| records.remove(at));
    let text = read(&file)?;
    let mut current = SEAM.parse(&file, text.as_deref().unwrap_or_default())?;
    if let Some(earlier) = &earlier {
        current = SEAM.without(AGENT, &file, current, earlier)?;
    }
    let (installed, _) = SEAM.wired(current, &hook);
    write_settings(&file, &installed)?;
    records.push(Wired {
        agent: AGENT.name().into(),
        settings: file.clone(),
        program: None,
        leash_options: options.to_vec(),
        original: earlier.map_or(text, |e| e.original),
        installed,
        also: Vec::new(),
    });
    save(&records)?;
    Ok(super::installed_line(AGENT, options, &file))
}

/// Undo the install: the file as it was, or, changed since, without leash's hook.
pub(crate) fn remove() -> Result<String, CtlError> {
    let file = settings()?;
    let mut records = load()?;
    let Some(at) = position(&records, AGENT, &file) else {
        return Err(super::not_wired(AGENT, &file));
    };
    let wired = records.remove(at);
    SEAM.undo(AGENT, &wired)?;
    save(&records)?;
    Ok(format!(
        "removed: {} runs its commands as before; {} without leash's hook\n",
        AGENT.name(),
        file.display()
    ))
}

/// Whether the settings still run the hook of `wired`.
pub(super) fn is_live(wired: &Wired) -> bool {
    SEAM.runs(AGENT, wired)
}

/// Answer one BeforeTool call of Gemini CLI: its shell command, rewritten to run in a
/// leash session (`leash` with `options`); `None` for any other call.
pub(crate) fn answer(call: &Value, leash: &Path, options: &[String]) -> Option<Value> {
    let command = call["tool_input"]["command"].as_str()?;
    let rewritten = in_session(command, Run::Child, leash, options)?;
    Some(json!({
        "hookSpecificOutput": {
            "hookEventName": SEAM.event,
            "tool_input": {"command": rewritten},
        }
    }))
}

/// The answer that blocks the command, telling the model why.
pub(crate) fn refusal(why: &str) -> Value {
    json!({"decision": "deny", "reason": format!("leash: {why}")})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_command_is_rewritten_into_a_session() {
        let call = json!({"hook_event_name": "BeforeTool", "tool_name": "run_shell_command",
                          "tool_input": {"command": "make test", "description": "tests"}});
        let answer = answer(&call, Path::new("/usr/bin/leash"), &[]).unwrap();
        assert_eq!(
            answer["hookSpecificOutput"]["tool_input"],
            json!({"command": "setsid -w /usr/bin/leash --profile agent-command \
                               --die-with-parent --die-with \"$PPID\" -- \"${0#-}\" -c 'make test' 2>&1"})
        );
        assert_eq!(refusal("no leash")["decision"], "deny");
    }
}
