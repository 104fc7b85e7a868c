//! Session cgroups whose leash is gone (it was SIGKILLed, or the machine's OOM killer
//! took it): found by the next leash started from the same cgroup, and stopped. A session
//! is stale when the PID and start time in its name name no live process here and no
//! live supervisor holds its directory's lock (a leash in another PID namespace does).

use std::fs;

use nix::unistd::Pid;

use super::Hierarchy;
use super::dir::CgroupDir;
use crate::machine::tree::start_time;

/// The name of the session cgroup of the leash with this PID and start time.
pub(crate) fn session_name(pid: Pid, started: u64) -> String {
    format!("leash-{pid}-{started}")
}

/// The PID and start time in a session cgroup's name (or its supervisor leaf's).
fn owner(name: &str) -> Option<(Pid, u64)> {
    let name = name.strip_suffix(".supervisor").unwrap_or(name);
    let (pid, started) = name.strip_prefix("leash-")?.split_once('-')?;
    Some((Pid::from_raw(pid.parse().ok()?), started.parse().ok()?))
}

/// Whether `dir` sits inside another leash's session cgroup.
pub(super) fn nested(dir: &CgroupDir) -> bool {
    dir.path
        .parent()
        .and_then(std::path::Path::file_name)
        .is_some_and(|parent| owner(&parent.to_string_lossy()).is_some())
}

/// A stale session that was stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StaleSession {
    /// The cgroup's name (`leash-PID-START`).
    pub(crate) name: String,
    /// Processes that were still running in it.
    pub(crate) killed: usize,
    /// Why it could not be removed, if it could not.
    pub(crate) left: Option<String>,
}

/// What stopping an orphaned session's cgroup did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Orphan {
    /// Processes that were still running in it (the most any one directory held).
    pub(crate) killed: usize,
    /// Why a directory could not be removed, if one could not.
    pub(crate) left: Option<String>,
}

/// Stop a session no supervisor runs, through its cgroup `dirs` (one per hierarchy):
/// every process in them killed, and, with `remove`, the directories removed. The one
/// way to stop an orphaned session: the next leash does it for a dead one's cgroup,
/// `leashctl stop` for a session whose supervisor is gone or stopped.
pub(crate) fn stop_orphaned(dirs: &[CgroupDir], remove: bool) -> Orphan {
    let killed = dirs
        .iter()
        .map(|dir| dir.kill_all().len())
        .max()
        .unwrap_or(0);
    let left = remove
        .then(|| dirs.iter().find_map(|dir| dir.remove().err()))
        .flatten()
        .map(|e| e.to_string());
    Orphan { killed, left }
}

/// Kill whatever runs in session cgroups below `hierarchies` whose leash no longer
/// exists, and remove them.
pub(crate) fn stop_stale_sessions(hierarchies: &[Hierarchy]) -> Vec<StaleSession> {
    let is_alive = |(pid, started): (Pid, u64)| start_time(pid) == Some(started);
    let mut stopped: Vec<StaleSession> = Vec::new();
    for hierarchy in hierarchies {
        let Ok(entries) = fs::read_dir(&hierarchy.parent) else {
            continue;
        };
        for entry in entries.flatten() {
            // The name first: it costs no system call, and most entries are files.
            let name = entry.file_name().to_string_lossy().into_owned();
            if owner(&name).is_none_or(is_alive) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let dir = CgroupDir {
                version: hierarchy.version,
                path: entry.path(),
            };
            // Its PID names no process here, but its supervisor may live in another PID
            // namespace: then it holds the directory's lock.
            let Some(_stale) = dir.lock() else {
                continue;
            };
            if name.ends_with(".supervisor") {
                // Where a dead leash sat: empty, nothing to report.
                let _ = dir.remove();
                continue;
            }
            let Orphan { killed, left } = stop_orphaned(&[dir], true);
            match stopped.iter_mut().find(|s| s.name == name) {
                Some(same) => {
                    same.killed = same.killed.max(killed);
                    same.left = same.left.take().or(left);
                }
                None => stopped.push(StaleSession { name, killed, left }),
            }
        }
    }
    stopped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_carry_pid_and_start_time() {
        let name = session_name(Pid::from_raw(1234), 98765);
        assert_eq!(name, "leash-1234-98765");
        assert_eq!(owner(&name), Some((Pid::from_raw(1234), 98765)));
        assert_eq!(owner("leash-test-1"), None);
        assert_eq!(owner("user.slice"), None);
    }

    #[test]
    fn only_sessions_of_dead_leashes_are_stale() {
        let fake = tempfile::tempdir().unwrap();
        let me = Pid::this();
        let mine = session_name(me, start_time(me).unwrap());
        // Same PID, other start time: an earlier leash that had this PID.
        let dead = session_name(me, 1);
        let leaf = format!("{dead}.supervisor");
        for name in [&mine, &dead, &leaf, &"unrelated".to_string()] {
            fs::create_dir(fake.path().join(name)).unwrap();
        }
        let hierarchy = Hierarchy {
            version: super::super::Version::V1,
            parent: fake.path().to_path_buf(),
            controllers: Vec::new(),
            enabled: Vec::new(),
        };
        let stopped = stop_stale_sessions(&[hierarchy]);
        assert_eq!(stopped.len(), 1);
        assert_eq!(
            (stopped[0].name.as_str(), stopped[0].killed),
            (dead.as_str(), 0)
        );
        assert!(stopped[0].left.is_none());
        assert!(fake.path().join(&mine).exists());
        assert!(!fake.path().join(&dead).exists());
        // The dead leash's own leaf goes too, without a word.
        assert!(!fake.path().join(&leaf).exists());
    }
}
