//! The session's own cgroup: made before the command runs (one directory per hierarchy
//! used), limits written, entered by the child before exec, read while the session runs,
//! killed and removed at its end.

use std::fs;
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::unistd::Pid;

use super::dir::CgroupDir;
use super::gauges::{Gauges, Reading};
use super::limits::{KernelLimits, set_limits};
use super::{Controller, Hierarchy, Job, Placement, Version};
use crate::machine::error::{CgroupError, Error};

/// How the child enters the session's cgroup.
#[derive(Clone, Debug, Default)]
pub(crate) struct CgroupEntry {
    /// A cgroup v2 directory the child is created in (clone3 with CLONE_INTO_CGROUP: no
    /// migration, which costs the kernel an RCU grace period), and that directory's
    /// cgroup.procs for a kernel that cannot (before Linux 5.7).
    pub(crate) born_into: Option<BornInto>,
    /// Open `tasks` files the child writes itself into (cgroup v1).
    pub(crate) join: Vec<RawFd>,
}

/// A cgroup v2 directory to create the child in, open.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BornInto {
    /// The directory, for clone3.
    pub(crate) dir: RawFd,
    /// Its cgroup.procs, for the child to write itself into where clone3 cannot.
    pub(crate) procs: RawFd,
}

/// The session's cgroup, one directory per hierarchy it uses.
#[derive(Debug)]
pub(crate) struct SessionCgroup {
    dirs: Vec<CgroupDir>,
    /// What the cgroup does for the session, as planned.
    plan: Placement,
    /// Where the child writes itself into each directory, open: v1's `tasks`, v2's
    /// cgroup.procs.
    entries: Vec<OwnedFd>,
    /// The v2 directory, open for clone3 to create the child in.
    v2_dir: Option<OwnedFd>,
    /// The files the usage is read from, opened on first use: opening them costs a tenth
    /// of a millisecond, which the session's start need not wait for.
    gauges: std::cell::OnceCell<Gauges>,
    /// Each directory's lock, held for the session's life: it tells a later leash, in any
    /// PID namespace, that this session's supervisor lives (see `stale`).
    locks: Vec<nix::fcntl::Flock<fs::File>>,
    /// Set once every directory is removed.
    removed: std::cell::Cell<bool>,
}

impl SessionCgroup {
    /// Make the session cgroup `name` as `plan` says and write `limits` into it. On error
    /// nothing is left behind.
    pub(crate) fn create(
        plan: &Placement,
        name: &str,
        limits: &KernelLimits,
    ) -> Result<Self, Error> {
        let mut made = SessionCgroup {
            dirs: Vec::new(),
            plan: plan.clone(),
            entries: Vec::new(),
            v2_dir: None,
            gauges: std::cell::OnceCell::new(),
            locks: Vec::new(),
            removed: std::cell::Cell::new(false),
        };
        for planned in &plan.hierarchies {
            let dir = make_dir(&planned.hierarchy, &planned.controllers, name)?;
            made.dirs.push(dir.clone());
            made.locks.extend(dir.lock());
            set_limits(&dir, &planned.controllers, limits)?;
            let entry_file = dir.file(dir.version.entry_file());
            let entry = fs::OpenOptions::new()
                .write(true)
                .custom_flags(nix::libc::O_CLOEXEC)
                .open(&entry_file)
                .map_err(|error| CgroupError::Open {
                    path: entry_file,
                    error,
                })?;
            made.entries.push(entry.into());
            if dir.version == Version::V2 {
                let opened = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_DIRECTORY)
                    .open(&dir.path)
                    .map_err(|error| CgroupError::Open {
                        path: dir.path.clone(),
                        error,
                    })?;
                made.v2_dir = Some(opened.into());
            }
        }
        Ok(made)
    }

    /// How the child enters the cgroup: created in the v2 directory, and writing "0" into
    /// the `tasks` of the v1 directories before exec.
    pub(crate) fn entry(&self) -> CgroupEntry {
        let mut entry = CgroupEntry::default();
        for (dir, procs) in self.dirs.iter().zip(&self.entries) {
            match (dir.version, &self.v2_dir) {
                (Version::V2, Some(v2_dir)) => {
                    entry.born_into = Some(BornInto {
                        dir: v2_dir.as_raw_fd(),
                        procs: procs.as_raw_fd(),
                    });
                }
                _ => entry.join.push(procs.as_raw_fd()),
            }
        }
        entry
    }

    /// The directory that does `job`.
    fn dir_of(&self, job: Job) -> Option<&CgroupDir> {
        self.dirs.get(self.plan.index_of(job)?)
    }

    /// The directory that holds the session for stopping it: v2, or a v1 freezer.
    fn container(&self) -> Option<&CgroupDir> {
        self.dir_of(Job::Contain)
    }

    /// Every process in the session's cgroups now.
    pub(crate) fn members(&self) -> Vec<Pid> {
        let mut all: Vec<Pid> = self.dirs.iter().flat_map(CgroupDir::members).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Freeze the session; returns whether it is frozen.
    pub(crate) fn freeze(&self) -> bool {
        self.container()
            .is_some_and(|dir| dir.can_freeze() && dir.freeze())
    }

    /// Let a frozen session run again.
    pub(crate) fn thaw(&self) {
        if let Some(dir) = self.container() {
            dir.thaw();
        }
    }

    /// SIGKILL every process of the session; returns those that were in it.
    pub(crate) fn kill_all(&self) -> Vec<Pid> {
        let mut killed = match self.container() {
            Some(dir) => dir.kill_all(),
            None => Vec::new(),
        };
        // Hierarchies other than the container's hold the same processes, unless one was
        // moved out of it: kill whatever any of them still holds.
        for dir in &self.dirs {
            if !dir.is_empty() {
                killed.extend(dir.kill_all());
            }
        }
        killed.sort_unstable();
        killed.dedup();
        killed
    }

    /// Remove every directory of the session's cgroup (each must be empty by now).
    pub(crate) fn remove(&self) -> Result<(), Error> {
        let mut failed = Vec::new();
        // A nested session's record of an enclosing limit's refusal stays for the
        // enclosing leash to count; it removes what is left below its own cgroup.
        let kept = |dir: &CgroupDir| super::stale::nested(dir) && dir.holds_an_enclosing_refusal();
        for dir in self.dirs.iter().filter(|dir| !kept(dir)) {
            if let Err(e) = dir.remove() {
                failed.push(e);
            }
        }
        if failed.is_empty() {
            self.removed.set(true);
            Ok(())
        } else {
            Err(CgroupError::NotRemoved(failed).into())
        }
    }

    /// What the cgroup counts now.
    pub(crate) fn read(&self) -> Reading {
        self.gauges().read()
    }

    /// The files the usage is read from, open.
    pub(crate) fn gauges(&self) -> &Gauges {
        self.gauges
            .get_or_init(|| Gauges::open(|job| self.dir_of(job)))
    }

    /// Each directory, with the controllers the session uses in it.
    pub(crate) fn directories(&self) -> impl Iterator<Item = (&CgroupDir, &[Controller])> {
        self.dirs
            .iter()
            .zip(&self.plan.hierarchies)
            .map(|(dir, planned)| (dir, planned.controllers.as_slice()))
    }

    /// The plan the cgroup was made from (which hierarchy does what).
    pub(crate) fn plan(&self) -> &Placement {
        &self.plan
    }
}

impl Drop for SessionCgroup {
    /// A session cgroup never outlives leash when it can be helped: whatever is left in
    /// it is killed and the directories removed (the stale-session sweep of the next
    /// leash covers a leash that could not get here).
    fn drop(&mut self) {
        if self.removed.get() {
            return;
        }
        if !self.members().is_empty() {
            self.kill_all();
        }
        let _ = self.remove();
    }
}

/// Make the session's directory in `hierarchy`, enabling the controllers it needs (v2).
fn make_dir(
    hierarchy: &Hierarchy,
    controllers: &[Controller],
    name: &str,
) -> Result<CgroupDir, Error> {
    if hierarchy.version == Version::V2 {
        let wanted: Vec<String> = controllers
            .iter()
            .filter(|c| !hierarchy.enabled.contains(c))
            .map(|c| format!("+{}", c.name()))
            .collect();
        if !wanted.is_empty() {
            enable_controllers(&hierarchy.parent, &wanted.join(" "), name)?;
        }
    }
    let dir = CgroupDir {
        version: hierarchy.version,
        path: hierarchy.parent.join(name),
    };
    match fs::create_dir(&dir.path) {
        // The name holds leash's PID and start time: an existing one can only be ours.
        Err(error) if error.kind() != ErrorKind::AlreadyExists => Err(CgroupError::Create {
            path: dir.path,
            error,
        }
        .into()),
        _ => Ok(dir),
    }
}

/// Enable `controllers` (`+memory +pids`) for the children of the v2 cgroup `parent`.
///
/// The kernel refuses while `parent` holds processes ("no internal processes"): in a
/// delegated scope made for leash (`systemd-run --user --scope leash ...`) the only one
/// is leash itself, so leash moves into a leaf of its own, `NAME.supervisor`, and tries
/// again. That leaf stays until leash has exited (a process cannot remove its own
/// cgroup); the next leash removes it with the stale sessions.
fn enable_controllers(parent: &Path, controllers: &str, name: &str) -> Result<(), Error> {
    let parent = CgroupDir {
        version: Version::V2,
        path: parent.to_path_buf(),
    };
    let Err(refused) = parent.write("cgroup.subtree_control", controllers) else {
        return Ok(());
    };
    if parent.own_members() != [Pid::this()] {
        return Err(refused);
    }
    let leaf = CgroupDir {
        version: Version::V2,
        path: parent.file(&supervisor_name(name)),
    };
    let moved = fs::create_dir(&leaf.path)
        .map_err(|error| {
            Error::Cgroup(CgroupError::Create {
                path: leaf.path.clone(),
                error,
            })
        })
        .and_then(|()| leaf.write("cgroup.procs", "0"));
    let enabled = moved.and_then(|()| parent.write("cgroup.subtree_control", controllers));
    if let Err(e) = enabled {
        // Back where leash was, as if nothing had happened.
        let _ = parent.write("cgroup.procs", "0");
        let _ = leaf.remove();
        return Err(CgroupError::NotEnabled {
            refused: Box::new(refused),
            then: Box::new(e),
        }
        .into());
    }
    Ok(())
}

/// The leaf cgroup that leash moves itself into to enable controllers for `name`.
pub(crate) fn supervisor_name(name: &str) -> String {
    format!("{name}.supervisor")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A fake cgroup v2 delegated scope with memory, pids and cpu, and the session's
    /// directory as the kernel would fill it.
    fn fake_v2(root: &std::path::Path) -> (Hierarchy, std::path::PathBuf) {
        let parent = root.join("app.slice/run-u7.scope");
        let session = parent.join("leash-42-7");
        fs::create_dir_all(&session).unwrap();
        for (file, text) in [("cgroup.subtree_control", ""), ("cgroup.procs", "")] {
            fs::write(parent.join(file), text).unwrap();
        }
        for (file, text) in [
            ("cgroup.procs", ""),
            ("cgroup.kill", ""),
            ("cgroup.freeze", "0\n"),
            ("cgroup.events", "populated 1\nfrozen 0\n"),
            ("memory.max", "max\n"),
            ("memory.swap.max", "max\n"),
            ("memory.peak", "268435456\n"),
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
            ("pids.max", "max\n"),
            ("pids.current", "12\n"),
            ("pids.peak", "64\n"),
            ("pids.events", "max 5\n"),
            ("cpu.max", "max 100000\n"),
            (
                "cpu.stat",
                "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
            ),
        ] {
            fs::write(session.join(file), text).unwrap();
        }
        let hierarchy = Hierarchy {
            version: Version::V2,
            parent,
            controllers: vec![Controller::Memory, Controller::Pids, Controller::Cpu],
            enabled: vec![Controller::Memory],
        };
        (hierarchy, session)
    }

    #[test]
    fn v2_limits_are_written_and_controllers_enabled() {
        let fake = tempfile::tempdir().unwrap();
        let (hierarchy, session) = fake_v2(fake.path());
        let jobs = [
            Job::Contain,
            Job::Memory,
            Job::Pids,
            Job::CpuTime,
            Job::CpuRate,
        ];
        let plan = Placement::make(std::slice::from_ref(&hierarchy), &jobs, true);
        assert!(plan.missing.is_empty());
        let limits = KernelLimits {
            memory: Some(256 << 20),
            tasks: Some(64),
            cpu_rate: Some(0.5),
        };
        let cgroup = SessionCgroup::create(&plan, "leash-42-7", &limits).unwrap();
        let read = |file: &str| fs::read_to_string(session.join(file)).unwrap();
        assert_eq!(read("memory.max"), "268435456");
        assert_eq!(read("memory.swap.max"), "0");
        assert_eq!(read("pids.max"), "64");
        assert_eq!(read("cpu.max"), "50000 100000");
        // memory was enabled already; the others had to be.
        assert_eq!(
            fs::read_to_string(hierarchy.parent.join("cgroup.subtree_control")).unwrap(),
            "+pids +cpu"
        );
        let entry = cgroup.entry();
        assert!(entry.born_into.is_some() && entry.join.is_empty());
        assert_eq!(
            cgroup.read(),
            Reading {
                oom_kills: 1,
                memory_peak: Some(256 << 20),
                memory: None,
                tasks: Some(12),
                tasks_peak: Some(64),
                refused_forks: 5,
                cpu: Some(Duration::from_millis(2500)),
            }
        );
        // An empty session: nothing to kill.
        drop(cgroup);
        assert_eq!(read("cgroup.kill"), "");
    }

    #[test]
    fn a_missing_controller_file_is_an_error_not_a_silent_no_op() {
        let fake = tempfile::tempdir().unwrap();
        let (hierarchy, session) = fake_v2(fake.path());
        fs::remove_file(session.join("pids.max")).unwrap();
        let plan = Placement::make(&[hierarchy], &[Job::Contain, Job::Pids], true);
        let limits = KernelLimits {
            tasks: Some(64),
            ..KernelLimits::default()
        };
        let error = SessionCgroup::create(&plan, "leash-42-7", &limits)
            .unwrap_err()
            .to_string();
        assert!(error.contains("pids.max"), "{error}");
    }

    #[test]
    fn a_refused_enabling_leaves_nothing_behind() {
        let fake = tempfile::tempdir().unwrap();
        let (hierarchy, _) = fake_v2(fake.path());
        // The kernel refuses to enable controllers; here, the file cannot be written at all.
        let control = hierarchy.parent.join("cgroup.subtree_control");
        fs::remove_file(&control).unwrap();
        fs::create_dir(&control).unwrap();
        // leash is alone in its cgroup, so it tries moving itself into a leaf first.
        fs::write(
            hierarchy.parent.join("cgroup.procs"),
            format!("{}\n", Pid::this()),
        )
        .unwrap();
        let plan = Placement::make(
            std::slice::from_ref(&hierarchy),
            &[Job::Contain, Job::Pids],
            true,
        );
        let error = SessionCgroup::create(&plan, "leash-42-7", &KernelLimits::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("after leash moved out of the way"),
            "{error}"
        );
        assert!(!hierarchy.parent.join("leash-42-7.supervisor").exists());
    }
}
