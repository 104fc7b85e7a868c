//! Waiting for children, with every status the kernel reports: nix's `WaitStatus` holds
//! no real-time signal, and a child that died of one would read as "no child left".

use nix::errno::Errno;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

use crate::machine::signals::number::SignalNumber;

/// What became of a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signaled {
        signal: SignalNumber,
        core_dumped: bool,
    },
    /// A signal stopped it (job control, or a tracer).
    Stopped(SignalNumber),
    /// SIGCONT continued it.
    Continued,
}

impl Status {
    /// Decode a status as waitpid(2) wrote it.
    pub(crate) fn from_raw(raw: i32) -> Status {
        if libc::WIFEXITED(raw) {
            Status::Exited(libc::WEXITSTATUS(raw))
        } else if libc::WIFSIGNALED(raw) {
            Status::Signaled {
                signal: SignalNumber::from_number(libc::WTERMSIG(raw)),
                core_dumped: libc::WCOREDUMP(raw),
            }
        } else if libc::WIFSTOPPED(raw) {
            Status::Stopped(SignalNumber::from_number(libc::WSTOPSIG(raw)))
        } else {
            Status::Continued
        }
    }

    /// Whether the child is gone (and reaped).
    pub(crate) fn ended(self) -> bool {
        matches!(self, Status::Exited(_) | Status::Signaled { .. })
    }
}

/// Wait for `pid` (-1: any child) as `flags` say. `Ok(None)`: with `WNOHANG`, nothing to
/// report yet.
pub(crate) fn wait(pid: Pid, flags: WaitPidFlag) -> Result<Option<(Pid, Status)>, Errno> {
    let mut raw = 0;
    // SAFETY: waitpid(2) writes the status into a local.
    let waited = unsafe { libc::waitpid(pid.as_raw(), &raw mut raw, flags.bits()) };
    match waited {
        -1 => Err(Errno::last()),
        0 => Ok(None),
        pid => Ok(Some((Pid::from_raw(pid), Status::from_raw(raw)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decode_real_time_signals_too() {
        let rtmin = libc::SIGRTMIN();
        assert_eq!(Status::from_raw(3 << 8), Status::Exited(3));
        assert_eq!(
            Status::from_raw(rtmin),
            Status::Signaled {
                signal: SignalNumber::from_number(rtmin),
                core_dumped: false
            }
        );
        assert_eq!(
            Status::from_raw(libc::SIGSEGV | 0x80),
            Status::Signaled {
                signal: SignalNumber::from_number(libc::SIGSEGV),
                core_dumped: true
            }
        );
        assert_eq!(
            Status::from_raw((libc::SIGTSTP << 8) | 0x7f),
            Status::Stopped(SignalNumber::from_number(libc::SIGTSTP))
        );
        assert_eq!(Status::from_raw(0xffff), Status::Continued);
        assert!(!Status::Continued.ended());
    }
}
