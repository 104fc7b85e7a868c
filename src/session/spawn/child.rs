//! The child's side of the fork, from fork to exec: only async-signal-safe system calls,
//! on memory prepared before the fork, and no allocation.
//!
//! In this order the child:
//! 1. enters the session's cgroup: write(2) of `0` to each v1 `tasks` (and to the v2
//!    cgroup.procs where clone3 could not create it there);
//! 2. sets up the namespaces it was made in, where no `--pid-ns` init did (`namespace`:
//!    the user's maps, a private /, the private /tmp, the loopback interface);
//! 3. where leash lowered its own OOM score, takes back the score leash had: open(2),
//!    write(2) and close(2) of /proc/self/oom_score_adj (`oom`; elsewhere it was born
//!    with the session's);
//! 4. connects the output relay: dup2(2) of its ends onto fds 1 and 2;
//! 5. makes its own process group (unless it stays in leash's, as `timeout --foreground`
//!    asks): setpgid(2);
//! 6. takes the terminal's foreground where leash had it: getpid(2), tcsetpgrp(3) (an
//!    ioctl(2));
//! 7. resets every signal's disposition (but those the caller ignored, where leash keeps
//!    them so) and the signal mask: sigaction(2) for each, sigprocmask(2);
//! 8. sets the rlimits: setrlimit(2) for each;
//! 9. changes its niceness: nice(2) (getpriority(2) and setpriority(2));
//! 10. changes identity: setgroups(2), setgid(2), setuid(2); then umask(2), chdir(2),
//!     prctl(2) `PR_SET_NO_NEW_PRIVS`, and close_range(2) of inherited descriptors;
//! 11. enters its Landlock domain: landlock_restrict_self(2) with each ruleset leash made
//!     (the scope, and the one for files and ports);
//! 12. installs the seccomp filter leash compiled: seccomp(2) `SECCOMP_SET_MODE_FILTER`
//!     (after `no_new_privs`, and last but for what the filter allows);
//! 13. asks to die with leash: prctl(2) `PR_SET_PDEATHSIG` (SIGKILL, or `timeout`'s
//!     signal), and getppid(2) to see that leash did not die first;
//! 14. execve(2).
//!
//! A step that fails writes(2) its code and errno to the report pipe and _exit(2)s.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::{SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction, sigprocmask};
use nix::unistd::{Pid, getppid, setpgid};

use super::Launch;
use super::step::{Failed, Step};
use crate::machine::fork_notify;
use crate::machine::signals::caller::ChildSignals;

/// How far the child already is in the session's cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InCgroup {
    /// Not at all: it writes itself into every directory's cgroup.procs.
    No,
    /// Created in the v2 directory (clone3): it still joins the v1 ones.
    BornInV2,
    /// Wholly, as its parent was (the command under `--pid-ns`'s init).
    All,
}

/// Set the process up as `launch` says, then exec. `parent` must still be its parent
/// once it asked to die with it (leash, or `--pid-ns`'s init). Never returns.
///
/// # Safety
/// Must run only in the child of a `fork` of a single-threaded process. It makes only
/// async-signal-safe calls and does not allocate.
pub(crate) unsafe fn exec_child(
    launch: &Launch,
    parent: Pid,
    in_cgroup: InCgroup,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    report: &OwnedFd,
) -> ! {
    let prepared = enter_cgroup(launch, in_cgroup)
        .and_then(|()| set_up_namespaces(launch))
        .map(|()| {
            if let Some(score) = launch
                .oom
                .as_ref()
                .and_then(|s| s.written_by_the_child.as_ref())
            {
                // A failure changes only the OOM killer's choice: not fatal.
                let _ = super::step::write_file(c"/proc/self/oom_score_adj", score);
            }
        })
        .and_then(|()| connect_output(launch))
        .and_then(|()| own_group_and_terminal(launch))
        .and_then(|()| reset_signals(&launch.signals).map_err(|e| (Step::Signals, 0, e)))
        .and_then(|()| set_rlimits(launch))
        .and_then(|()| confine(launch, report))
        .and_then(|()| enter_landlock_domain(launch))
        .and_then(|()| install_filter(launch));
    if prepared.is_ok()
        && let Some(gate) = &launch.fork_gate
    {
        // Not fatal: where another supervisor's listener already holds the session
        // (EBUSY: an outer leash), leash counts its processes by sampling instead.
        let _ = fork_notify::install_and_send(&gate.program, gate.child.as_raw_fd());
    }
    if let Err(failed) = prepared {
        fail(report, failed);
    }
    // Die with the parent: even a SIGKILLed supervisor takes its direct child along (set
    // after the identity changes, which clears it). If the parent died before this line,
    // the parent is already someone else: give up now.
    if ask_to_die_with_parent(launch.signals.death_signal).is_err() || getppid() != parent {
        // SAFETY: _exit is async-signal-safe and skips the parent's atexit handlers.
        unsafe { libc::_exit(125) }
    }
    // SAFETY: program, argv and envp are NUL-terminated strings and NULL-terminated arrays
    // that outlive this call (they belong to `launch` and the caller's frame).
    unsafe { libc::execve(launch.program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    fail(report, (Step::Exec, 0, Errno::last()))
}

/// Tell leash which step failed and why, and end the child.
pub(crate) fn fail(report: &OwnedFd, (step, index, errno): Failed) -> ! {
    let errno = (errno as i32).to_ne_bytes();
    let message = [step as u8, index, errno[0], errno[1], errno[2], errno[3]];
    let _ = nix::unistd::write(report, &message);
    // SAFETY: _exit is async-signal-safe and skips the parent's atexit handlers.
    unsafe { libc::_exit(if step == Step::Exec { 127 } else { 125 }) }
}

/// Into the session's cgroup first, so nothing of the command runs outside: "0" is the
/// writing process itself.
pub(crate) fn enter_cgroup(launch: &Launch, in_cgroup: InCgroup) -> Result<(), Failed> {
    if in_cgroup == InCgroup::All {
        return Ok(());
    }
    let v2 = launch
        .cgroup
        .born_into
        .filter(|_| in_cgroup == InCgroup::No)
        .map(|born| born.procs);
    for &entry in v2.iter().chain(&launch.cgroup.join) {
        // SAFETY: the fd stays open in the child until exec (close-on-exec); write(2) is
        // async-signal-safe and the buffer is a static.
        if unsafe { libc::write(entry, b"0".as_ptr().cast(), 1) } != 1 {
            return Err((Step::Cgroup, 0, Errno::last()));
        }
    }
    Ok(())
}

/// The namespaces the child was made in, set up from inside, unless init made them.
fn set_up_namespaces(launch: &Launch) -> Result<(), Failed> {
    match &launch.namespaces {
        Some(setup) if !setup.with_init => setup.set_up(),
        _ => Ok(()),
    }
}

/// The relay's ends become stdout and stderr.
fn connect_output(launch: &Launch) -> Result<(), Failed> {
    let Some(output) = launch.output else {
        return Ok(());
    };
    for (from, to) in [(output.stdout, 1), (output.stderr, 2)] {
        // SAFETY: dup2 is async-signal-safe; both fds are open (the relay's ends,
        // close-on-exec, so only the duplicates reach the command).
        if unsafe { libc::dup2(from, to) } < 0 {
            return Err((Step::Output, 0, Errno::last()));
        }
    }
    Ok(())
}

/// Our own process group, so the session's group can be signalled without leash in it;
/// and the terminal's foreground for it, where leash had the terminal.
fn own_group_and_terminal(launch: &Launch) -> Result<(), Failed> {
    if !launch.signals.own_group {
        return Ok(());
    }
    setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(|e| (Step::ProcessGroup, 0, e))?;
    if launch.take_terminal {
        // The foreground of the terminal goes to the new group before exec, so the command
        // never reads it from the background. SIGTTOU is still blocked (inherited from
        // leash), so a background caller may do this.
        // SAFETY: tcsetpgrp is an ioctl on fd 0: async-signal-safe, no allocation.
        unsafe { libc::tcsetpgrp(0, libc::getpid()) };
    }
    Ok(())
}

/// Default dispositions for every signal and the mask `signals` says (empty for leash's
/// own sessions), so the command starts as it would from a shell, not with what leash
/// blocked for its signalfd; the signals the caller ignored stay ignored where `signals`
/// keeps them.
fn reset_signals(signals: &ChildSignals) -> Result<(), Errno> {
    let action =
        |handler| SigAction::new(handler, nix::sys::signal::SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator() {
        if !matches!(signal, Signal::SIGKILL | Signal::SIGSTOP) {
            let handler = if signals.keeps_ignored(signal as i32) {
                SigHandler::SigIgn
            } else {
                SigHandler::SigDfl
            };
            // SAFETY: installing SIG_DFL or SIG_IGN runs no code in the child.
            unsafe { sigaction(signal, &action(handler)) }?;
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&signals.mask), None)
}

/// prctl(2) `PR_SET_PDEATHSIG`: `signal` when the parent dies (0: nothing).
fn ask_to_die_with_parent(signal: i32) -> Result<(), Errno> {
    // SAFETY: a plain prctl(2) with integer arguments, async-signal-safe.
    Errno::result(unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::c_ulong::try_from(signal).unwrap_or(0),
        )
    })
    .map(drop)
}

fn set_rlimits(launch: &Launch) -> Result<(), Failed> {
    for (index, limit) in launch.rlimits.iter().enumerate() {
        limit
            .apply()
            .map_err(|e| (Step::Rlimit, u8::try_from(index).unwrap_or(u8::MAX), e))?;
    }
    Ok(())
}

/// Niceness first (lowering it needs the privilege the identity drops), then identity,
/// umask, directory, `no_new_privs` and the inherited descriptors (but the report pipe and
/// the Landlock ruleset, both close-on-exec).
fn confine(launch: &Launch, report: &OwnedFd) -> Result<(), Failed> {
    let [scope, access] = launch.landlock;
    let keep = [
        report.as_raw_fd(),
        scope.unwrap_or(-1),
        access.unwrap_or(-1),
        launch
            .fork_gate
            .as_ref()
            .map_or(-1, |gate| gate.child.as_raw_fd()),
    ];
    launch
        .confinement
        .apply_nice()
        .and_then(|()| launch.confinement.apply(&keep))
        .map_err(|(failure, e)| (Step::of(failure), 0, e))
}

/// Scope the process (and all it starts) to a Landlock domain of its own.
fn enter_landlock_domain(launch: &Launch) -> Result<(), Failed> {
    for ruleset in launch.landlock.iter().flatten() {
        // SAFETY: landlock_restrict_self takes the ruleset's descriptor (open until exec)
        // and flags; it is a plain system call, async-signal-safe.
        if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, *ruleset, 0u32) } != 0 {
            return Err((Step::Landlock, 0, Errno::last()));
        }
    }
    Ok(())
}

/// Install the seccomp filter compiled before the fork.
fn install_filter(launch: &Launch) -> Result<(), Failed> {
    let Some(program) = &launch.filter else {
        return Ok(());
    };
    let program = libc::sock_fprog {
        len: u16::try_from(program.len()).unwrap_or(u16::MAX),
        // seccompiler's sock_filter has libc's layout (repr(C), the same four fields).
        filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: seccomp(2) copies the program in; `program` points at instructions that
    // live in `launch` across the call. A plain system call, async-signal-safe.
    let installed = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &raw const program,
        )
    };
    if installed != 0 {
        return Err((Step::Seccomp, 0, Errno::last()));
    }
    Ok(())
}
