//! One cgroup directory: its members, freezing, killing everything in it, removing it.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::machine::error::{CgroupError, Error};

use super::Version;

/// How long freezing, emptying and removing may take before leash goes on without it.
const PATIENCE: Duration = Duration::from_secs(2);

/// A cgroup directory leash made (or found left over by another leash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CgroupDir {
    pub(crate) version: Version,
    pub(crate) path: PathBuf,
}

impl CgroupDir {
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether this is a v1 pids cgroup that saw forks refused at an enclosing limit, never
    /// at its own: v1 counts such a refusal only here.
    pub(crate) fn holds_an_enclosing_refusal(&self) -> bool {
        let number = |name: &str| {
            let text = fs::read_to_string(self.file(name)).ok()?;
            let text = text.trim();
            if text == "max" {
                Some(u64::MAX)
            } else {
                text.parse().ok()
            }
        };
        self.version == Version::V1
            && keyed_value(&self.file("pids.events"), "max").is_some_and(|refused| refused > 0)
            && number("pids.peak")
                .zip(number("pids.max"))
                .is_some_and(|(peak, max)| peak < max)
    }

    /// Write `value` to one of the cgroup's files, which must exist (a missing file means
    /// the controller is not there, and leash must not pretend it is).
    pub(crate) fn write(&self, name: &str, value: &str) -> Result<(), Error> {
        fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.file(name))
            .and_then(|mut file| std::io::Write::write_all(&mut file, value.as_bytes()))
            .map_err(|error| {
                Error::Cgroup(CgroupError::Write {
                    value: value.to_string(),
                    file: self.file(name),
                    error,
                })
            })
    }

    /// The processes in the cgroup now that leash can see. The kernel lists a member
    /// outside leash's PID namespace as 0, and kill(0) would signal leash's own process
    /// group: such members are left out. Those in the cgroups below it count: a nested
    /// leash's session is this one's too.
    pub(crate) fn members(&self) -> Vec<Pid> {
        self.subtree()
            .iter()
            .flat_map(CgroupDir::own_members)
            .collect()
    }

    /// The processes in this very cgroup (not in those below it), as [`Self::members`] sees
    /// them: what the kernel's "no internal processes" rule counts.
    pub(crate) fn own_members(&self) -> Vec<Pid> {
        fs::read_to_string(self.file("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .filter(|&pid: &i32| pid > 0)
            .map(Pid::from_raw)
            .collect()
    }

    /// The cgroup and every cgroup below it (a nested leash's, made inside the session),
    /// the deepest first.
    fn subtree(&self) -> Vec<CgroupDir> {
        let mut below: Vec<CgroupDir> = fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .flat_map(|entry| {
                CgroupDir {
                    version: self.version,
                    path: entry.path(),
                }
                .subtree()
            })
            .collect();
        below.push(self.clone());
        below
    }

    /// Whether this kind of cgroup can be frozen here.
    pub(crate) fn can_freeze(&self) -> bool {
        match self.version {
            Version::V2 => self.file("cgroup.freeze").exists(),
            Version::V1 => self.file("freezer.state").exists(),
        }
    }

    /// Freeze every process in the cgroup (they cannot fork or run meanwhile), and wait
    /// until the kernel says they are. Returns whether they are.
    pub(crate) fn freeze(&self) -> bool {
        let done = match self.version {
            Version::V2 => self.write("cgroup.freeze", "1"),
            Version::V1 => self.write("freezer.state", "FROZEN"),
        };
        done.is_ok() && self.wait_until(CgroupDir::is_frozen)
    }

    /// Let the processes run again.
    pub(crate) fn thaw(&self) {
        let _ = match self.version {
            Version::V2 => self.write("cgroup.freeze", "0"),
            Version::V1 => self.write("freezer.state", "THAWED"),
        };
    }

    fn is_frozen(&self) -> bool {
        match self.version {
            Version::V2 => keyed_value(&self.file("cgroup.events"), "frozen") == Some(1),
            Version::V1 => fs::read_to_string(self.file("freezer.state"))
                .is_ok_and(|state| state.trim() == "FROZEN"),
        }
    }

    /// SIGKILL every process in the cgroup: at once with cgroup.kill (v2, Linux 5.14), or
    /// frozen and killed one by one, so none can fork meanwhile. Returns the processes
    /// that were in it.
    pub(crate) fn kill_all(&self) -> Vec<Pid> {
        let members = self.members();
        if members.is_empty() {
            return members;
        }
        if self.version == Version::V2 && self.write("cgroup.kill", "1").is_ok() {
            return members;
        }
        let frozen = self.can_freeze() && self.freeze();
        let mut killed = members;
        loop {
            let now = self.members();
            let fresh: Vec<Pid> = now
                .iter()
                .filter(|p| !killed.contains(p))
                .copied()
                .collect();
            for &pid in &now {
                let _ = kill(pid, Signal::SIGKILL);
            }
            killed.extend(fresh.iter());
            // Frozen, one pass is enough; else repeat until a pass finds nobody new.
            if frozen || fresh.is_empty() {
                break;
            }
        }
        if frozen {
            self.thaw();
        }
        killed
    }

    /// Lock the directory (flock, exclusive), unless someone holds it: a live supervisor
    /// holds its session's lock for its whole life, and the lock goes with it however it
    /// dies. Unlike a PID, a lock means the same in every PID namespace.
    pub(crate) fn lock(&self) -> Option<Flock<fs::File>> {
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_DIRECTORY)
            .open(&self.path)
            .ok()?;
        Flock::lock(dir, FlockArg::LockExclusiveNonblock).ok()
    }

    /// Whether no process is left in the cgroup.
    pub(crate) fn is_empty(&self) -> bool {
        self.members().is_empty()
    }

    /// The sum of `key`'s count in the `file` (`pids.events`, `memory.oom_control`) of
    /// this cgroup and of every cgroup below it: what cgroup v1 counts in each apart.
    pub(super) fn count_below(&self, file: &str, key: &str) -> u64 {
        self.subtree()
            .iter()
            .filter_map(|dir| fs::read_to_string(dir.file(file)).ok())
            .filter_map(|text| keyed(&text, key))
            .sum()
    }

    /// Remove the cgroup, and any left below it (by a nested leash that was killed), once
    /// they are empty; waits a little for dying processes to leave.
    pub(crate) fn remove(&self) -> Result<(), Error> {
        // Most often empty and with no cgroup below: then one rmdir, and no read of it.
        match fs::remove_dir(&self.path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(_) => {}
        }
        let deadline = Instant::now() + PATIENCE;
        for dir in self.subtree() {
            dir.remove_one(deadline)?;
        }
        Ok(())
    }

    /// Remove this one directory, waiting until `deadline` while it is busy.
    fn remove_one(&self, deadline: Instant) -> Result<(), Error> {
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                // Busy while its last processes are still exiting.
                Err(e)
                    if e.raw_os_error() == Some(nix::libc::EBUSY) && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(error) => {
                    return Err(Error::Cgroup(CgroupError::Remove {
                        path: self.path.clone(),
                        error,
                    }));
                }
            }
        }
    }

    /// Wait (briefly) until `ready` holds.
    fn wait_until(&self, ready: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + PATIENCE;
        while !ready(self) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        true
    }
}

/// The number after `key` in a `key value` per line file (memory.events, pids.events,
/// cpu.stat, memory.oom_control, cgroup.events).
pub(crate) fn keyed_value(file: &Path, key: &str) -> Option<u64> {
    keyed(&fs::read_to_string(file).ok()?, key)
}

/// The number after `key` in a `key value` per line text.
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_files_are_read_by_key() {
        let events = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(keyed(events, "oom_kill"), Some(1));
        assert_eq!(keyed(events, "max"), Some(12));
        assert_eq!(keyed(events, "oom"), Some(1));
        assert_eq!(keyed(events, "missing"), None);
    }

    #[test]
    fn members_outside_the_pid_namespace_are_never_signalled() {
        let fake = tempfile::tempdir().unwrap();
        let dir = CgroupDir {
            version: Version::V1,
            path: fake.path().to_path_buf(),
        };
        fs::write(dir.file("cgroup.procs"), "0\n2147483647\n0\n").unwrap();
        assert_eq!(dir.members(), vec![Pid::from_raw(i32::MAX)]);
    }

    #[test]
    fn a_fake_v2_cgroup_is_killed_with_cgroup_kill() {
        let fake = tempfile::tempdir().unwrap();
        let dir = CgroupDir {
            version: Version::V2,
            path: fake.path().join("leash-1-2"),
        };
        fs::create_dir(&dir.path).unwrap();
        // A PID that cannot exist, so no real process is signalled.
        fs::write(dir.file("cgroup.procs"), "2147483647\n").unwrap();
        fs::write(dir.file("cgroup.kill"), "").unwrap();
        assert_eq!(dir.kill_all(), vec![Pid::from_raw(i32::MAX)]);
        assert_eq!(fs::read_to_string(dir.file("cgroup.kill")).unwrap(), "1");
    }
}
