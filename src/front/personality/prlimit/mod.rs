//! The `prlimit` personality: leash invoked as `prlimit` reads util-linux `prlimit`'s
//! command line. With a command it sets the limits and execs the command in its place;
//! without one it shows (and with values, changes) its own or `--pid`'s limits.

mod resources;
mod table;
pub(crate) mod texts;

use std::ffi::OsString;

use crate::machine::rlimit::{RLIMITS, Rlimit};
use nix::errno::Errno;
use resources::AskedLimit;
use table::{Column, Layout, TableRow};

use super::getopt::{self, Opt, Takes};
use crate::machine::exit::{CANNOT_EXECUTE, Exit, NOT_FOUND};
use crate::machine::stdout::{self, WriteError};
use crate::session::message::say;

/// util-linux's status for every failure but the exec's.
const FAILED: u8 = 1;

/// `prlimit`'s options besides the resources'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PrlimitKey {
    Resource(usize),
    Pid,
    Output,
    NoHeadings,
    Raw,
    Verbose,
    Help,
    Version,
}

fn options() -> Vec<Opt<PrlimitKey>> {
    let resources = RLIMITS.iter().enumerate().map(|(at, resource)| Opt {
        short: Some(resource.letter()),
        long: resource.name(),
        takes: Takes::Optional,
        key: PrlimitKey::Resource(at),
    });
    let spec = |short, long, takes, key| Opt {
        short,
        long,
        takes,
        key,
    };
    resources
        .chain([
            spec(Some('p'), "pid", Takes::Value, PrlimitKey::Pid),
            spec(Some('o'), "output", Takes::Value, PrlimitKey::Output),
            spec(None, "noheadings", Takes::Nothing, PrlimitKey::NoHeadings),
            spec(None, "raw", Takes::Nothing, PrlimitKey::Raw),
            spec(None, "verbose", Takes::Nothing, PrlimitKey::Verbose),
            spec(Some('h'), "help", Takes::Nothing, PrlimitKey::Help),
            spec(Some('V'), "version", Takes::Nothing, PrlimitKey::Version),
        ])
        .collect()
}

/// What the command line asks for.
struct PrlimitRequest {
    /// Each resource named, with the limit to set (`None`: only show it).
    resources: Vec<(Rlimit, Option<AskedLimit>)>,
    pid: Option<libc::pid_t>,
    layout: Layout,
    verbose: bool,
    command: Vec<OsString>,
}

/// A refusal: the line to say, and whether "Try 'prlimit --help'" follows.
struct PrlimitRefusal(String, bool);

/// Run as `prlimit`: `args` without the program name.
pub(crate) fn run(args: &[OsString]) -> Exit {
    crate::session::message::speak_as("prlimit");
    let request = match read(args) {
        Ok(Some(request)) => request,
        Ok(None) => return Exit::Code(0),
        Err(PrlimitRefusal(line, try_help)) => {
            say(&line);
            if try_help {
                eprintln!("Try 'prlimit --help' for more information.");
            }
            return Exit::Code(FAILED);
        }
    };
    match apply(&request) {
        Ok(shown) if request.command.is_empty() => {
            let written = if shown.is_empty() {
                Ok(())
            } else {
                stdout::write(&table::render(&request.layout, &shown))
            };
            if let Err(e) = written {
                say(&e.to_string());
                return Exit::Code(FAILED);
            }
            Exit::Code(0)
        }
        Ok(_) => exec(&request.command),
        Err(failure) => {
            say(&failure.to_string());
            Exit::Code(FAILED)
        }
    }
}

/// A limit that could not be read or set.
enum PrlimitFailure {
    Get(Rlimit, Errno),
    SoftAboveHard(Rlimit),
    Set(Rlimit, Errno),
    /// `--verbose`'s line could not be written.
    Write(WriteError),
}

impl std::fmt::Display for PrlimitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrlimitFailure::Get(resource, errno) => write!(
                f,
                "failed to get the {} resource limit: {}",
                resource.table_name(),
                errno.desc()
            ),
            PrlimitFailure::SoftAboveHard(resource) => write!(
                f,
                "the soft limit {} cannot exceed the hard limit",
                resource.table_name()
            ),
            PrlimitFailure::Set(resource, errno) => write!(
                f,
                "failed to set the {} resource limit: {}",
                resource.table_name(),
                errno.desc()
            ),
            PrlimitFailure::Write(e) => e.fmt(f),
        }
    }
}

/// `--help` or `--version` answered with `text`: no request, or the write error.
fn answered(text: &str) -> Result<Option<PrlimitRequest>, PrlimitRefusal> {
    stdout::write(text)
        .map(|()| None)
        .map_err(|e| PrlimitRefusal(e.to_string(), false))
}

/// The request, or `None` once `--help` or `--version` was answered.
fn read(args: &[OsString]) -> Result<Option<PrlimitRequest>, PrlimitRefusal> {
    let parsed =
        getopt::parse(args, &options()).map_err(|e| PrlimitRefusal(e.to_string(), true))?;
    let mut request = PrlimitRequest {
        resources: Vec::new(),
        pid: None,
        layout: Layout {
            columns: Column::DEFAULT.to_vec(),
            headings: true,
            raw: false,
        },
        verbose: false,
        command: parsed.operands,
    };
    for (key, value) in parsed.options {
        match key {
            PrlimitKey::Resource(at) => {
                let resource = RLIMITS[at];
                let limit = value.map(|text| limit(resource, &text)).transpose()?;
                request.resources.push((resource, limit));
            }
            PrlimitKey::Pid if request.pid.is_some() => {
                return Err(PrlimitRefusal(
                    "option --pid may be specified only once".into(),
                    false,
                ));
            }
            PrlimitKey::Pid => request.pid = Some(pid(&value.unwrap_or_default())?),
            PrlimitKey::Output => request.layout.columns = columns(&value.unwrap_or_default())?,
            PrlimitKey::NoHeadings => request.layout.headings = false,
            PrlimitKey::Raw => request.layout.raw = true,
            PrlimitKey::Verbose => request.verbose = true,
            PrlimitKey::Help => return answered(HELP),
            PrlimitKey::Version => {
                return answered(&format!("prlimit (leash) {}\n", env!("CARGO_PKG_VERSION")));
            }
        }
    }
    if request.pid.is_some() && !request.command.is_empty() {
        return Err(PrlimitRefusal(
            "options --pid and COMMAND are mutually exclusive".into(),
            false,
        ));
    }
    if request.resources.is_empty() && request.command.is_empty() {
        request.resources = RLIMITS.iter().map(|resource| (*resource, None)).collect();
    }
    Ok(Some(request))
}

/// A limit given to a resource's option; `-n=256` as util-linux reads it: the `=` is not
/// part of the limit.
fn limit(resource: Rlimit, text: &str) -> Result<resources::AskedLimit, PrlimitRefusal> {
    let text = text.strip_prefix('=').unwrap_or(text);
    resources::parse_limit(text).ok_or_else(|| {
        PrlimitRefusal(
            format!("failed to parse {} limit", resource.table_name()),
            false,
        )
    })
}

/// A PID for `--pid`: 0 is prlimit itself, as prlimit(2) reads it.
fn pid(text: &str) -> Result<libc::pid_t, PrlimitRefusal> {
    text.parse::<libc::pid_t>()
        .ok()
        .filter(|pid| *pid >= 0)
        .ok_or_else(|| PrlimitRefusal(format!("invalid PID argument: '{text}'"), false))
}

fn columns(list: &str) -> Result<Vec<Column>, PrlimitRefusal> {
    list.split(',')
        .map(|name| {
            Column::named(name)
                .ok_or_else(|| PrlimitRefusal(format!("unknown column: {name}"), false))
        })
        .collect()
}

/// Set every limit asked for (in the order given), and read the ones only shown.
fn apply(request: &PrlimitRequest) -> Result<Vec<TableRow>, PrlimitFailure> {
    let pid = request.pid.unwrap_or(0);
    let mut shown = Vec::new();
    for &(resource, asked) in &request.resources {
        let current = get(pid, resource).map_err(|e| PrlimitFailure::Get(resource, e))?;
        let Some(asked) = asked else {
            shown.push(TableRow {
                resource,
                limits: current,
            });
            continue;
        };
        let new = (
            asked.soft.unwrap_or(current.0),
            asked.hard.unwrap_or(current.1),
        );
        if new.0 > new.1 {
            return Err(PrlimitFailure::SoftAboveHard(resource));
        }
        // As util-linux: said when a process, not a command, gets the limit (prlimit
        // itself without --pid, named by its own PID).
        if request.verbose && request.command.is_empty() {
            let named = request
                .pid
                .unwrap_or_else(|| std::process::id().cast_signed());
            stdout::write(&format!(
                "New {} limit for pid {named}: <{}:{}>\n",
                resource.table_name(),
                shown_value(new.0),
                shown_value(new.1)
            ))
            .map_err(PrlimitFailure::Write)?;
        }
        set(pid, resource, new).map_err(|e| PrlimitFailure::Set(resource, e))?;
    }
    Ok(shown)
}

fn shown_value(value: u64) -> String {
    if value == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        value.to_string()
    }
}

/// prlimit(2) of `pid` (0: leash itself) for `resource`: its soft and hard limits.
///
/// By hand, as `set` too: nix has no prlimit for another process, and rustix's
/// `process::prlimit` always sets a new limit (it has no read-only form), so reading
/// another process's limits through it would mean writing them back, racing with that
/// process changing its own; a crate for one half of the pair is not worth it.
fn get(pid: libc::pid_t, resource: Rlimit) -> Result<(u64, u64), Errno> {
    let mut old = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit(2) with no new limit writes the current one into `old`, alive
    // across the call.
    Errno::result(unsafe {
        libc::prlimit64(pid, resource.number(), std::ptr::null(), &raw mut old)
    })?;
    Ok((old.rlim_cur, old.rlim_max))
}

fn set(pid: libc::pid_t, resource: Rlimit, (soft, hard): (u64, u64)) -> Result<(), Errno> {
    let new = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: prlimit(2) reads `new`, alive across the call, and writes nothing.
    Errno::result(unsafe {
        libc::prlimit64(pid, resource.number(), &raw const new, std::ptr::null_mut())
    })
    .map(drop)
}

/// Exec `command` in leash's place, as `prlimit` does, with SIGPIPE as the caller had it
/// (the Rust runtime ignores it in leash).
fn exec(command: &[OsString]) -> Exit {
    use std::os::unix::ffi::OsStrExt;
    let handler = if crate::machine::signals::caller::ignored_at_start(libc::SIGPIPE) {
        nix::sys::signal::SigHandler::SigIgn
    } else {
        nix::sys::signal::SigHandler::SigDfl
    };
    // SAFETY: the default or ignore disposition installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, handler) };
    let args: Result<Vec<std::ffi::CString>, _> = command
        .iter()
        .map(|arg| std::ffi::CString::new(arg.as_bytes()))
        .collect();
    let name = command[0].to_string_lossy();
    let errno = match args {
        Ok(args) => nix::unistd::execvp(&args[0], &args)
            .err()
            .unwrap_or(Errno::UnknownErrno),
        Err(_) => Errno::EINVAL,
    };
    say(&format!("failed to execute {name}: {}", errno.desc()));
    Exit::Code(if errno == Errno::ENOENT {
        NOT_FOUND
    } else {
        CANNOT_EXECUTE
    })
}

const HELP: &str = "
Usage:
 prlimit [options] [--<resource>=<limit>] [-p PID]
 prlimit [options] [--<resource>=<limit>] COMMAND

Show or change the resource limits of a process.

Options:
 -p, --pid <pid>        process id
 -o, --output <list>    define which output columns to use
     --noheadings       don't print headings
     --raw              use the raw output format
     --verbose          verbose output
 -h, --help             display this help
 -V, --version          display version

Resources:
 -c, --core             maximum size of core files created
 -d, --data             maximum size of a process's data segment
 -e, --nice             maximum nice priority allowed to raise
 -f, --fsize            maximum size of files written by the process
 -i, --sigpending       maximum number of pending signals
 -l, --memlock          maximum size a process may lock into memory
 -m, --rss              maximum resident set size
 -n, --nofile           maximum number of open files
 -q, --msgqueue         maximum bytes in POSIX message queues
 -r, --rtprio           maximum real-time scheduling priority
 -s, --stack            maximum stack size
 -t, --cpu              maximum amount of CPU time in seconds
 -u, --nproc            maximum number of user processes
 -v, --as               size of virtual memory
 -x, --locks            maximum number of file locks
 -y, --rttime           CPU time in microseconds a process scheduled
                        under real-time scheduling

Arguments:
 <limit> is defined as a range soft:hard, soft:, :hard or a value to
         define both limits (e.g. -e=0:10 -r=:10). A value is 'unlimited' or
         a number, which may end in K, M, G, T, P or E (KiB... powers of 1024,
         KB... of 1000): util-linux 2.38 drops such a suffix, leash keeps it.

Available output columns:
 DESCRIPTION  resource description
    RESOURCE  resource name
        SOFT  soft limit
        HARD  hard limit (ceiling)
       UNITS  units

This prlimit is leash (run as 'prlimit'). Run 'leash --help' for the rest.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_command_line_is_the_one_read() {
        getopt::assert_documented(&options(), &texts::documented());
    }
}
