//! leash's command line as the wiring writes it: the flags every agent command gets, the
//! install's options (checked once, at install), shell quoting, and the hook command.

use std::path::{Path, PathBuf};

use super::Agent;
use crate::front::ctl::CtlError;
use crate::front::personality::agent_shell::FLAGS;

/// Refuse options leash would refuse, at install rather than at every command: checked
/// with what the wiring adds (its flags, a report, the agent to die with), so that an
/// option it gives itself (a second --report) is refused here.
pub(super) fn check_options(options: &[String]) -> Result<(), CtlError> {
    let mut args: Vec<std::ffi::OsString> = vec!["leash".into()];
    args.extend(FLAGS.map(Into::into));
    args.extend(options.iter().map(Into::into));
    let added = ["--report", "/dev/null", "--die-with", "1"];
    args.extend(
        added
            .into_iter()
            .chain(["--explain", "--", "sh"])
            .map(Into::into),
    );
    match crate::front::cli::parse(args) {
        Ok(crate::front::cli::Invocation::Explain(_)) => Ok(()),
        Ok(_) => Err(CtlError::Usage(
            "agent install: leash options: give limits and protections, not an action".into(),
        )),
        Err(e) => Err(CtlError::Usage(format!(
            "agent install: leash options: {}",
            e.to_string().lines().next().unwrap_or_default()
        ))),
    }
}

/// The options as a command line shows them, each followed by a space.
pub(super) fn shown(options: &[String]) -> String {
    options.iter().map(|o| quoted(o) + " ").collect()
}

/// `leash --profile agent-command OPTIONS`, as a message shows it.
pub(super) fn leash_line(options: &[String]) -> String {
    format!("leash {} {}", FLAGS[..2].join(" "), shown(options))
        .trim_end()
        .to_string()
}

/// `text` as one word of a POSIX shell.
pub(super) fn quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hook command the settings name: this leashctl's `agent hook AGENT`, with the leash
/// options where the hook itself writes leash's command line (Codex's, Gemini CLI's).
pub(super) fn hook_command(agent: Agent, options: &[String]) -> Result<String, CtlError> {
    let leashctl = leashctl()?;
    let mut command = format!(
        "{} agent hook {}",
        quoted(&leashctl.display().to_string()),
        agent.name()
    );
    if agent != Agent::ClaudeCode && !options.is_empty() {
        command = format!("{command} -- {}", shown(options).trim_end());
    }
    Ok(command)
}

/// This leashctl, which the hooks run.
pub(super) fn leashctl() -> Result<PathBuf, CtlError> {
    std::env::current_exe().map_err(|e| {
        CtlError::Incomplete(format!("agent install: cannot tell where leashctl is: {e}"))
    })
}

/// How the agent's shell runs leash: in its place, or as a child (Gemini CLI runs a line
/// of its own after the command, which lists the background processes it left).
#[derive(Clone, Copy)]
pub(super) enum Run {
    InPlace,
    Child,
}

/// The shell command that runs `command` in a leash session (`leash` with `options`), for
/// an agent that runs each command with `SHELL -c` (`-lc`); `None` for one already so.
///
/// - `"${0#-}"`: the shell the agent chose (a login shell's leading - dropped).
/// - `--die-with "$PPID"`: the agent (the parent of the shell it runs the command in); its
///   end, even by SIGKILL, ends the session, a command it left running included.
/// - `setsid -w`: the agents end a command by signalling its process group, TERM then
///   KILL soon after (Codex: 100 ms); leash in that group was killed mid-stop and a
///   detached child survived. In a session of its own, it gets the TERM only through
///   setsid's death (--die-with-parent) and stops everything, detached processes included.
/// - `2>&1`: one stream. The agents read stdout and stderr apart and keep the start and
///   the end of a long output: leash's line on stderr could land among a flood's last
///   bytes and be cut; written to the same pipe after them, it is the end.
pub(super) fn in_session(
    command: &str,
    how: Run,
    leash: &Path,
    options: &[String],
) -> Option<String> {
    let session = format!(
        "{}setsid -w {} {} --die-with \"$PPID\" {}--",
        match how {
            Run::InPlace => "exec ",
            Run::Child => "",
        },
        quoted(&leash.display().to_string()),
        FLAGS.join(" "),
        shown(options)
    );
    (!command.starts_with(&session))
        .then(|| format!("{session} \"${{0#-}}\" -c {} 2>&1", quoted(command)))
}
