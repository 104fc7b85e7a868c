//! `leashctl`: see and act on running sessions (list, show, freeze, thaw, stop), found in
//! the registry the supervisors keep; sum up audit logs; install Jupyter kernels that run
//! under leash. Its command line, its errors and their exit codes.

mod act;
mod agent;
pub(crate) mod audit;
mod kernel;
mod list;
mod redraw;
mod sample;
mod texts;
mod tree;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};

use crate::machine::exit::Exit;
use crate::machine::signals::number::SignalNumber;
use crate::machine::stdout::{self, WriteError};
use crate::machine::units::parse_duration;
use crate::session::registry::{self, Found};
pub(crate) use texts::{MAN_EXTRA, complete_ids};

/// Exit status: no session has that id (among those the caller may see).
pub(crate) const NO_SUCH_SESSION: u8 = 1;
/// Exit status: a bad command line (clap's own).
pub(crate) const USAGE: u8 = 2;
/// Exit status: the request could not be carried out in full.
pub(crate) const INCOMPLETE: u8 = 3;
/// Exit status: the session is another user's.
pub(crate) const NOT_PERMITTED: u8 = 4;

/// Why `leashctl` could not do what it was asked.
#[derive(Debug)]
pub(crate) enum CtlError {
    /// No session has the id.
    NoSuchSession(String),
    /// The session is another user's.
    NotPermitted(String),
    /// Part of the request could not be carried out: what and why.
    Incomplete(String),
    /// Options that cannot go together (beyond what clap checks).
    Usage(String),
}

impl CtlError {
    fn exit_code(&self) -> u8 {
        match self {
            CtlError::NoSuchSession(_) => NO_SUCH_SESSION,
            CtlError::NotPermitted(_) => NOT_PERMITTED,
            CtlError::Incomplete(_) => INCOMPLETE,
            CtlError::Usage(_) => USAGE,
        }
    }
}

impl std::fmt::Display for CtlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CtlError::NoSuchSession(id) => write!(f, "no session {id} (see leashctl list)"),
            CtlError::NotPermitted(why) | CtlError::Incomplete(why) | CtlError::Usage(why) => {
                f.write_str(why)
            }
        }
    }
}

/// See and act on running leash sessions.
///
/// Sessions are found in the registry each leash keeps while it runs, in the runtime
/// directory ($XDG_RUNTIME_DIR/leash, /run/leash for root, else /tmp/leash-UID). A user
/// sees and acts on their own sessions; root on everyone's. `leashctl audit` sums up
/// what sessions used; `leashctl kernel` installs Jupyter kernels that run under leash.
#[derive(Debug, Parser)]
#[command(name = "leashctl", version = crate::machine::VERSION, after_help = EXIT_STATUS)]
pub(crate) struct Leashctl {
    #[command(subcommand)]
    command: Command,
}

const EXIT_STATUS: &str = "Exit status: 0 done; 1 no such session; 2 bad command line; \
3 the request could not be carried out in full (the line says what); 4 the session is \
another user's.";

#[derive(Debug, Subcommand)]
enum Command {
    /// One row per running session: its state and usage against its limits.
    #[command(visible_alias = "ps")]
    List {
        /// Print JSON (an array; docs/leashctl.md has the schema).
        #[arg(long, conflicts_with_all = ["watch", "ids"])]
        json: bool,
        /// Redraw every second in place, like top; q or Ctrl-C quits.
        #[arg(long, conflicts_with = "ids")]
        watch: bool,
        /// Print only the ids, one per line (for shell completion).
        #[arg(long)]
        ids: bool,
    },
    /// Everything known about one session, and its process tree.
    Show {
        /// The session's id (see list).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause every process of the session (its cgroup's freezer, else SIGSTOP); the wall
    /// clock runs on.
    Freeze {
        /// The session's id.
        id: String,
    },
    /// Let a frozen session run again.
    Thaw {
        /// The session's id.
        id: String,
    },
    /// End the session through its supervisor's stop sequence (as SIGTERM to leash
    /// would), or directly through its cgroup or namespace if the supervisor is gone or
    /// stopped; waits until it has ended.
    Stop {
        /// The session's id.
        id: String,
        /// The first signal of the stop sequence.
        #[arg(short, long, value_name = "SIG", default_value = "TERM", value_parser = SignalNumber::parse)]
        signal: SignalNumber,
        /// The grace before SIGKILL (default: the session's --kill-after).
        #[arg(short = 'k', long, value_name = "DURATION", value_parser = parse_duration)]
        kill_after: Option<Duration>,
    },
    /// Sum up audit logs (--audit-log): sessions and outcomes per --name and overall, and
    /// the median, p95, p99 and max of wall time, CPU, peak memory, peak tasks, bytes
    /// written and output.
    Audit {
        /// Audit logs, plain or gzip; - for stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Only sessions started at or after TIME: 2026-12-01T08:00:00Z, a date, or a
        /// duration ago (2h).
        #[arg(long, value_name = "TIME", value_parser = audit::parse_time)]
        since: Option<SystemTime>,
        /// Only sessions started before TIME.
        #[arg(long, value_name = "TIME", value_parser = audit::parse_time)]
        until: Option<SystemTime>,
        /// Only sessions of this --name (repeatable).
        #[arg(long, value_name = "NAME")]
        name: Vec<String>,
        /// Only sessions of this outcome (repeatable).
        #[arg(long, value_name = "OUTCOME", value_parser = ["exited", "signaled", "limit", "leash_signaled", "error"])]
        outcome: Vec<String>,
        /// Print JSON (docs/leashctl.md has its fields).
        #[arg(long)]
        json: bool,
        /// List the sessions whose figures lie far above their name's history (beyond
        /// Tukey's far-out fence on a log scale, with at least 30 sessions of history)
        /// instead of the summary.
        #[arg(long)]
        anomalies: bool,
        /// Print, for each name, the limits that would have let 99.9% of its exited
        /// sessions through with 50% headroom (anomalies left out), and how many sessions
        /// each limit stopped before: config-file profiles to paste.
        #[arg(long, conflicts_with_all = ["anomalies", "json"])]
        suggest: bool,
    },
    /// Jupyter kernels that run under leash, each cell within a budget: a cell that
    /// breaches a limit gets leash's reason, and the next one runs (`leashctl kernel
    /// install --help`).
    Kernel {
        #[command(subcommand)]
        action: kernel::KernelAction,
    },
    /// Coding agents whose every shell command runs as a leash session of its own: the
    /// model is told which limit stopped a command, and the conversation goes on
    /// (`leashctl agent install --help`).
    Agent {
        #[command(subcommand)]
        action: agent::AgentAction,
    },
}

/// The clap definition, for the man page and completions.
pub(crate) fn command() -> clap::Command {
    <Leashctl as clap::CommandFactory>::command()
}

/// Run `leashctl` with `args`; returns how it exits.
pub(crate) fn run(args: impl IntoIterator<Item = OsString>) -> Exit {
    let args: Vec<OsString> = args.into_iter().collect();
    // Claude Code runs this hook before every Bash call: it skips building the whole
    // command line, which costs more than the hook's own work.
    if args.get(1..) == Some(&agent::CLAUDE_CODE_HOOK.map(OsString::from)[..]) {
        return finished(agent::hook::run());
    }
    let cli = match Leashctl::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let printed = e.print();
            return Exit::Code(match (e.use_stderr(), printed) {
                (true, _) => USAGE,
                (false, Ok(())) => 0,
                // --help or --version that stdout did not take (clap said nothing).
                (false, Err(error)) => {
                    eprintln!("leashctl: {}", WriteError(error));
                    INCOMPLETE
                }
            });
        }
    };
    finished(dispatch(cli.command))
}

/// How leashctl exits after `done`, an error said.
fn finished(done: Result<(), CtlError>) -> Exit {
    match done {
        Ok(()) => Exit::Code(0),
        Err(e) => {
            eprintln!("leashctl: {e}");
            Exit::Code(e.exit_code())
        }
    }
}

fn dispatch(command: Command) -> Result<(), CtlError> {
    match command {
        Command::List { json, watch, ids } => out(&list::list(json, watch, ids)),
        Command::Show { id, json } => out(&list::show(&find(&id)?, json)),
        Command::Freeze { id } => say(act::freeze(&permitted(&id)?)),
        Command::Thaw { id } => say(act::thaw(&permitted(&id)?)),
        Command::Stop {
            id,
            signal,
            kill_after,
        } => say(act::stop(&permitted(&id)?, signal, kill_after)),
        Command::Audit {
            files,
            since,
            until,
            name,
            outcome,
            json,
            anomalies,
            suggest,
        } => audit::audit(&audit::Query {
            files,
            since,
            until,
            names: name,
            outcomes: outcome,
            json,
            anomalies,
            suggest,
        }),
        Command::Kernel { action } => kernel::run(action),
        Command::Agent { action } => agent::run(action),
    }
}

/// The leash program beside leashctl, else the one on PATH (`action` names the request
/// for the error).
pub(crate) fn leash_beside(action: &str) -> Result<PathBuf, CtlError> {
    let beside = std::env::current_exe()
        .ok()
        .map(|me| me.with_file_name("leash"))
        .filter(|leash| leash.is_file());
    if let Some(leash) = beside {
        return Ok(leash);
    }
    let missing =
        |e: &dyn std::fmt::Display| CtlError::Incomplete(format!("{action}: no leash: {e}"));
    let found = crate::machine::command_path::resolve("leash".as_ref()).map_err(|e| missing(&e))?;
    std::path::absolute(found).map_err(|e| missing(&e))
}

/// The directory environment variable `name` names, if set and not empty.
pub(crate) fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The user's data directory: $XDG_DATA_HOME, else ~/.local/share.
pub(crate) fn user_data_home() -> Option<PathBuf> {
    env_dir("XDG_DATA_HOME").or_else(|| env_dir("HOME").map(|home| home.join(".local/share")))
}

/// Write `text` to `path` through a new file of a random name beside it, renamed over it
/// with `mode`: a link planted at `path` is replaced, never written through.
pub(crate) fn replace_file(path: &std::path::Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn say(done: Result<String, CtlError>) -> Result<(), CtlError> {
    out(&(done? + "\n"))
}

/// Write `text` to stdout; one that stdout does not take leaves the request incomplete.
pub(crate) fn out(text: &str) -> Result<(), CtlError> {
    stdout::write(text).map_err(|e| CtlError::Incomplete(e.to_string()))
}

/// The session `id` among those the caller may see.
fn find(id: &str) -> Result<Found, CtlError> {
    registry::find(&registry::dirs_to_scan(), id).ok_or_else(|| CtlError::NoSuchSession(id.into()))
}

/// The session `id`, if the caller may act on it: its own, or root's on any; and only
/// while its supervisor ran (a stale entry is cleaned, not acted on).
fn permitted(id: &str) -> Result<Found, CtlError> {
    let found = find(id)?;
    let me = nix::unistd::geteuid();
    if !me.is_root() && me.as_raw() != found.entry.uid {
        return Err(CtlError::NotPermitted(format!(
            "session {id} belongs to user {}; only they and root may act on it",
            found.entry.uid
        )));
    }
    Ok(found)
}

#[cfg(test)]
mod fuzz_tests;
