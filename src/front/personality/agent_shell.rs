//! leash as a coding agent's shell (`leashctl agent install claude-code`): the agent runs
//! each command as `SHELL -c SCRIPT`, and a copy of leash named `leash-bash` is that
//! shell. A shell tool's script runs in a leash session of its own; anything else (the
//! agent reading its environment, making its shell snapshot) runs in the real shell,
//! exec'd in place. No shell runs in between: one program where the agent had one.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::machine::exit::{CANNOT_EXECUTE, Exit, LEASH_FAILED, NOT_FOUND};
use crate::session::message;

/// What the copy is called, by the shell it stands for: the agent takes it for a bash or
/// a zsh only by that word in its path.
pub(crate) const NAMES: [&str; 2] = ["leash-bash", "leash-zsh"];

/// The file beside the copy that says which shell it stands for and leash's options.
pub(crate) const SETTINGS_FILE: &str = "agent-shell.json";

/// What every agent command's session gets before the install's options.
pub(crate) const FLAGS: [&str; 3] = ["--profile", "agent-command", "--die-with-parent"];

/// Where Claude Code lets a command leave notes for its hooks (a directory it makes per
/// session, writable inside its sandbox too): the failure hook reads the report there.
pub(crate) const NOTES_DIR: &str = "CLAUDE_CODE_CHILD_NOTES_DIR";

/// What a report left for the failure hook is called: `leash-PID.json`.
pub(crate) const REPORT_PREFIX: &str = "leash-";

/// What a background command's model command starts with once the PreToolUse hook has
/// marked it (a no-op for the shell): the shell tool's script shows no other sign of it.
pub(crate) const BACKGROUND: &str = ": leash-background; ";

/// The wall limit of a command the model started with `run_in_background` (a dev server,
/// a watcher): it runs while the conversation goes on, and ends with the agent anyway.
/// A `--wall` given at install wins.
const BACKGROUND_WALL: &str = "2h";

/// How a shell tool's script ends: Claude Code records the working directory after the
/// model's command (`&& pwd -P >| FILE`). Scripts without it are the agent's own.
const TOOL_SCRIPT_END: &str = "&& pwd -P >| ";

/// The settings file's content, written by `leashctl agent install`.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct ShellSettings {
    /// The real shell: what the agent would have run without leash.
    pub(crate) shell: PathBuf,
    /// leash's options from the install, after [`FLAGS`].
    pub(crate) options: Vec<String>,
}

/// Whether leash was invoked as an agent's shell (`argv0`, its first argument).
pub(crate) fn is_invoked_as(argv0: &OsStr) -> bool {
    Path::new(argv0)
        .file_name()
        .is_some_and(|name| NAMES.iter().any(|n| name == *n))
}

/// Run as the agent's shell with `args` (its name left out): a shell tool's script by
/// `as_leash` (leash's own entry, given leash's command line), anything else by the real
/// shell in leash's place.
pub(crate) fn run(args: &[OsString], as_leash: impl FnOnce(Vec<OsString>) -> Exit) -> Exit {
    let settings = match read_settings() {
        Ok(settings) => settings,
        Err(why) => {
            message::error(&format!("as an agent's shell: {why}"));
            return Exit::Code(LEASH_FAILED);
        }
    };
    match tool_script(args) {
        Some(script) => as_leash(leash_line(&settings, script, report().as_deref())),
        None => exec(&settings.shell, args),
    }
}

/// Why the settings beside the copy cannot be read.
#[derive(Debug)]
enum SettingsError {
    /// The program cannot tell where it is.
    NoPath(std::io::Error),
    /// The file is missing or unreadable.
    Unreadable {
        file: PathBuf,
        error: std::io::Error,
    },
    /// The file is not what leashctl writes.
    Malformed {
        file: PathBuf,
        error: serde_json::Error,
    },
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsError::NoPath(error) => write!(f, "cannot tell where it is: {error}"),
            SettingsError::Unreadable { file, error } => write!(
                f,
                "{}: {error} (run leashctl agent install again)",
                file.display()
            ),
            SettingsError::Malformed { file, error } => write!(f, "{}: {error}", file.display()),
        }
    }
}

/// The settings beside this program (the copy the agent runs).
fn read_settings() -> Result<ShellSettings, SettingsError> {
    let me = std::env::current_exe().map_err(SettingsError::NoPath)?;
    let file = me.with_file_name(SETTINGS_FILE);
    let text =
        crate::machine::small_file::read(&file).map_err(|error| SettingsError::Unreadable {
            file: file.clone(),
            error,
        })?;
    serde_json::from_str(&text).map_err(|error| SettingsError::Malformed { file, error })
}

/// The script of `-c SCRIPT`, if it is a shell tool's.
fn tool_script(args: &[OsString]) -> Option<&OsStr> {
    match args {
        [c, script] if c == "-c" => is_tool_script(script.to_str()?).then_some(script.as_os_str()),
        _ => None,
    }
}

/// Whether `script` is a shell tool's own: it ends in `&& pwd -P >| FILE`, FILE one plain or
/// single-quoted word. With its sandbox on, Claude Code runs its shell three times, one
/// inside the other (the network proxy, then its seccomp helper passed as descriptor 3,
/// then the tool's script): the outer two carry the script quoted within theirs, so it is
/// not their end, and they run as they are. The innermost runs in the session, inside
/// the sandbox.
fn is_tool_script(script: &str) -> bool {
    let Some((_, file)) = script.rsplit_once(TOOL_SCRIPT_END) else {
        return false;
    };
    let plain =
        !file.is_empty() && !file.contains(|c: char| c.is_whitespace() || "'\"\\`$".contains(c));
    let quoted = file
        .strip_prefix('\'')
        .and_then(|f| f.strip_suffix('\''))
        .is_some_and(|f| !f.contains('\''));
    plain || quoted
}

/// Where this command's report goes: in the notes directory, if the agent gave one that
/// can be written (the failure hook finds it there).
fn report() -> Option<PathBuf> {
    let notes = std::env::var_os(NOTES_DIR).filter(|d| !d.is_empty())?;
    let notes = PathBuf::from(notes);
    let writable = nix::unistd::access(&notes, nix::unistd::AccessFlags::W_OK).is_ok();
    (notes.is_dir() && writable)
        .then(|| notes.join(format!("{REPORT_PREFIX}{}.json", std::process::id())))
}

/// leash's command line for `script`: the agent-command profile, the install's options, a
/// background command's wall limit, the report, and the real shell running the script.
fn leash_line(settings: &ShellSettings, script: &OsStr, report: Option<&Path>) -> Vec<OsString> {
    let mut line: Vec<OsString> = vec!["leash".into()];
    line.extend(FLAGS.map(OsString::from));
    let background = script
        .to_str()
        .is_some_and(|s| s.contains(&format!("&& eval '{BACKGROUND}")));
    let walled = settings
        .options
        .iter()
        .any(|o| o == "--wall" || o.starts_with("--wall="));
    if background && !walled {
        line.extend(["--wall", BACKGROUND_WALL].map(OsString::from));
    }
    line.extend(settings.options.iter().map(OsString::from));
    if let Some(report) = report {
        line.extend([OsString::from("--report"), report.into()]);
    }
    line.extend([
        OsString::from("--"),
        settings.shell.clone().into(),
        "-c".into(),
        script.to_owned(),
    ]);
    line
}

/// Become the real `shell` with `args`, as if the agent had run it.
fn exec(shell: &Path, args: &[OsString]) -> Exit {
    let error = std::process::Command::new(shell).args(args).exec();
    message::error(&format!(
        "as an agent's shell: {}: {error}",
        shell.display()
    ));
    let code = match error.kind() {
        std::io::ErrorKind::NotFound => NOT_FOUND,
        _ => CANNOT_EXECUTE,
    };
    Exit::Code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(options: &[&str]) -> ShellSettings {
        ShellSettings {
            shell: "/bin/bash".into(),
            options: options.iter().map(ToString::to_string).collect(),
        }
    }

    fn line(settings: &ShellSettings, script: &str, report: Option<&str>) -> Vec<String> {
        leash_line(settings, script.as_ref(), report.map(Path::new))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    const TOOL: &str = "source snap && eval 'make' < /dev/null && pwd -P >| /tmp/cwd";

    #[test]
    fn only_a_shell_tools_script_runs_in_a_session() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(tool_script(&args(&["-c", TOOL])).is_some());
        assert!(tool_script(&args(&["-c", "env"])).is_none());
        assert!(tool_script(&args(&["-c", "-l", TOOL])).is_none());
        assert!(tool_script(&args(&["script.sh"])).is_none());
        assert!(is_tool_script(
            "eval 'x' < /dev/null && pwd -P >| '/tmp/a b/cwd-1'"
        ));
        // The sandbox's outer shells, the tool's script quoted inside theirs.
        let inner = "exec 3<&- || exit 126; source s && eval 'x' < /dev/null && pwd -P >| /t/cwd";
        let outer = format!(
            "{{ socat ... & }}; /proc/self/fd/3 bash -c '{}'",
            inner.replace('\'', "'\"'\"'")
        );
        assert!(is_tool_script(inner));
        assert!(!is_tool_script(&outer));
        let outermost = format!("bash -c '{}'", outer.replace('\'', "'\"'\"'"));
        assert!(!is_tool_script(&outermost));
    }

    #[test]
    fn a_tool_script_runs_in_the_real_shell_under_the_profile_and_the_options() {
        let got = line(&settings(&["--mem", "8G"]), TOOL, Some("/n/leash-7.json"));
        let want = [
            "leash",
            "--profile",
            "agent-command",
            "--die-with-parent",
            "--mem",
            "8G",
            "--report",
            "/n/leash-7.json",
            "--",
            "/bin/bash",
            "-c",
            TOOL,
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_background_command_gets_the_background_wall_unless_one_was_given() {
        let marked = TOOL.replace("eval '", &format!("eval '{BACKGROUND}"));
        let got = line(&settings(&[]), &marked, None);
        assert_eq!(got[4..6], ["--wall", BACKGROUND_WALL]);
        let given = line(&settings(&["--wall=1h"]), &marked, None);
        assert!(!given.contains(&BACKGROUND_WALL.to_string()), "{given:?}");
        assert!(!line(&settings(&[]), TOOL, None).contains(&"--wall".to_string()));
    }

    #[test]
    fn only_the_copies_names_are_the_agent_shell() {
        assert!(is_invoked_as(
            "/home/u/.local/share/leash/agents/x/leash-bash".as_ref()
        ));
        assert!(is_invoked_as("leash-zsh".as_ref()));
        assert!(!is_invoked_as("/bin/bash".as_ref()));
        assert!(!is_invoked_as("leash".as_ref()));
    }
}
