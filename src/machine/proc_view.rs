//! Reading `/proc`, and the PID it shows a process under: its own, or another where
//! `/proc` belongs to an outer PID namespace (a sandbox that made a PID namespace but kept
//! the outer `/proc`, as Claude Code's can).
//!
//! leash names processes by the PIDs of its own namespace everywhere (they are what
//! kill(2), waitpid(2) and `cgroup.procs` use); only the paths it reads in `/proc` go
//! through [`shown`], and PIDs read out of `/proc` (children lists) through [`own`].
//! Where the two agree, as almost everywhere, both are the identity.

use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use nix::unistd::Pid;

/// How `/proc` relates to leash's PID namespace, read once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// `/proc` is of leash's own PID namespace.
    Own,
    /// `/proc` is of an outer PID namespace: leash is `me` there, and a process's PID in
    /// leash's namespace is entry `level` of its `NSpid` (the first is `/proc`'s).
    Outer { me: Pid, own_me: Pid, level: usize },
    /// `/proc` does not show leash at all (missing, or of a namespace leash is not in):
    /// leash cannot see its session.
    Blind,
}

/// How `/proc` relates to leash's PID namespace.
pub(crate) fn view() -> View {
    static VIEW: OnceLock<View> = OnceLock::new();
    *VIEW.get_or_init(read_view)
}

fn read_view() -> View {
    let own_me = Pid::this();
    // /proc/self resolves to the caller's PID in the namespace of that /proc.
    let shown = fs::read_link("/proc/self")
        .ok()
        .and_then(|link| link.to_str()?.parse().ok());
    let Some(me) = shown.map(Pid::from_raw) else {
        return View::Blind;
    };
    if me == own_me {
        return View::Own;
    }
    let levels = read_proc("/proc/self/status").map_or(0, |status| nspid(&status).len());
    match levels.checked_sub(1) {
        Some(level) if level > 0 => View::Outer { me, own_me, level },
        _ => View::Blind,
    }
}

/// The PID under which `/proc` shows `pid`, a PID of leash's namespace.
pub(crate) fn shown(pid: Pid) -> Option<Pid> {
    match view() {
        View::Own => Some(pid),
        View::Outer { me, own_me, .. } if pid == own_me => Some(me),
        View::Outer { .. } => shown_by_pidfd(pid),
        View::Blind => None,
    }
}

/// The PID in leash's namespace of the process `/proc` shows as `shown`; `None` once it
/// is gone.
pub(crate) fn own(shown: Pid) -> Option<Pid> {
    match view() {
        View::Own => Some(shown),
        View::Outer { level, .. } => {
            let status = read_proc(&format!("/proc/{shown}/status"))?;
            nspid(&status).get(level).copied()
        }
        View::Blind => None,
    }
}

/// The path of file `name` of process `pid` (a PID of leash's namespace) in `/proc`.
pub(crate) fn file(pid: Pid, name: &str) -> Option<String> {
    Some(format!("/proc/{}/{name}", shown(pid)?))
}

/// Read a /proc file whole. Unlike `fs::read_to_string` it does not stat the file first
/// (procfs reports size 0 anyway): on the sampling path every system call counts.
pub(crate) fn read_proc(path: &str) -> Option<String> {
    let mut file = fs::File::open(path).ok()?;
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    String::from_utf8(text).ok()
}

/// The `NSpid:` field of a `/proc/PID/status`: the PID in each namespace from that
/// `/proc`'s down to the process's own.
fn nspid(status: &str) -> Vec<Pid> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .map(|pids| {
            pids.split_ascii_whitespace()
                .filter_map(|p| p.parse().ok())
                .map(Pid::from_raw)
                .collect()
        })
        .unwrap_or_default()
}

/// A pidfd's `fdinfo` names its process's PID in the namespace of the `/proc` it is read
/// through (the first field of its `NSpid`).
fn shown_by_pidfd(pid: Pid) -> Option<Pid> {
    let pidfd = pidfd(pid)?;
    let info = read_proc(&format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))?;
    drop(pidfd);
    nspid(&info).first().copied().filter(|p| p.as_raw() > 0)
}

/// A pidfd for process `pid` of leash's namespace (pidfd_open(2)); `None` where there is
/// no such process.
pub(crate) fn pidfd(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1; no
    // memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned `fd`, which nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nspid_lists_the_pid_in_each_namespace() {
        let status = "Name:\tsh\nTgid:\t9\nNSpid:\t14219\t2\nPPid:\t1\n";
        assert_eq!(nspid(status), [Pid::from_raw(14219), Pid::from_raw(2)]);
        assert!(nspid("Name:\tsh\n").is_empty());
    }

    #[test]
    fn here_proc_is_leashs_own_and_maps_nothing() {
        assert_eq!(view(), View::Own);
        let me = Pid::this();
        assert_eq!(shown(me), Some(me));
        assert_eq!(shown_by_pidfd(me), Some(me));
    }
}
