//! How leash ends: every exit status it uses (as `timeout` defines them), or dying of the
//! command's signal.

use crate::machine::error::Error;
use crate::machine::signals::number::SignalNumber;
use crate::machine::wait::Status;

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
pub(crate) enum Exit {
    /// Exit with this code.
    Code(u8),
    /// Die of this signal (core dumps off), as the command did or as leash was asked to.
    Signal(SignalNumber),
}

impl Exit {
    /// Pass the main process's status through: its exit code, or its death by a signal.
    pub(crate) fn of(status: Status) -> Self {
        match status {
            Status::Exited(code) => Exit::Code(u8::try_from(code).unwrap_or(LEASH_FAILED)),
            Status::Signaled { signal, .. } => Exit::Signal(signal),
            Status::Stopped(_) | Status::Continued => Exit::Code(LEASH_FAILED),
        }
    }

    /// How leash ends after `error`: its exit status, or dying of the signal that
    /// interrupted it.
    pub(crate) fn after(error: &Error) -> Self {
        match error {
            Error::Interrupted(signal) => Exit::Signal((*signal).into()),
            _ => Exit::Code(code_after(error)),
        }
    }

    /// The status as a shell reports it (`128 + N` for signal N), as `timeout
    /// --preserve-status` returns it when it stopped the command.
    #[must_use]
    pub(crate) fn as_shell_status(self) -> Self {
        match self {
            Exit::Signal(signal) => Exit::Code(shell_status(signal)),
            code @ Exit::Code(_) => code,
        }
    }

    /// End the process with this status: return the code, or die of the signal.
    pub(crate) fn finish(self) -> u8 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(signal) => {
                die_of(signal);
                // Only reached for signals whose default action does not kill.
                shell_status(signal)
            }
        }
    }
}

/// Die of `signal`, as the command did, so that a calling shell sees what it would have
/// seen without leash. Core dumps are turned off first: the command already dumped (or
/// did not), and leash's own core would only mislead. Returns only if the signal does not
/// kill (a signal whose default action is to ignore it).
fn die_of(signal: SignalNumber) {
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    signal.raise_with_default_action();
}

/// The status leash exits with after `error`.
pub(crate) fn code_after(error: &Error) -> u8 {
    match error {
        Error::NotFound(_) => NOT_FOUND,
        Error::CannotExecute(..) => CANNOT_EXECUTE,
        Error::NoSlot(_) => NO_SLOT,
        _ => LEASH_FAILED,
    }
}

/// `128 + N` for signal N, as a shell reports a death by it.
pub(crate) fn shell_status(signal: SignalNumber) -> u8 {
    u8::try_from(signal.number()).map_or(u8::MAX, |number| 128u8.saturating_add(number))
}
