//! The signal state leash's caller left it (which signals it ignored, read before Rust's
//! runtime ignores SIGPIPE; the mask), and how the command's signals start from it.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SigSet, Signal};

/// Whether SIGPIPE was ignored (SIG_IGN) when leash started.
static PIPE_IGNORED_AT_START: AtomicBool = AtomicBool::new(false);

/// Read SIGPIPE's disposition before `main`: the Rust runtime sets it to SIG_IGN before
/// `main` runs, and whether the caller had ignored it would be lost. The C library runs
/// `.init_array` entries before it calls `main`. (Every other disposition leash still has
/// as the caller left it when the personalities read it.)
#[used]
#[unsafe(link_section = ".init_array")]
static READ_SIGPIPE: extern "C" fn() = read_sigpipe;

extern "C" fn read_sigpipe() {
    PIPE_IGNORED_AT_START.store(ignored_now(libc::SIGPIPE), Ordering::Relaxed);
}

/// Whether `signal` is ignored (SIG_IGN) now.
fn ignored_now(signal: i32) -> bool {
    // SAFETY: sigaction(2) with no new action only writes the current one into `old`, a
    // zeroed, properly sized libc struct alive across the call.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &raw mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

fn bit(signal: i32) -> u64 {
    u32::try_from(signal - 1)
        .ok()
        .and_then(|shift| 1u64.checked_shl(shift))
        .unwrap_or(0)
}

/// Whether the caller had `signal` ignored when leash started. Until leash opens its
/// signalfd (which sets SIGCHLD to the default), only SIGPIPE has changed since.
pub(crate) fn ignored_at_start(signal: i32) -> bool {
    if signal == libc::SIGPIPE {
        PIPE_IGNORED_AT_START.load(Ordering::Relaxed)
    } else {
        ignored_now(signal)
    }
}

/// How the command's signals start, and what it gets when leash dies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChildSignals {
    /// Standard signals (bit `N - 1` for signal N) that stay ignored in the command; every
    /// other standard signal gets its default disposition. Real-time ones are left as the
    /// caller had them (leash never changes them).
    pub(crate) ignored: u64,
    /// The signal mask the command starts with.
    pub(crate) mask: SigSet,
    /// The signal the command gets when leash dies (0: none).
    pub(crate) death_signal: i32,
    /// Whether the command gets a process group of its own (else it stays in leash's).
    pub(crate) own_group: bool,
}

impl ChildSignals {
    /// leash's own way: every disposition the default, nothing blocked, SIGKILL when leash
    /// dies, a process group of its own.
    pub(crate) fn fresh() -> Self {
        Self {
            ignored: 0,
            mask: SigSet::empty(),
            death_signal: libc::SIGKILL,
            own_group: true,
        }
    }

    /// GNU `timeout`'s way: what the caller ignored stays ignored but for `taken` (the
    /// signals the wrapper itself handles), the caller's mask (leash's now: it has blocked
    /// nothing yet) but for SIGCHLD and SIGALRM, `death_signal` when leash dies, and a
    /// process group of its own unless `foreground`.
    pub(crate) fn inherited(taken: &[i32], death_signal: i32, foreground: bool) -> Self {
        let ignored = (1..=31)
            .filter(|signal| ignored_at_start(*signal) && !taken.contains(signal))
            .fold(0, |bits, signal| bits | bit(signal));
        let mut mask = SigSet::thread_get_mask().unwrap_or_else(|_| SigSet::empty());
        mask.remove(Signal::SIGCHLD);
        mask.remove(Signal::SIGALRM);
        Self {
            ignored,
            mask,
            death_signal,
            own_group: !foreground,
        }
    }

    /// Whether standard signal `signal` stays ignored in the command.
    pub(crate) fn keeps_ignored(&self, signal: i32) -> bool {
        self.ignored & bit(signal) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_stand_for_signal_numbers() {
        assert_eq!(bit(1), 1);
        assert_eq!(bit(64), 1 << 63);
        assert_eq!(bit(0), 0);
        assert_eq!(bit(65), 0);
    }

    #[test]
    fn leash_starts_commands_fresh() {
        let fresh = ChildSignals::fresh();
        assert_eq!(fresh.ignored, 0);
        assert!(fresh.own_group);
        assert_eq!(fresh.death_signal, libc::SIGKILL);
    }
}
