//! Personalities: leash invoked under another tool's name (a link called `timeout` or
//! `prlimit`) reads that tool's command line and behaves as its manual says; a copy
//! called `leash-bash` is a coding agent's shell.

pub(crate) mod agent_shell;
mod getopt;
mod prlimit;
mod timeout;

pub(crate) use prlimit::texts as prlimit_texts;
pub(crate) use timeout::texts as timeout_texts;

use std::ffi::OsString;
use std::path::Path;

use crate::machine::exit::Exit;

/// Who leash is, by the name it was invoked under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Personality {
    /// GNU coreutils `timeout`.
    Timeout,
    /// util-linux `prlimit`.
    Prlimit,
}

impl Personality {
    /// The personality of a program invoked as `argv0` (its file name), if it has one.
    pub(crate) fn of(argv0: &OsString) -> Option<Personality> {
        match Path::new(argv0).file_name()?.to_str()? {
            "timeout" => Some(Personality::Timeout),
            "prlimit" => Some(Personality::Prlimit),
            _ => None,
        }
    }

    /// Run as this personality: `args` without the program name.
    pub(crate) fn run(self, args: &[OsString]) -> Exit {
        match self {
            Personality::Timeout => timeout::run(args),
            Personality::Prlimit => prlimit::run(args),
        }
    }
}
