//! The wiring itself: the prefix program leashctl writes for the agent (it runs the
//! agent's shell script under leash), the settings change that names it, and the record
//! that lets `remove` put the settings file back byte for byte.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Agent, settings};
use crate::front::ctl::{CtlError, replace_file};

/// One install, as the record keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct Wired {
    agent: String,
    /// The settings file changed.
    settings: PathBuf,
    /// The prefix program written.
    program: PathBuf,
    leash_options: Vec<String>,
    /// The settings file before the install (none: there was none).
    original: Option<String>,
    /// The settings file as the install left it.
    installed: String,
}

impl Wired {
    /// Whether `settings` name this install's prefix program.
    fn is_named_in(&self, settings: &serde_json::Map<String, serde_json::Value>) -> bool {
        settings::prefix(settings) == Some(&self.program.display().to_string())
    }
}

/// Where the record of `agent`'s install in `file` is among `records`.
fn position(records: &[Wired], agent: Agent, file: &Path) -> Option<usize> {
    records
        .iter()
        .position(|w| w.agent == agent.name() && w.settings == file)
}

/// Wire `agent` in the settings file `file`, its commands under leash with `options`.
pub(crate) fn install(agent: Agent, file: &Path, options: &[String]) -> Result<String, CtlError> {
    let leash = crate::front::ctl::leash_beside("agent install")?;
    let hook = hook_command(agent)?;
    check_options(options)?;
    let original = read(file)?;
    let current = settings::parse(file, original.as_deref().unwrap_or_default())?;
    let mut records = load()?;
    let earlier = position(&records, agent, file);
    if let Some(at) = earlier.filter(|&at| records[at].is_named_in(&current)) {
        write_program(&records[at].program, &leash, &hook, options)?;
        records[at].leash_options = options.to_vec();
        save(&records)?;
        return Ok(format!(
            "{} already runs its commands under {} ({})\n",
            agent.name(),
            leash_line(options),
            file.display()
        ));
    }
    if let Some(other) = settings::prefix(&current) {
        return Err(CtlError::Usage(format!(
            "agent install: {} already runs Bash commands through {other} ({}); remove \
             that first",
            file.display(),
            settings::PREFIX
        )));
    }
    let program = program_for(agent, file)?;
    write_program(&program, &leash, &hook, options)?;
    let installed = settings::wired(current, &program, &hook);
    write_settings(file, &installed)?;
    if let Some(at) = earlier {
        records.remove(at);
    }
    records.push(Wired {
        agent: agent.name().into(),
        settings: file.to_path_buf(),
        program,
        leash_options: options.to_vec(),
        original,
        installed,
    });
    save(&records)?;
    Ok(format!(
        "installed: each Bash command of {} runs under {} ({}); undo with leashctl agent \
         remove {}\n",
        agent.name(),
        leash_line(options),
        file.display(),
        agent.name()
    ))
}

/// Undo the install of `agent` in `file`.
pub(crate) fn remove(agent: Agent, file: &Path) -> Result<String, CtlError> {
    let mut records = load()?;
    let Some(at) = position(&records, agent, file) else {
        return Err(CtlError::Usage(format!(
            "agent remove: leashctl did not wire {} in {}",
            agent.name(),
            file.display()
        )));
    };
    let wired = records.remove(at);
    let current = read(file)?;
    let said = if current.as_deref() == Some(wired.installed.as_str()) {
        restore(file, wired.original.as_deref())?;
        "as it was"
    } else {
        let text = current.unwrap_or_default();
        let settings = settings::parse(file, &text)?;
        if wired.is_named_in(&settings) {
            write_settings(file, &settings::unwired(settings, &hook_command(agent)?))?;
            "without leash's prefix (changed since the install, so rewritten)"
        } else {
            "unchanged (it no longer named leash's prefix)"
        }
    };
    let _ = fs::remove_file(&wired.program);
    if let Some(dir) = wired.program.parent() {
        let _ = fs::remove_dir(dir);
    }
    save(&records)?;
    Ok(format!(
        "removed: {} runs its commands as before; {} {said}\n",
        agent.name(),
        file.display()
    ))
}

/// One line per install: agent, settings file, leash options.
pub(crate) fn list() -> Result<String, CtlError> {
    let records = load()?;
    let mut text = String::new();
    for wired in &records {
        let live = read(&wired.settings)
            .ok()
            .flatten()
            .and_then(|t| settings::parse(&wired.settings, &t).ok())
            .is_some_and(|s| wired.is_named_in(&s));
        let _ = writeln!(
            text,
            "{}  {}  {}{}",
            wired.agent,
            crate::machine::printable::printable(&wired.settings.display().to_string()),
            leash_line(&wired.leash_options),
            if live {
                ""
            } else {
                " (not wired: the settings no longer name it)"
            }
        );
    }
    Ok(text)
}

/// What the prefix program gives leash before the options of the install.
const PREFIX_FLAGS: [&str; 3] = ["--profile", "agent-command", "--die-with-parent"];

/// Refuse options leash would refuse, at install rather than at every command: checked
/// with what the prefix program adds (its flags, and a report), so that an option it
/// gives itself (a second --report) is refused here.
fn check_options(options: &[String]) -> Result<(), CtlError> {
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
fn shown(options: &[String]) -> String {
    options.iter().map(|o| quoted(o) + " ").collect()
}

/// `leash --profile agent-command OPTIONS`, as a message shows it.
fn leash_line(options: &[String]) -> String {
    format!("leash {} {}", PREFIX_FLAGS[..2].join(" "), shown(options))
        .trim_end()
        .to_string()
}

/// `text` as one word of a POSIX shell.
fn quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hook command the settings name: this leashctl's `agent hook AGENT`.
fn hook_command(agent: Agent) -> Result<String, CtlError> {
    let leashctl = std::env::current_exe().map_err(|e| {
        CtlError::Incomplete(format!("agent install: cannot tell where leashctl is: {e}"))
    })?;
    Ok(format!(
        "{} agent hook {}",
        quoted(&leashctl.display().to_string()),
        agent.name()
    ))
}

/// The wall limit of a command the model started with `run_in_background` (a dev server,
/// a watcher): it runs while the conversation goes on, and ends with Claude Code anyway.
/// Given as LEASH_WALL, below the profile's flags, so `--wall` given at install wins.
const BACKGROUND_WALL: &str = "2h";

/// Write the prefix program. Claude Code runs `PROGRAM SCRIPT` for each Bash command,
/// hook and MCP server, SCRIPT (the last argument) one shell script for its shell. A Bash
/// command's script (it sources the shell snapshot, runs the model's command, records the
/// working directory with `pwd -P >|`) runs under leash, its report left where the
/// failure hook finds it; leash's own `hook` command (run before every Bash command) is
/// exec'd as it is, without a shell in between; anything else runs as it would without
/// the prefix. leash is
/// Claude Code's own child (bash execs the prefix, the prefix execs leash), so it dies
/// with Claude Code (--die-with-parent): even a SIGKILLed Claude Code leaves no command
/// running, a background one included.
fn write_program(
    program: &Path,
    leash: &Path,
    hook: &str,
    options: &[String],
) -> Result<(), CtlError> {
    let notes = super::hook::NOTES_DIR;
    let background = super::hook::BACKGROUND;
    let text = format!(
        "#!/bin/sh\n\
         # Written by leashctl agent install (leash {}): Claude Code runs each Bash command\n\
         # as `THIS SCRIPT`; SCRIPT, the last argument, runs in its shell in a leash session.\n\
         eval \"script=\\${{$#}}\"\n\
         case $script in\n\
         {hook_pattern}) exec {hook} ;;\n\
         *\"&& eval '{background}\"*) LEASH_WALL={BACKGROUND_WALL}; export LEASH_WALL ;;\n\
         *'&& pwd -P >| '*) ;;\n\
         *) exec \"${{SHELL:-/bin/sh}}\" -c \"$script\" ;;\n\
         esac\n\
         set --\n\
         if [ -d \"${{{notes}:-}}\" ] && [ -w \"${notes}\" ]; then\n\
         \x20 set -- --report \"${notes}/leash-$$.json\"\n\
         fi\n\
         exec {} {} {}\"$@\" -- \"${{SHELL:-/bin/sh}}\" -c \"$script\"\n",
        env!("CARGO_PKG_VERSION"),
        quoted(&leash.display().to_string()),
        PREFIX_FLAGS.join(" "),
        shown(options),
        hook_pattern = quoted(hook),
    );
    let dir = program.parent().unwrap_or(Path::new("/"));
    let failed = |e: std::io::Error| {
        CtlError::Incomplete(format!("agent install: {}: {e}", program.display()))
    };
    fs::create_dir_all(dir).map_err(failed)?;
    if let Some(open) = crate::machine::owned_path::open_to_others(dir) {
        return Err(CtlError::Usage(format!(
            "agent install: {} may be changed by {}: the program each command runs through \
             must live where only you (and root) can change it",
            open.dir.display(),
            open.whom
        )));
    }
    replace_file(program, &text, 0o755).map_err(failed)
}

/// Where the prefix program for `agent` and `file` goes: a directory of its own in the
/// user's data directory, named after the settings file.
fn program_for(agent: Agent, file: &Path) -> Result<PathBuf, CtlError> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    file.hash(&mut hasher);
    let dir = format!("{}-{:016x}", agent.name(), hasher.finish());
    Ok(data_dir()?.join(dir).join("shell-prefix"))
}

/// `$XDG_DATA_HOME/leash/agents`, or `~/.local/share/leash/agents`.
fn data_dir() -> Result<PathBuf, CtlError> {
    crate::front::ctl::user_data_home()
        .map(|data| data.join("leash/agents"))
        .ok_or_else(|| CtlError::Usage("agent: no HOME for leashctl's record".into()))
}

fn record_path() -> Result<PathBuf, CtlError> {
    Ok(data_dir()?.join("installs.json"))
}

fn load() -> Result<Vec<Wired>, CtlError> {
    let path = record_path()?;
    match read(&path)? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            CtlError::Incomplete(format!("agent: {}: not leashctl's ({e})", path.display()))
        }),
    }
}

fn save(records: &[Wired]) -> Result<(), CtlError> {
    let path = record_path()?;
    let text = serde_json::to_string_pretty(records).unwrap_or_default() + "\n";
    let failed =
        |e: std::io::Error| CtlError::Incomplete(format!("agent: {}: {e}", path.display()));
    fs::create_dir_all(data_dir()?).map_err(failed)?;
    replace_file(&path, &text, 0o600).map_err(failed)
}

/// The text of `file`, or none where there is no file.
fn read(file: &Path) -> Result<Option<String>, CtlError> {
    match fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CtlError::Usage(format!("agent: {}: {e}", file.display()))),
    }
}

/// Write the settings file, keeping its permissions where it exists.
fn write_settings(file: &Path, text: &str) -> Result<(), CtlError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(file).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let failed =
        |e: std::io::Error| CtlError::Incomplete(format!("agent: {}: {e}", file.display()));
    fs::create_dir_all(file.parent().unwrap_or(Path::new("/"))).map_err(failed)?;
    replace_file(file, text, mode).map_err(failed)
}

/// Put the settings file back: its text before the install, or no file.
fn restore(file: &Path, original: Option<&str>) -> Result<(), CtlError> {
    match original {
        Some(text) => write_settings(file, text),
        None => fs::remove_file(file)
            .map_err(|e| CtlError::Incomplete(format!("agent: {}: {e}", file.display()))),
    }
}
