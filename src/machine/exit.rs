//! How leash ends: every exit status it uses (as `timeout` defines them), or dying of the
//! command's signal.

use std::process::ExitCode;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};

/// leash stopped the command because it reached a limit.
pub(crate) const LIMIT_REACHED: u8 = 124;
/// leash itself failed (bad input, or it could not set the session up).
pub(crate) const LEASH_FAILED: u8 = 125;
/// The command was found but could not be executed.
pub(crate) const CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub(crate) const NOT_FOUND: u8 = 127;
/// No `--slots` slot (or no start under `--rate`) could be had: `EX_TEMPFAIL`.
pub(crate) const NO_SLOT: u8 = 75;

/// The status leash ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Exit with this code.
    Code(u8),
    /// Die of this signal (core dumps off), as the command did or as leash was asked to.
    Signal(Signal),
}

impl Exit {
    /// Pass the main process's status through: its exit code, or its death by a signal.
    pub(crate) fn of(status: WaitStatus) -> Self {
        match status {
            WaitStatus::Exited(_, code) => Exit::Code(u8::try_from(code).unwrap_or(LEASH_FAILED)),
            WaitStatus::Signaled(_, signal, _) => Exit::Signal(signal),
            _ => Exit::Code(LEASH_FAILED),
        }
    }

    /// The status as a shell reports it (`128 + N` for signal N), as `timeout
    /// --preserve-status` returns it when it stopped the command.
    #[must_use]
    pub(crate) fn as_shell_status(self) -> Self {
        match self {
            Exit::Signal(signal) => Exit::Code(128u8.saturating_add(signal as u8)),
            code @ Exit::Code(_) => code,
        }
    }

    /// End the process with this status: return the code, or die of the signal.
    pub fn finish(self) -> ExitCode {
        match self {
            Exit::Code(code) => ExitCode::from(code),
            Exit::Signal(signal) => {
                die_of(signal);
                // Only reached for signals whose default action does not kill.
                ExitCode::from(128u8.saturating_add(signal as u8))
            }
        }
    }
}

/// Die of `signal`, as the command did, so that a calling shell sees what it would have
/// seen without leash. Core dumps are turned off first: the command already dumped (or
/// did not), and leash's own core would only mislead. Returns only if the signal does not
/// kill (a signal whose default action is to ignore it).
fn die_of(signal: Signal) {
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    // The default disposition is needed for SIGPIPE, which the Rust runtime ignores, and
    // for any signal leash inherited as ignored.
    // SAFETY: restoring the default disposition installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
    let mut only = SigSet::empty();
    only.add(signal);
    let _ = nix::sys::signal::raise(signal);
    let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&only), None);
}
