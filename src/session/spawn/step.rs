//! The steps of the child's set-up between fork and exec, as the report pipe carries the
//! one that failed, and the raw file writes the steps share (async-signal-safe only).

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::machine::error::{Error, UsageError};
use crate::session::confinement::Failure;

/// The step of the child's set-up that failed, as sent through the report pipe: its code,
/// then (for rlimits) which one, then the errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Step {
    /// Entering the session's cgroup.
    Cgroup,
    /// Connecting the output relay.
    Output,
    /// Making a process group.
    ProcessGroup,
    /// Resetting signals.
    Signals,
    /// Setting an rlimit.
    Rlimit,
    /// Changing niceness.
    Nice,
    /// Changing user, group or supplementary groups.
    Identity,
    /// Changing directory.
    Directory,
    /// Setting `no_new_privs`.
    NoNewPrivs,
    /// Entering the Landlock domain.
    Landlock,
    /// Installing the seccomp filter.
    Seccomp,
    /// Mapping the user in its namespace, making / private, or (init) starting the
    /// command in the namespace.
    Namespace,
    /// Init: mounting the namespace's own /proc.
    Proc,
    /// Mounting the private /tmp and keeping the paths below it.
    PrivateTmp,
    /// Bringing the network namespace's loopback interface up.
    Loopback,
    /// The exec itself.
    Exec,
}

impl Step {
    const ALL: [Step; 16] = [
        Step::Cgroup,
        Step::Output,
        Step::ProcessGroup,
        Step::Signals,
        Step::Rlimit,
        Step::Nice,
        Step::Identity,
        Step::Directory,
        Step::NoNewPrivs,
        Step::Landlock,
        Step::Seccomp,
        Step::Namespace,
        Step::Proc,
        Step::PrivateTmp,
        Step::Loopback,
        Step::Exec,
    ];

    /// The step's name for programs reading a report's `error_kind` (`setup.rlimit`).
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Step::Cgroup => "cgroup",
            Step::Output => "output",
            Step::ProcessGroup => "process_group",
            Step::Signals => "signals",
            Step::Rlimit => "rlimit",
            Step::Nice => "nice",
            Step::Identity => "identity",
            Step::Directory => "directory",
            Step::NoNewPrivs => "no_new_privs",
            Step::Landlock => "landlock",
            Step::Seccomp => "seccomp",
            Step::Namespace => "namespace",
            Step::Proc => "proc",
            Step::PrivateTmp => "private_tmp",
            Step::Loopback => "loopback",
            Step::Exec => "exec",
        }
    }

    /// The step a code read from the report pipe stands for.
    pub(crate) fn from_code(code: u8) -> Option<Step> {
        Step::ALL.get(usize::from(code)).copied()
    }

    /// The step a confinement failure happened in.
    pub(super) fn of(failure: Failure) -> Step {
        match failure {
            Failure::Identity => Step::Identity,
            Failure::Directory => Step::Directory,
            Failure::Nice => Step::Nice,
            Failure::NoNewPrivs => Step::NoNewPrivs,
        }
    }
}

/// A failed step: which, the index of the rlimit it was setting (else 0), and why.
pub(crate) type Failed = (Step, u8, Errno);

/// The report of a failed step: code, index, errno.
pub(crate) const REPORT_LEN: usize = 6;

/// Write `content` to the existing file at `path` in one write(2) (a /proc file takes no
/// more); whether all of it went (errno says why not).
///
/// Only async-signal-safe system calls: open(2), write(2), close(2).
pub(crate) fn write_file(path: &CStr, content: &CStr) -> bool {
    // SAFETY: open, write and close on strings prepared before the fork.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let length = content.to_bytes().len();
        let written = libc::write(fd, content.as_ptr().cast(), length) == length.cast_signed();
        libc::close(fd);
        written
    }
}

/// A path as a C string.
pub(crate) fn c_path(path: &Path) -> Result<CString, Error> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        Error::Usage(UsageError::Nul {
            flag: None,
            path: path.to_path_buf(),
        })
    })
}
