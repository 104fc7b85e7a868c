//! The session's new namespaces, set up from inside by the first process in them (init
//! under `--pid-ns`, else the command's own process before it execs), with system calls
//! only, on what was prepared before the fork.
//!
//! In this order:
//! 1. in a user namespace, the user mapped to itself: write(2) of `deny` to
//!    /proc/self/setgroups, then of one line each to uid_map and gid_map;
//! 2. in a mount namespace, / made private, recursively (mount(2)), so that nothing
//!    mounted here reaches the host's mounts;
//! 3. with a PID namespace, its own /proc (mount(2));
//! 4. with `--private-tmp`, its tmpfs on /tmp and /dev/shm, the paths below them kept
//!    (`private_tmp`);
//! 5. in a network namespace, its loopback interface brought up: socket(2), ioctl(2)
//!    `SIOCGIFFLAGS` and `SIOCSIFFLAGS`.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::clone::{CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER};
use super::private_tmp::PrivateTmp;
use super::step::{Failed, Step, write_file};
use crate::machine::error::Error;
use crate::session::isolation::{Isolation, Unshared};

/// The namespaces to make and what to set up in them, prepared in leash.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // one per thing to set up, each independent
pub(crate) struct Setup {
    /// clone3's namespace flags.
    pub(crate) flags: u64,
    /// A PID namespace: init is made in these namespaces, and starts the command.
    pub(crate) with_init: bool,
    /// In a user namespace: its maps.
    id_maps: Option<IdMaps>,
    /// A mount namespace: / is made private in it.
    mount: bool,
    /// A PID namespace in a mount namespace: its own /proc.
    proc: bool,
    /// The private /tmp.
    private_tmp: Option<PrivateTmp>,
    /// A network namespace: its loopback is brought up.
    loopback: bool,
}

/// The files that map the user to itself in a new user namespace.
#[derive(Debug)]
struct IdMaps {
    /// `(path, content)`: setgroups, uid_map, gid_map, in that order.
    files: [(CString, CString); 3],
}
impl Setup {
    /// What `isolation` needs set up, with `working_dir` giving the command's directory
    /// (read only for a private /tmp) and `program` its program, as found on PATH.
    pub(crate) fn prepare(
        isolation: &Isolation,
        working_dir: impl FnOnce() -> Result<PathBuf, Error>,
        program: &Path,
    ) -> Result<Option<Setup>, Error> {
        let Some(unshared) = isolation.unshared() else {
            return Ok(None);
        };
        let Unshared {
            user,
            pid,
            net,
            mount,
        } = unshared;
        let flag = |on: bool, flag: u64| if on { flag } else { 0 };
        let private_tmp = match isolation.reach.private_tmp {
            Some(size) => Some(PrivateTmp::prepare(
                isolation,
                size,
                &working_dir()?,
                program,
            )?),
            None => None,
        };
        Ok(Some(Setup {
            flags: flag(user, CLONE_NEWUSER)
                | flag(pid, CLONE_NEWPID)
                | flag(net, CLONE_NEWNET)
                | flag(mount, CLONE_NEWNS),
            with_init: pid,
            id_maps: user.then(IdMaps::of_current_user),
            mount,
            proc: pid,
            private_tmp,
            loopback: net,
        }))
    }

    /// Set the namespaces up, from inside them.
    ///
    /// Only async-signal-safe system calls on memory prepared before the fork.
    pub(crate) fn set_up(&self) -> Result<(), Failed> {
        if let Some(maps) = &self.id_maps {
            maps.write()?;
        }
        if self.mount {
            make_root_private()?;
        }
        if self.proc {
            mount_proc()?;
        }
        if let Some(private_tmp) = &self.private_tmp {
            private_tmp.mount()?;
        }
        if self.loopback {
            loopback_up()?;
        }
        Ok(())
    }
}

impl IdMaps {
    /// Map the current user and group to themselves.
    fn of_current_user() -> IdMaps {
        let file = |path: &str, content: String| {
            (
                CString::new(path).unwrap_or_default(),
                CString::new(content).unwrap_or_default(),
            )
        };
        let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
        IdMaps {
            files: [
                file("/proc/self/setgroups", "deny".into()),
                file("/proc/self/uid_map", format!("{uid} {uid} 1")),
                file("/proc/self/gid_map", format!("{gid} {gid} 1")),
            ],
        }
    }

    /// In a user namespace, map the user to itself (before that, it is nobody there).
    fn write(&self) -> Result<(), Failed> {
        for (path, content) in &self.files {
            if !write_file(path, content) {
                return Err((Step::Namespace, 0, Errno::last()));
            }
        }
        Ok(())
    }
}

/// Make every mount of the new mount namespace private, so that nothing mounted in it
/// propagates to the host's.
fn make_root_private() -> Result<(), Failed> {
    // SAFETY: mount(2) with static NUL-terminated strings.
    let made = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if made != 0 {
        return Err((Step::Namespace, 0, Errno::last()));
    }
    Ok(())
}

/// A /proc of the namespace's own, so that the session sees only its processes.
fn mount_proc() -> Result<(), Failed> {
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let proc = c"proc".as_ptr();
    // SAFETY: mount(2) with static NUL-terminated strings.
    if unsafe { libc::mount(proc, c"/proc".as_ptr(), proc, flags, std::ptr::null()) } != 0 {
        return Err((Step::Proc, 0, Errno::last()));
    }
    Ok(())
}

/// net/if.h's `IFF_UP`, as `ifreq`'s flags take it.
const IFF_UP: libc::c_short = 1;

/// Bring the new network namespace's loopback interface up (it starts down).
fn loopback_up() -> Result<(), Failed> {
    // SAFETY: socket(2), ioctl(2) on a zeroed ifreq of the stack naming "lo", close(2).
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err((Step::Loopback, 0, Errno::last()));
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        request.ifr_name[0] = b'l'.cast_signed();
        request.ifr_name[1] = b'o'.cast_signed();
        let up = libc::ioctl(socket, libc::SIOCGIFFLAGS, &raw mut request) == 0 && {
            request.ifr_ifru.ifru_flags |= IFF_UP;
            libc::ioctl(socket, libc::SIOCSIFFLAGS, &raw const request) == 0
        };
        let errno = Errno::last();
        libc::close(socket);
        if !up {
            return Err((Step::Loopback, 0, errno));
        }
    }
    Ok(())
}
