//! Claude Code's wiring: leash as Claude Code's shell (a copy of leash named
//! `leash-bash`, and beside it the real shell and leash's options) and the settings change
//! that names it, with its hooks.

use std::fs;
use std::path::{Path, PathBuf};

use super::command_line::{check_options, leash_line, leashctl};
use super::record::{Wired, data_dir, load, position, read, restore, save, write_settings};
use super::{Agent, settings};
use crate::front::ctl::{CtlError, replace_file};
use crate::front::personality::agent_shell::{self, NAMES, SETTINGS_FILE, ShellSettings};

const AGENT: Agent = Agent::ClaudeCode;

/// Wire Claude Code in the settings file `file`, its commands under leash with `options`.
pub(crate) fn install(file: &Path, options: &[String]) -> Result<String, CtlError> {
    let leash = crate::front::ctl::leash_beside("agent install")?;
    let hook = settings::hook(&leashctl()?);
    check_options(options)?;
    let shell = real_shell()?;
    let program = program_for(file, &shell)?;
    let mut records = load()?;
    if let Some(at) = position(&records, AGENT, file)
        && records[at].program.as_deref() != Some(program.as_path())
    {
        // An install of another shape (an earlier leashctl's, another shell's): undone
        // first, so that this one starts from the file as it was.
        remove(file)?;
        records = load()?;
    }
    let original = read(file)?;
    let current = settings::parse(file, original.as_deref().unwrap_or_default())?;
    let earlier = position(&records, AGENT, file);
    if let Some(at) = earlier.filter(|&at| is_named_in(&records[at], &current)) {
        write_program(&program, &leash, &shell, options)?;
        records[at].leash_options = options.to_vec();
        save(&records)?;
        return Ok(format!(
            "{} already runs its commands under {} ({})\n",
            AGENT.name(),
            leash_line(options),
            file.display()
        ));
    }
    if let Some(other) = settings::shell(&current) {
        return Err(CtlError::Usage(format!(
            "agent install: {} already runs Bash commands in {other} ({}); remove that first",
            file.display(),
            settings::SHELL
        )));
    }
    write_program(&program, &leash, &shell, options)?;
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
                &settings::unwired(settings, &settings::hook(&leashctl()?)),
            )?;
            "without leash's shell (changed since the install, so rewritten)"
        } else {
            "unchanged (it no longer named leash's shell)"
        }
    };
    if let Some(program) = &wired.program {
        let _ = fs::remove_file(program);
        if let Some(dir) = program.parent() {
            let _ = fs::remove_file(dir.join(SETTINGS_FILE));
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

/// Whether the settings file of `wired` still names its shell.
pub(super) fn is_live(wired: &Wired) -> bool {
    read(&wired.settings)
        .ok()
        .flatten()
        .and_then(|t| settings::parse(&wired.settings, &t).ok())
        .is_some_and(|s| is_named_in(wired, &s))
}

/// Whether `settings` name the shell of `wired`.
fn is_named_in(wired: &Wired, settings: &serde_json::Map<String, serde_json::Value>) -> bool {
    let program = wired.program.as_ref().map(|p| p.display().to_string());
    program.is_some() && settings::shell(settings) == program.as_deref()
}

/// Write the shell Claude Code runs its commands in: a copy of `leash` (a hard link where
/// the file system allows), and beside it the real `shell` and leash's `options`. A Bash
/// command's script (it sources the shell snapshot, runs the model's command, records the
/// working directory with `pwd -P >|`) runs under leash, its report left where the
/// failure hook finds it; anything else Claude Code runs in its shell (reading its
/// environment, making its snapshot) runs in the real shell. leash is Claude Code's own
/// child, so it dies with Claude Code (--die-with-parent): even a SIGKILLed Claude Code
/// leaves no command running, a background one included. A copy, not a link: should the
/// leash it was made from go, Claude Code would take a dangling link for no shell and run
/// its commands without leash, saying nothing.
fn write_program(
    program: &Path,
    leash: &Path,
    shell: &Path,
    options: &[String],
) -> Result<(), CtlError> {
    let dir = program.parent().unwrap_or(Path::new("/"));
    let failed = |e: std::io::Error| {
        CtlError::Incomplete(format!("agent install: {}: {e}", program.display()))
    };
    fs::create_dir_all(dir).map_err(failed)?;
    if let Some(open) = crate::machine::owned_path::open_to_others(dir) {
        return Err(CtlError::Usage(format!(
            "agent install: {} may be changed by {}: the shell each command runs in must \
             live where only you (and root) can change it",
            open.dir.display(),
            open.whom
        )));
    }
    let settings = ShellSettings {
        shell: shell.to_path_buf(),
        options: options.to_vec(),
    };
    let text = serde_json::to_string_pretty(&settings).unwrap_or_default() + "\n";
    replace_file(&dir.join(SETTINGS_FILE), &text, 0o644).map_err(failed)?;
    // Made beside it and renamed over it: Claude Code may be running the one it replaces.
    let new = dir.join(".leash-shell.new");
    let _ = fs::remove_file(&new);
    let made = fs::hard_link(leash, &new)
        .or_else(|_| fs::copy(leash, &new).map(drop))
        .and_then(|()| fs::rename(&new, program));
    // A rename onto another link to the same file does nothing, leaving this one.
    let _ = fs::remove_file(&new);
    made.map_err(failed)
}

/// The shell Claude Code would run its commands in without leash: `$SHELL` if it is a
/// bash or a zsh (as Claude Code chooses), else the system's bash or zsh.
fn real_shell() -> Result<PathBuf, CtlError> {
    let usable = |path: &Path| {
        let text = path.to_string_lossy();
        let ours = agent_shell::is_invoked_as(path.as_os_str());
        path.is_absolute()
            && (text.contains("bash") || text.contains("zsh"))
            && !ours
            && path.is_file()
    };
    let from_env = std::env::var_os("SHELL").map(PathBuf::from);
    let system = [
        "/bin/bash",
        "/usr/bin/bash",
        "/usr/local/bin/bash",
        "/bin/zsh",
        "/usr/bin/zsh",
    ];
    from_env
        .into_iter()
        .chain(system.map(PathBuf::from))
        .find(|path| usable(path))
        .ok_or_else(|| {
            CtlError::Usage(
                "agent install: no bash or zsh (SHELL, /bin/bash): Claude Code runs its \
                 commands in one"
                    .into(),
            )
        })
}

/// Where the shell for `file` goes: a directory of its own in the user's data directory,
/// named after the settings file; `leash-zsh` for a zsh, else `leash-bash`.
fn program_for(file: &Path, shell: &Path) -> Result<PathBuf, CtlError> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    file.hash(&mut hasher);
    let dir = format!("{}-{:016x}", AGENT.name(), hasher.finish());
    let zsh = shell
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("zsh"));
    let name = if zsh { NAMES[1] } else { NAMES[0] };
    Ok(data_dir()?.join(dir).join(name))
}
