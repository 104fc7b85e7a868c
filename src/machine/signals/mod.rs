//! Signals: the signals leash handles, and receiving them through a signalfd; a signal by
//! its number, real-time ones included (`number`); the signal state leash's caller left it
//! (`caller`).
//!
//! Every signal leash reacts to is blocked and read from one signalfd, so the supervisor's
//! `poll` loop sees signals, child exits and its deadline in one place, with no handler code
//! running at arbitrary points.

pub(crate) mod caller;
pub(crate) mod number;

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// A signal's name without the `SIG` prefix, as users write it: `TERM`.
pub(crate) fn signal_name(signal: Signal) -> &'static str {
    &signal.as_str()[3..]
}

/// Signals that ask leash to end: it stops the session, then dies of the same signal.
pub(crate) const TERMINATING: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// The other signals whose default action would end leash (core dumps included): sent to
/// leash (by a user, or by the kernel at leash's own CPU or file size limit), each stops
/// the session with `--signal`, and leash then dies of it. A real fault in leash (a
/// synchronous SIGSEGV, SIGBUS, SIGILL) is not read from the signalfd: the kernel kills
/// leash at once, and the session's cgroup or namespace is what stops the session then.
pub(crate) const ENDING: [Signal; 12] = [
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGABRT,
    Signal::SIGFPE,
    Signal::SIGSTKFLT,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGSYS,
];

/// Whether `signal`, sent to leash, ends supervision (SIGALRM does too, as the wall
/// limit).
pub(crate) fn ends_supervision(signal: Signal) -> bool {
    TERMINATING.contains(&signal) || ENDING.contains(&signal) || signal == Signal::SIGALRM
}

/// What SIGINT sent to leash does (`--on-sigint`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnSigint {
    /// Pass it on and stop the session, as SIGTERM does.
    #[default]
    Stop,
    /// Pass it on to every process of the session, which runs on (a program that handles
    /// Ctrl-C itself: an interpreter interrupting a cell).
    Forward,
}

/// Signals leash passes on to every process of the session and otherwise ignores.
pub(crate) const FORWARDED: [Signal; 2] = [Signal::SIGUSR1, Signal::SIGUSR2];

/// The signals that end leash while it waits for a slot or a start, blocked from then on:
/// the waiting loop takes them with [`wait_for_ending`], and the session's signalfd after.
pub(crate) fn block_ending() -> SigSet {
    let mut set = SigSet::empty();
    for signal in TERMINATING.iter().chain(&ENDING) {
        set.add(*signal);
    }
    set.add(Signal::SIGALRM);
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    set
}

/// Wait up to `timeout` for one of `set` (blocked); the signal, if one came.
pub(crate) fn wait_for_ending(set: &SigSet, timeout: std::time::Duration) -> Option<Signal> {
    let timeout = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().cast_signed()),
    };
    // SAFETY: sigtimedwait(2) reads the set and the timeout, both alive across the call,
    // and writes no siginfo (null).
    let signal =
        unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &raw const timeout) };
    Signal::try_from(signal).ok()
}

/// Which signals leash reads from its signalfd beyond its own (below), and which of those
/// it leaves alone: the `timeout` personality takes SIGPIPE and the real-time signals
/// too, and leaves what its caller ignored ignored.
#[derive(Clone, Debug, Default)]
pub(crate) struct Handled {
    /// Taken as well (numbers: real-time ones included).
    pub(crate) also: Vec<i32>,
    /// Not taken: left as they are (ignored).
    pub(crate) except: Vec<i32>,
}

/// The signals leash reads from its signalfd.
fn handled(extra: &Handled) -> SigSet {
    let mut set = SigSet::empty();
    for signal in TERMINATING.iter().chain(&ENDING).chain(&FORWARDED) {
        set.add(*signal);
    }
    // As for `timeout`: the wall limit, now.
    set.add(Signal::SIGALRM);
    set.add(Signal::SIGCHLD);
    // Blocked, never acted on: leash must not stop itself when it takes the terminal
    // back from the background (SIGTTOU) or if anything reads it there (SIGTTIN).
    set.add(Signal::SIGTTOU);
    set.add(Signal::SIGTTIN);
    let mut raw = *set.as_ref();
    // SAFETY: sigaddset(3)/sigdelset(3) edit the set in place; an invalid number is
    // refused (EINVAL), not acted on.
    unsafe {
        for &signal in &extra.also {
            libc::sigaddset(&raw mut raw, signal);
        }
        for &signal in &extra.except {
            libc::sigdelset(&raw mut raw, signal);
        }
    }
    // SAFETY: the set was initialised by SigSet::empty and edited by sigaddset/sigdelset.
    unsafe { SigSet::from_sigset_t_unchecked(raw) }
}

/// The supervisor's inbox: every handled signal, blocked, and readable from one fd.
pub(crate) struct Inbox {
    fd: SignalFd,
    /// Real-time signals read (which nix's `Signal` cannot name), until taken.
    realtime: Vec<i32>,
}

impl Inbox {
    /// Block the handled signals (leash's, and `extra`'s) and open the signalfd. Must run
    /// before the child is started so that no SIGCHLD or SIGTERM can arrive unseen.
    pub(crate) fn open(extra: &Handled) -> nix::Result<Self> {
        // A caller that ignored SIGCHLD would have the kernel reap leash's children
        // unseen: leash would never learn how its command ended.
        // SAFETY: the default disposition installs no handler code.
        unsafe { nix::sys::signal::signal(Signal::SIGCHLD, nix::sys::signal::SigHandler::SigDfl) }?;
        let set = handled(extra);
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Self {
            fd,
            realtime: Vec::new(),
        })
    }

    /// Take every pending signal, in arrival order (real-time ones are kept for
    /// [`Inbox::take_realtime`]).
    pub(crate) fn drain(&mut self) -> Vec<Signal> {
        let mut signals = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            let number = info.ssi_signo.cast_signed();
            match Signal::try_from(number) {
                Ok(signal) => signals.push(signal),
                Err(_) => self.realtime.push(number),
            }
        }
        signals
    }

    /// The real-time signals read since the last call.
    pub(crate) fn take_realtime(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.realtime)
    }
}

impl AsFd for Inbox {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_without_prefix() {
        assert_eq!(signal_name(Signal::SIGTERM), "TERM");
        assert_eq!(signal_name(Signal::SIGKILL), "KILL");
    }
}
