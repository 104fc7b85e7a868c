//! Whether a cgroup directory that a registry entry names is that session's own, by the
//! kernel's view rather than the entry's word: what `leashctl` checks before it freezes,
//! thaws or kills through a directory another user may have written into an entry.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, statfs};
use nix::unistd::Pid;

use super::Version;
use super::detect::cgroup_in;
use super::dir::CgroupDir;
use super::session::supervisor_name;
use super::stale::session_name;

/// What the session's supervisor is: the process that made the cgroup.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Maker {
    /// Its PID and start time, as its entry's file name says (these name its cgroup).
    pub(crate) pid: Pid,
    pub(crate) start_time: u64,
    /// The user it runs as, who owns the directories it made.
    pub(crate) uid: u32,
    /// It still runs: its own cgroup, which the session's lies below, can be read.
    pub(crate) alive: bool,
}

/// Whether `dir` is the session cgroup `maker` made: a directory of a cgroup file system
/// reached through no symlink, named after the maker (`leash-PID-START`), owned by its
/// user and, while the maker runs, directly below the maker's own cgroup in that hierarchy
/// (as `/proc/PID/cgroup` says, for the first of `controllers` under cgroup v1).
pub(crate) fn made_by(dir: &CgroupDir, controllers: &[String], maker: Maker) -> bool {
    let name = session_name(maker.pid, maker.start_time);
    let path = &dir.path;
    let named = path.file_name().is_some_and(|n| *n == *name);
    let real = std::fs::canonicalize(path).is_ok_and(|real| real == *path);
    let owned = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir() && m.uid() == maker.uid);
    let cgroup_fs = statfs(path).is_ok_and(|fs| {
        let kind = fs.filesystem_type();
        match dir.version {
            Version::V2 => kind == CGROUP2_SUPER_MAGIC,
            Version::V1 => kind == CGROUP_SUPER_MAGIC,
        }
    });
    named
        && real
        && owned
        && cgroup_fs
        && (!maker.alive || below_makers_own(path, &name, dir.version, controllers, maker.pid))
}

/// Whether `path`'s parent is the maker's cgroup (or the parent of the leaf the maker
/// moved into, `NAME.supervisor`) in the hierarchy of `version` and `controllers`.
fn below_makers_own(
    path: &Path,
    name: &str,
    version: Version,
    controllers: &[String],
    maker: Pid,
) -> bool {
    let Some(text) = crate::machine::proc_view::read_proc(&format!("/proc/{maker}/cgroup")) else {
        return false;
    };
    let first = controllers.first();
    let Some(own) = cgroup_in(&text, version, |n| first.is_some_and(|c| c == n)) else {
        return false;
    };
    let own = Path::new(own);
    let own = if own
        .file_name()
        .is_some_and(|n| *n == *supervisor_name(name))
    {
        own.parent().unwrap_or(own)
    } else {
        own
    };
    let relative = own.strip_prefix("/").unwrap_or(own);
    path.parent()
        .is_some_and(|parent| parent.ends_with(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_processs_cgroup_is_read_per_hierarchy() {
        let text = "12:pids:/a/b\n4:cpu,cpuacct:/c\n0::/d/leash-1-2.supervisor\n";
        let v2 = cgroup_in(text, Version::V2, |_| false);
        assert_eq!(v2, Some("/d/leash-1-2.supervisor"));
        assert_eq!(cgroup_in(text, Version::V1, |n| n == "cpuacct"), Some("/c"));
        assert_eq!(cgroup_in(text, Version::V1, |_| false), None);
    }

    #[test]
    fn a_directory_outside_a_cgroup_file_system_is_no_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let me = Pid::this();
        let start_time = crate::machine::tree::start_time(me).unwrap();
        let path = dir.path().join(session_name(me, start_time));
        std::fs::create_dir(&path).unwrap();
        let maker = Maker {
            pid: me,
            start_time,
            uid: nix::unistd::geteuid().as_raw(),
            alive: false,
        };
        let dir = CgroupDir {
            version: Version::V2,
            path,
        };
        assert!(!made_by(&dir, &[], maker), "a temporary directory");
    }
}
