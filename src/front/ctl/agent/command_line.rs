//! leash's command line as the wiring writes it: the flags every agent command gets, the
//! install's options (checked once, at install), shell quoting, and the hook command.

use super::Agent;
use crate::front::ctl::CtlError;

/// What the wiring gives leash before the options of the install.
pub(super) const PREFIX_FLAGS: [&str; 3] = ["--profile", "agent-command", "--die-with-parent"];

/// Refuse options leash would refuse, at install rather than at every command: checked
/// with what the prefix program adds (its flags, and a report), so that an option it
/// gives itself (a second --report) is refused here.
pub(super) fn check_options(options: &[String]) -> Result<(), CtlError> {
    let mut args: Vec<std::ffi::OsString> = vec!["leash".into()];
    args.extend(PREFIX_FLAGS.map(Into::into));
    args.extend(options.iter().map(Into::into));
    args.extend(["--report", "/dev/null", "--explain", "--", "sh"].map(Into::into));
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
    format!("leash {} {}", PREFIX_FLAGS[..2].join(" "), shown(options))
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
/// options where the hook itself writes leash's command line (Codex's).
pub(super) fn hook_command(agent: Agent, options: &[String]) -> Result<String, CtlError> {
    let leashctl = std::env::current_exe().map_err(|e| {
        CtlError::Incomplete(format!("agent install: cannot tell where leashctl is: {e}"))
    })?;
    let mut command = format!(
        "{} agent hook {}",
        quoted(&leashctl.display().to_string()),
        agent.name()
    );
    if agent == Agent::Codex && !options.is_empty() {
        command = format!("{command} -- {}", shown(options).trim_end());
    }
    Ok(command)
}
