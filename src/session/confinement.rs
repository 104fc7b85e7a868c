//! What the command runs as and with: the user and group, `no_new_privs`, the file
//! descriptors it inherits, its directory, umask and niceness (its environment is
//! `environment`'s). Resolved in leash (names, numbers, checks); applied in the child
//! between fork and exec with system calls only.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::unistd::{Gid, Uid};

use crate::machine::accounts;
use crate::machine::error::{Error, UsageError};

/// The settings behind the confinement, as the command line gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    /// `--user`: a name or a numeric uid.
    pub(crate) user: Option<String>,
    /// `--group`: a name or a numeric gid.
    pub(crate) group: Option<String>,
    /// `--allow-new-privs`: do not set `no_new_privs`.
    pub(crate) allow_new_privs: bool,
    /// `--keep-fd`: descriptors above 2 the command keeps.
    pub(crate) keep_fds: Vec<RawFd>,
    /// What the command inherits as it is, as under `timeout`.
    pub(crate) keep: Kept,
    /// `--chdir`.
    pub(crate) chdir: Option<PathBuf>,
    /// `--umask`.
    pub(crate) umask: Option<u32>,
    /// `--nice`: added to leash's niceness.
    pub(crate) nice: Option<i32>,
    /// `--env-clear`: start from an empty environment.
    pub(crate) env_clear: bool,
    /// `--env-keep`: variables kept when the environment is cleared.
    pub(crate) env_keep: Vec<String>,
    /// `--env KEY=VALUE`: variables set.
    pub(crate) env: Vec<(String, String)>,
}

/// What the command may inherit as it is where leash would otherwise change it (the
/// `timeout` personality keeps both).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Every inherited descriptor (a make jobserver's, a `3>`), not only 0-2 and `--keep-fd`.
    pub(crate) all_fds: bool,
    /// The OOM scores, instead of making the session the OOM killer's pick before leash.
    pub(crate) oom_score: bool,
}

/// What the child applies before exec.
#[derive(Debug, Default)]
pub(crate) struct Confinement {
    identity: Option<(Uid, Gid)>,
    no_new_privs: bool,
    keep_fds: Vec<RawFd>,
    keep_all_fds: bool,
    chdir: Option<CString>,
    umask: Option<nix::libc::mode_t>,
    nice: Option<i32>,
}

/// A step of the confinement that failed in the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Setting the user, group or supplementary groups.
    Identity,
    /// Changing directory.
    Directory,
    /// Changing niceness.
    Nice,
    /// Setting `no_new_privs`.
    NoNewPrivs,
}

impl Confinement {
    /// Resolve `request`: look users and groups up, refuse what this leash may not do.
    pub(crate) fn resolve(request: &Request) -> Result<Confinement, Error> {
        let identity = identity(request)?;
        let chdir = request
            .chdir
            .as_ref()
            .map(|dir| {
                CString::new(dir.clone().into_os_string().into_vec()).map_err(|_| UsageError::Nul {
                    flag: Some("--chdir"),
                    path: dir.clone(),
                })
            })
            .transpose()?;
        let mut keep_fds = request.keep_fds.clone();
        keep_fds.sort_unstable();
        keep_fds.dedup();
        Ok(Confinement {
            identity,
            no_new_privs: !request.allow_new_privs,
            keep_fds,
            keep_all_fds: request.keep.all_fds,
            chdir,
            umask: request.umask,
            nice: request.nice,
        })
    }

    /// The directory `--chdir` asked for, for messages.
    pub(crate) fn directory(&self) -> Option<&std::ffi::CStr> {
        self.chdir.as_deref()
    }

    /// Niceness, in the child: before the identity changes (lowering it needs privilege).
    pub(crate) fn apply_nice(&self) -> Result<(), (Failure, Errno)> {
        if let Some(nice) = self.nice {
            Errno::clear();
            // SAFETY: nice(2) is an async-signal-safe system call.
            let result = unsafe { nix::libc::nice(nice) };
            if result == -1 && Errno::last_raw() != 0 {
                return Err((Failure::Nice, Errno::last()));
            }
        }
        Ok(())
    }

    /// The rest, in the child, after the rlimits: identity, umask, directory,
    /// `no_new_privs`, and closing every descriptor above 2 except the kept ones and
    /// leash's own in `also_keep` (close-on-exec: the report pipe, the Landlock ruleset).
    pub(crate) fn apply(&self, also_keep: &[RawFd]) -> Result<(), (Failure, Errno)> {
        if let Some((uid, gid)) = self.identity {
            let groups = [gid.as_raw()];
            // SAFETY: setgroups, setgid and setuid are async-signal-safe system calls;
            // `groups` lives across the call.
            let failed = unsafe {
                nix::libc::setgroups(1, groups.as_ptr()) != 0
                    || nix::libc::setgid(gid.as_raw()) != 0
                    || nix::libc::setuid(uid.as_raw()) != 0
            };
            if failed {
                return Err((Failure::Identity, Errno::last()));
            }
        }
        if let Some(mask) = self.umask {
            // SAFETY: umask(2) cannot fail and is async-signal-safe.
            unsafe { nix::libc::umask(mask) };
        }
        if let Some(dir) = &self.chdir {
            // SAFETY: chdir(2) on a NUL-terminated path prepared before the fork.
            if unsafe { nix::libc::chdir(dir.as_ptr()) } != 0 {
                return Err((Failure::Directory, Errno::last()));
            }
        }
        if self.no_new_privs {
            // SAFETY: prctl(2) with integer arguments.
            if unsafe { nix::libc::prctl(nix::libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err((Failure::NoNewPrivs, Errno::last()));
            }
        }
        self.close_inherited(also_keep);
        Ok(())
    }

    /// Close descriptors 3 and up, but the kept ones and `also_keep`.
    fn close_inherited(&self, also_keep: &[RawFd]) {
        if self.keep_all_fds {
            return;
        }
        let mut keep = [RawFd::MAX; 64];
        let mut count = 0;
        for &fd in self.keep_fds.iter().chain(also_keep) {
            if count < keep.len() && fd > 2 {
                keep[count] = fd;
                count += 1;
            }
        }
        let keep = &mut keep[..count];
        keep.sort_unstable();
        let mut from: u32 = 3;
        for &fd in keep.iter() {
            let fd = u32::try_from(fd).unwrap_or(u32::MAX);
            if fd > from {
                close_range(from, fd - 1);
            }
            from = fd.saturating_add(1);
        }
        close_range(from, u32::MAX);
    }
}

fn close_range(first: u32, last: u32) {
    // SAFETY: close_range(2) only closes descriptors; async-signal-safe.
    unsafe { nix::libc::syscall(nix::libc::SYS_close_range, first, last, 0) };
}

/// The uid and gid `--user` and `--group` ask for; only root may ask.
fn identity(request: &Request) -> Result<Option<(Uid, Gid)>, Error> {
    if request.user.is_none() && request.group.is_none() {
        return Ok(None);
    }
    let flag = if request.user.is_some() {
        "--user"
    } else {
        "--group"
    };
    if !nix::unistd::geteuid().is_root() {
        return Err(UsageError::NotRoot { flag }.into());
    }
    let user = request.user.as_deref().map(lookup_user).transpose()?;
    let gid = match (&request.group, &user) {
        (Some(group), _) => lookup_group(group)?,
        (None, Some(user)) => user.1,
        (None, None) => nix::unistd::getgid(),
    };
    let uid = user.map_or_else(nix::unistd::getuid, |user| user.0);
    Ok(Some((uid, gid)))
}

fn lookup_user(name: &str) -> Result<(Uid, Gid), Error> {
    if let Ok(uid) = name.parse::<u32>() {
        let uid = Uid::from_raw(uid);
        let gid = accounts::primary_group(uid).unwrap_or(Gid::from_raw(uid.as_raw()));
        return Ok((uid, gid));
    }
    match accounts::user_named(name) {
        Ok(Some(user)) => Ok((user.uid, user.gid)),
        Ok(None) => Err(UsageError::NoSuchIdentity {
            flag: "--user",
            name: name.to_string(),
        }
        .into()),
        Err(errno) => Err(UsageError::Lookup {
            flag: "--user",
            name: name.to_string(),
            errno,
        }
        .into()),
    }
}

fn lookup_group(name: &str) -> Result<Gid, Error> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(Gid::from_raw(gid));
    }
    match accounts::group_named(name) {
        Ok(Some(group)) => Ok(group.gid),
        Ok(None) => Err(UsageError::NoSuchIdentity {
            flag: "--group",
            name: name.to_string(),
        }
        .into()),
        Err(errno) => Err(UsageError::Lookup {
            flag: "--group",
            name: name.to_string(),
            errno,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_new_privs_is_the_default() {
        let confinement = Confinement::resolve(&Request::default()).unwrap();
        assert!(confinement.no_new_privs);
        assert!(confinement.identity.is_none());
    }
}
