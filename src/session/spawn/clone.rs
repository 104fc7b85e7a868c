//! clone3(2), which no crate wraps: forking straight into the session's v2 cgroup and into
//! new namespaces; and the close-on-exec pipes the parent and the child talk through.

use std::os::fd::{OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid, pipe2};

use crate::machine::error::{Error, SetupError};

/// clone3's argument (linux/sched.h, version 2 with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub(crate) const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
pub(crate) const CLONE_NEWNET: u64 = libc::CLONE_NEWNET as u64;
pub(crate) const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
pub(crate) const CLONE_NEWPID: u64 = libc::CLONE_NEWPID as u64;
pub(crate) const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;

/// A pipe whose ends close on exec.
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    pipe2(OFlag::O_CLOEXEC).map_err(SetupError::call("cannot create a pipe"))
}

/// A fork with clone3: into the cgroup open at `cgroup` (with `CLONE_INTO_CGROUP` in
/// `flags`), into new namespaces (their flags).
///
/// # Safety
/// As `fork`: the caller must be single-threaded, and the child must only make
/// async-signal-safe calls until it execs (or, as init, until it ends). glibc's fork
/// bookkeeping, which a raw clone3 skips, is then never needed.
pub(crate) unsafe fn clone3(flags: u64, cgroup: Option<RawFd>) -> nix::Result<ForkResult> {
    let args = CloneArgs {
        flags,
        exit_signal: Signal::SIGCHLD as u64,
        cgroup: cgroup.map_or(0, |fd| u64::try_from(fd).unwrap_or(u64::MAX)),
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM is a fork; `args` lives across the call and its size
    // is passed; the child's contract is the caller's.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &raw const args,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match pid {
        0 => Ok(ForkResult::Child),
        child if child > 0 => Ok(ForkResult::Parent {
            child: Pid::from_raw(i32::try_from(child).unwrap_or(i32::MAX)),
        }),
        _ => Err(Errno::last()),
    }
}
