//! Claude Code's wiring: the prefix program leashctl writes (it runs the agent's shell
//! script under leash) and the settings change that names it, with its hooks.

use std::fs;
use std::path::{Path, PathBuf};

use super::command_line::{PREFIX_FLAGS, check_options, hook_command, leash_line, quoted, shown};
use super::record::{Wired, data_dir, load, position, read, restore, save, write_settings};
use super::{Agent, settings};
use crate::front::ctl::{CtlError, replace_file};

const AGENT: Agent = Agent::ClaudeCode;

/// Wire Claude Code in the settings file `file`, its commands under leash with `options`.
pub(crate) fn install(file: &Path, options: &[String]) -> Result<String, CtlError> {
    let leash = crate::front::ctl::leash_beside("agent install")?;
    let hook = hook_command(AGENT, &[])?;
    check_options(options)?;
    let original = read(file)?;
    let current = settings::parse(file, original.as_deref().unwrap_or_default())?;
    let mut records = load()?;
    let earlier = position(&records, AGENT, file);
    if let Some(at) = earlier.filter(|&at| is_named_in(&records[at], &current)) {
        let program = records[at].program.clone().unwrap_or_default();
        write_program(&program, &leash, &hook, options)?;
        records[at].leash_options = options.to_vec();
        save(&records)?;
        return Ok(format!(
            "{} already runs its commands under {} ({})\n",
            AGENT.name(),
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
    let program = program_for(file)?;
    write_program(&program, &leash, &hook, options)?;
    let installed = settings::wired(current, &program, &hook);
    write_settings(file, &installed)?;
    if let Some(at) = earlier {
        records.remove(at);
    }
    records.push(Wired {
        agent: AGENT.name().into(),
        settings: file.to_path_buf(),
        program: Some(program),
        leash_options: options.to_vec(),
        original,
        installed,
        also: Vec::new(),
    });
    save(&records)?;
    Ok(super::installed_line(AGENT, options, file))
}

/// Undo the install in `file`.
pub(crate) fn remove(file: &Path) -> Result<String, CtlError> {
    let mut records = load()?;
    let Some(at) = position(&records, AGENT, file) else {
        return Err(super::not_wired(AGENT, file));
    };
    let wired = records.remove(at);
    let current = read(file)?;
    let said = if current.as_deref() == Some(wired.installed.as_str()) {
        restore(file, wired.original.as_deref())?;
        "as it was"
    } else {
        let text = current.unwrap_or_default();
        let settings = settings::parse(file, &text)?;
        if is_named_in(&wired, &settings) {
            write_settings(
                file,
                &settings::unwired(settings, &hook_command(AGENT, &[])?),
            )?;
            "without leash's prefix (changed since the install, so rewritten)"
        } else {
            "unchanged (it no longer named leash's prefix)"
        }
    };
    if let Some(program) = &wired.program {
        let _ = fs::remove_file(program);
        if let Some(dir) = program.parent() {
            let _ = fs::remove_dir(dir);
        }
    }
    save(&records)?;
    Ok(format!(
        "removed: {} runs its commands as before; {} {said}\n",
        AGENT.name(),
        file.display()
    ))
}

/// Whether the settings file of `wired` still names its prefix program.
pub(super) fn is_live(wired: &Wired) -> bool {
    read(&wired.settings)
        .ok()
        .flatten()
        .and_then(|t| settings::parse(&wired.settings, &t).ok())
        .is_some_and(|s| is_named_in(wired, &s))
}

/// Whether `settings` name the prefix program of `wired`.
fn is_named_in(wired: &Wired, settings: &serde_json::Map<String, serde_json::Value>) -> bool {
    let program = wired.program.as_ref().map(|p| p.display().to_string());
    program.is_some() && settings::prefix(settings) == program.as_deref()
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

/// Where the prefix program for `file` goes: a directory of its own in the
/// user's data directory, named after the settings file.
fn program_for(file: &Path) -> Result<PathBuf, CtlError> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    file.hash(&mut hasher);
    let dir = format!("{}-{:016x}", AGENT.name(), hasher.finish());
    Ok(data_dir()?.join(dir).join("shell-prefix"))
}
