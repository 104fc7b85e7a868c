//! The session's seccomp filter: the few system calls sandboxes commonly refuse and an
//! agent's code never needs, refused with EPERM.
//!
//! - `ioctl` TIOCSTI and TIOCLINUX: pushing keystrokes into the terminal's input, which a
//!   session handed the user's terminal could use to type into the user's shell after it
//!   ends (CVE-2017-5226).
//! - `keyctl`, `add_key`, `request_key`: the kernel keyrings, shared by the user's other
//!   processes (and not namespaced).
//! - `userfaultfd`: a classic tool for exploiting kernel races.
//! - `io_uring_setup`, `io_uring_enter`, `io_uring_register`: io_uring performs its
//!   operations without system calls a filter could see, and has been a rich source of
//!   kernel vulnerabilities (Docker's default profile and Codex's sandbox refuse it too);
//!   programs that use it (libuv, for one) fall back to ordinary calls when it fails.
//!
//! For `--network none` where no network namespace can be made, it also refuses
//! `socket(2)` for every address family but AF_UNIX (EPERM too); the session keeps its pipes
//! and unix sockets and reaches nothing else.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::Missing;

/// What the filter refuses, as `--explain` lists it.
pub(crate) const REFUSED: &str = "ioctl TIOCSTI and TIOCLINUX, keyctl, add_key, request_key, \
                           userfaultfd, io_uring";

/// System calls refused whatever their arguments.
const CALLS: [libc::c_long; 7] = [
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
];

/// `ioctl` requests refused (the second argument, an unsigned int).
const IOCTLS: [libc::c_ulong; 2] = [libc::TIOCSTI, libc::TIOCLINUX];

/// What the filter refuses with `refuse_sockets`, besides [`REFUSED`].
pub(crate) const REFUSED_SOCKETS: &str = "socket() for every family but AF_UNIX";

/// The filter, compiled for this machine's architecture; with `refuse_sockets`, refusing
/// every socket but unix ones.
pub(crate) fn program(refuse_sockets: bool) -> Result<BpfProgram, Missing> {
    let unavailable = |e: &dyn std::fmt::Display| Missing::NoFilter(e.to_string());
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| unavailable(&e))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        CALLS.iter().map(|&call| (call, Vec::new())).collect();
    let ioctls = IOCTLS
        .iter()
        .map(|&request| {
            let request = SeccompCondition::new(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                u64::from(u32::try_from(request).unwrap_or(u32::MAX)),
            )?;
            SeccompRule::new(vec![request])
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unavailable(&e))?;
    rules.insert(libc::SYS_ioctl, ioctls);
    if refuse_sockets {
        let not_unix = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            u64::from(libc::AF_UNIX.cast_unsigned()),
        )
        .and_then(|family| SeccompRule::new(vec![family]))
        .map_err(|e| unavailable(&e))?;
        rules.insert(libc::SYS_socket, vec![not_unix]);
    }
    let refused = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM.cast_unsigned()),
        arch,
    )
    .map_err(|e| unavailable(&e))?;
    BpfProgram::try_from(refused).map_err(|e| unavailable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_compiles_for_this_machine() {
        let program = program(false).unwrap();
        assert!(super::program(true).unwrap().len() > program.len());
        // An architecture check, one test per call, a return per action: a few dozen
        // instructions, a cost the session pays per system call.
        assert!(
            program.len() > CALLS.len() && program.len() < 100,
            "{}",
            program.len()
        );
    }
}
