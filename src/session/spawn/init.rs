//! The session's init, with `--pid-ns`: PID 1 of the session's own PID namespace, a child
//! of leash made with clone3 (`CLONE_NEWPID | CLONE_NEWNS`, and `CLONE_NEWUSER` without
//! privilege). Like the child's set-up, it runs from fork on with system calls only.
//!
//! In this order init:
//! 1. asks to die with leash (prctl(2) `PR_SET_PDEATHSIG`, SIGKILL), then waits for leash's
//!    go on a pipe (end of file: leash died before the death signal was set, so give up);
//!    when init dies, the kernel kills every process of the namespace;
//! 2. sets the namespaces up (`namespace`: the user's maps, a private /, its own /proc,
//!    the private /tmp, the loopback interface);
//! 3. enters the session's cgroup as the child would (write(2) to cgroup.procs);
//! 4. starts the command (clone3(2)), which sets itself up as without `--pid-ns`;
//! 5. closes every descriptor but the pipe it reports on (close_range(2)), so that the
//!    output relay sees the end of the session's output;
//! 6. reaps every process of the namespace (waitpid(2)), writes(2) to leash each time the
//!    command stops or ends, and _exit(2)s once none is left.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::Launch;
use super::child::{InCgroup, enter_cgroup, exec_child, fail};
use super::clone::clone3;
use super::step::Step;

/// What init reports to leash about the command: a kind, then the raw wait status.
pub(crate) const STATUS_LEN: usize = 5;
/// The command ended (exited or was killed).
pub(crate) const ENDED: u8 = 0;
/// The command was stopped (job control).
pub(crate) const STOPPED: u8 = 1;

/// The pipes init shares with leash.
pub(crate) struct Pipes<'a> {
    /// Read end of leash's go (its write end is `go_write`, which init closes).
    pub(crate) go: &'a OwnedFd,
    /// Write end of leash's go.
    pub(crate) go_write: RawFd,
    /// Where init reports the command's stops and end.
    pub(crate) status: &'a OwnedFd,
    /// Where a failing step reports (see `child`).
    pub(crate) report: &'a OwnedFd,
}

/// Run init. Never returns.
///
/// # Safety
/// As [`exec_child`]: only in the child of a fork (here a clone3) of a single-threaded
/// process; only async-signal-safe calls, no allocation.
pub(crate) unsafe fn run_init(
    launch: &Launch,
    in_cgroup: InCgroup,
    pipes: &Pipes,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> ! {
    if nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).is_err()
        || !go_ahead(pipes)
    {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(125) }
    }
    let prepared = launch
        .namespaces
        .as_ref()
        .map_or(Ok(()), super::namespace::Setup::set_up)
        .and_then(|()| enter_cgroup(launch, in_cgroup));
    if let Err(failed) = prepared {
        fail(pipes.report, failed);
    }
    let command = match start_command() {
        Ok(0) => {
            // SAFETY: in the child of a clone3; `exec_child`'s contract.
            unsafe {
                exec_child(
                    launch,
                    nix::unistd::Pid::from_raw(1),
                    InCgroup::All,
                    argv,
                    envp,
                    pipes.report,
                )
            }
        }
        Ok(pid) => pid,
        Err(errno) => fail(pipes.report, (Step::Namespace, 0, errno)),
    };
    close_all_but(pipes.status.as_raw_fd());
    reap(command, pipes.status.as_raw_fd())
}

/// Wait for leash's go: a byte, or the end of file if leash died.
fn go_ahead(pipes: &Pipes) -> bool {
    // SAFETY: close(2) of init's copy of the write end, so that leash's death reads as
    // the end of the pipe.
    unsafe { libc::close(pipes.go_write) };
    let mut byte = [0u8];
    loop {
        match nix::unistd::read(pipes.go, &mut byte) {
            Ok(1) => return true,
            Err(Errno::EINTR) => {}
            _ => return false,
        }
    }
}

/// Start the command's process: a plain clone3, as fork but without glibc's bookkeeping
/// (init itself was made by a raw clone3). Returns 0 in the child.
fn start_command() -> Result<libc::pid_t, Errno> {
    // SAFETY: init is single-threaded, and the child runs only `exec_child`.
    match unsafe { clone3(0, None) }? {
        nix::unistd::ForkResult::Child => Ok(0),
        nix::unistd::ForkResult::Parent { child } => Ok(child.as_raw()),
    }
}

/// Close every descriptor but `keep`.
fn close_all_but(keep: RawFd) {
    let keep = u32::try_from(keep).unwrap_or(u32::MAX);
    // SAFETY: close_range(2) only closes descriptors.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0u32, keep.saturating_sub(1), 0u32);
        libc::syscall(
            libc::SYS_close_range,
            keep.saturating_add(1),
            u32::MAX,
            0u32,
        );
    }
}

/// Reap every process of the namespace, reporting the command's stops and end on
/// `status`; exit once none is left.
fn reap(command: libc::pid_t, status: RawFd) -> ! {
    loop {
        let mut wait_status = 0;
        // SAFETY: waitpid(2) writes the status into a local.
        let pid =
            unsafe { libc::waitpid(-1, &raw mut wait_status, libc::WUNTRACED | libc::__WALL) };
        if pid == command {
            let kind = if libc::WIFSTOPPED(wait_status) {
                STOPPED
            } else {
                ENDED
            };
            let raw = wait_status.to_ne_bytes();
            let message = [kind, raw[0], raw[1], raw[2], raw[3]];
            // SAFETY: write(2) of a local buffer; leash reads whole messages.
            unsafe { libc::write(status, message.as_ptr().cast(), message.len()) };
        } else if pid < 0 && Errno::last() != Errno::EINTR {
            // SAFETY: _exit is async-signal-safe. No process is left.
            unsafe { libc::_exit(0) }
        }
    }
}
