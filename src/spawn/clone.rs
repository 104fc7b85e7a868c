//! clone3(2), which no crate wraps: forking straight into the session's v2 cgroup and into
//! new namespaces; and the close-on-exec pipes the parent and the child talk through.

use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid, pipe2};

use crate::error::Error;

/// clone3's argument (linux/sched.h, version 2 with `cgroup`).
#[repr(C)]
#[derive(Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
pub const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
pub const CLONE_NEWPID: u64 = libc::CLONE_NEWPID as u64;
pub const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;

/// A pipe whose ends close on exec.
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::Setup(format!("cannot create a pipe: {e}")))
}

/// A fork into new namespaces (`flags`), with clone3.
///
/// # Safety
/// As `fork`: the caller must be single-threaded, and the child must only make
/// async-signal-safe calls.
pub unsafe fn clone_into(flags: u64) -> nix::Result<ForkResult> {
    let args = CloneArgs {
        flags,
        exit_signal: Signal::SIGCHLD as u64,
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
