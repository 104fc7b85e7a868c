//! Everything that can go wrong in leash: one variant per kind of failure, each with its
//! cases (`cases`) and the values that tell them apart; the exit status each one ends
//! leash with, and the kind a report names for programs.

mod cases;
mod input;

use std::ffi::OsString;
use std::fmt;

use nix::errno::Errno;

pub(crate) use cases::{CgroupError, IsolationError, NoSlot, SetupError, kind};
pub(crate) use input::{ConfigError, UsageError};

/// Why leash could not do what it was asked.
#[derive(Debug)]
pub(crate) enum Error {
    /// clap refused the command line (an unknown flag, a bad value), or was asked for
    /// `--help` or `--version`.
    Clap(clap::Error),
    /// Flags that do not fit together or do not fit this machine (a hard limit that
    /// cannot be raised, a user that does not exist).
    Usage(UsageError),
    /// A config file, profile or `LEASH_` variable is wrong; the message says where.
    Config(ConfigError),
    /// The session's cgroup cannot be had or made as the flags require.
    Cgroup(CgroupError),
    /// An isolation the flags ask for cannot be had here.
    Isolation(IsolationError),
    /// leash could not set the session up (relay, signals, subreaper, fork, the child's
    /// own set-up before exec).
    Setup(SetupError),
    /// The command was not found.
    NotFound(OsString),
    /// The command was found but cannot be executed.
    CannotExecute(OsString, Errno),
    /// No `--slots` slot or `--rate` start could be had.
    NoSlot(NoSlot),
    /// A signal that ends leash came while it waited for a slot or a start.
    Interrupted(nix::sys::signal::Signal),
    /// The main process ended without leash learning its status.
    LostMainProcess,
    /// What leash prints (a generated file, `--explain`, `--print-config`) could not be
    /// written to stdout.
    Write(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Clap(e) => f.write_str(&clap_line(e)),
            Error::Usage(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Cgroup(e) => e.fmt(f),
            Error::Isolation(e) => e.fmt(f),
            Error::Setup(e) => e.fmt(f),
            Error::NoSlot(e) => e.fmt(f),
            Error::NotFound(program) => write!(
                f,
                "cannot run '{}': command not found",
                program.to_string_lossy()
            ),
            Error::CannotExecute(program, errno) => write!(
                f,
                "cannot run '{}': {}",
                program.to_string_lossy(),
                errno.desc()
            ),
            Error::LostMainProcess => f.write_str("lost track of the main process"),
            Error::Interrupted(signal) => write!(
                f,
                "{} while waiting for a slot or a start: nothing was started",
                signal.as_str()
            ),
            Error::Write(e) => f.write_str(&crate::machine::stdout::said(e)),
        }
    }
}

impl std::error::Error for Error {}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Error {
        Error::Usage(e)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

impl From<CgroupError> for Error {
    fn from(e: CgroupError) -> Error {
        Error::Cgroup(e)
    }
}

impl From<IsolationError> for Error {
    fn from(e: IsolationError) -> Error {
        Error::Isolation(e)
    }
}

impl From<SetupError> for Error {
    fn from(e: SetupError) -> Error {
        Error::Setup(e)
    }
}

/// clap's mistake as one line: its first paragraph, with its tip (the flag the user
/// probably meant) appended.
fn clap_line(error: &clap::Error) -> String {
    let text = error.to_string();
    // The first paragraph is the error (a list of missing arguments continues it on
    // indented lines); usage and hints follow after blank lines.
    let first: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let first = first.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    let tip = text.lines().find_map(|l| l.trim().strip_prefix("tip: "));
    let line = match tip {
        Some(tip) => format!("{first} ({tip})"),
        None => first.to_string(),
    };
    // It quotes the value given, which may hold what a terminal acts on.
    crate::machine::printable::printable(&line).into_owned()
}

/// A value that cannot be read (a size, a duration, a signal, an rlimit): what is wrong
/// with it. clap puts it after the flag's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}
