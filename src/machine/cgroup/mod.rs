//! cgroups: finding a writable place for the session's cgroup, deciding which hierarchy
//! enforces which limit, and running the session's cgroup (see `session`).
//!
//! leash makes its session cgroups below the cgroup it runs in, in each hierarchy it uses:
//! cgroup v2 (the unified hierarchy: cgroup.kill, cgroup.freeze, cpu.stat, and whatever
//! controllers the parent delegates) and cgroup v1 hierarchies (memory, pids, cpuacct,
//! cpu, freezer), each only where the parent is writable.

mod detect;
mod dir;
mod gauges;
mod limits;
mod session;
mod stale;
mod verify;

use std::fmt;
use std::path::PathBuf;

pub(crate) use detect::{detect, probe, probe_by_making};
pub(crate) use dir::CgroupDir;
pub(crate) use gauges::{Gauges, Reading};
pub(crate) use limits::KernelLimits;
pub(crate) use session::{BornInto, CgroupEntry, SessionCgroup};
pub(crate) use stale::{Orphan, session_name, stop_orphaned, stop_stale_sessions};
pub(crate) use verify::{Maker, made_by};

/// `--cgroup`: whether to use a cgroup for the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Mode {
    /// Use a cgroup where one is writable; fall back to supervision where not.
    #[default]
    Auto,
    /// Refuse to start unless a cgroup contains the session and enforces every requested
    /// memory, process and CPU limit.
    Require,
    /// Never use a cgroup.
    Off,
}

/// A controller leash knows how to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Controller {
    /// Memory use and its limit.
    Memory,
    /// Number of tasks and its limit.
    Pids,
    /// CPU bandwidth (throttling).
    Cpu,
    /// CPU time accounting (v1).
    Cpuacct,
    /// Freezing (v1; v2 has cgroup.freeze in every cgroup).
    Freezer,
}

impl Controller {
    const ALL: [Controller; 5] = [
        Controller::Memory,
        Controller::Pids,
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Freezer,
    ];

    /// The kernel's name of the controller.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Freezer => "freezer",
        }
    }

    fn named(name: &str) -> Option<Controller> {
        Controller::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// cgroup v1 or v2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// One hierarchy per controller (or a few co-mounted).
    V1,
    /// The unified hierarchy.
    V2,
}

impl Version {
    /// The file the child writes "0" into to enter a directory of this version. v1's `tasks`
    /// moves the writing thread alone, and the kernel skips cgroup_threadgroup_rwsem, whose
    /// taking waits for an RCU grace period (a lone fork joining v1: 2.6 ms against 7.9 ms
    /// through cgroup.procs). The child is single-threaded: its thread is all of it.
    pub(crate) fn entry_file(self) -> &'static str {
        match self {
            Version::V1 => "tasks",
            Version::V2 => "cgroup.procs",
        }
    }
}

/// One cgroup hierarchy and the writable cgroup in it where leash makes session cgroups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// v1 or v2.
    pub(crate) version: Version,
    /// The cgroup leash runs in, in this hierarchy.
    pub(crate) parent: PathBuf,
    /// Controllers a child of `parent` can have: a v1 hierarchy's own; for v2 those in the
    /// parent's cgroup.controllers (enabled for children when needed).
    pub(crate) controllers: Vec<Controller>,
    /// v2 only: the controllers already enabled in the parent's cgroup.subtree_control.
    pub(crate) enabled: Vec<Controller>,
}

impl Hierarchy {
    /// The hierarchy as it is, without enabling anything: for v2, only the controllers
    /// already enabled for children of the parent.
    #[must_use]
    pub(crate) fn enabled_only(mut self) -> Hierarchy {
        if self.version == Version::V2 {
            self.controllers.clone_from(&self.enabled);
        }
        self
    }

    fn has(&self, controller: Controller) -> bool {
        self.controllers.contains(&controller)
    }
}

/// What a cgroup can do for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Job {
    /// Hold every process of the session and stop them all at once.
    Contain,
    /// Enforce `--mem`.
    Memory,
    /// Enforce `--procs`.
    Pids,
    /// Count the session's CPU time exactly (`--cpu`).
    CpuTime,
    /// Throttle the session's CPU (`--cpu-rate`).
    CpuRate,
}

impl Job {
    /// The mechanism of `self` in a hierarchy of `version`, as `--explain` names it.
    pub(crate) fn mechanism(self, version: Version, kill_file: bool) -> &'static str {
        match (self, version) {
            (Job::Contain, Version::V2) if kill_file => "cgroup v2, stopped with cgroup.kill",
            (Job::Contain, Version::V2) => "cgroup v2, stopped with cgroup.freeze",
            (Job::Contain, Version::V1) => "cgroup v1 freezer",
            (Job::Memory, Version::V2) => "cgroup v2 memory.max (kernel), swap off",
            (Job::Memory, Version::V1) => "cgroup v1 memory.limit_in_bytes (kernel), swap off",
            (Job::Pids, Version::V2) => "cgroup v2 pids.max (kernel)",
            (Job::Pids, Version::V1) => "cgroup v1 pids.max (kernel)",
            (Job::CpuTime, Version::V2) => "cgroup v2 cpu.stat, checked by leash",
            (Job::CpuTime, Version::V1) => "cgroup v1 cpuacct.usage, checked by leash",
            (Job::CpuRate, Version::V2) => "cgroup v2 cpu.max (kernel)",
            (Job::CpuRate, Version::V1) => "cgroup v1 cpu.cfs_quota_us (kernel)",
        }
    }

    /// Whether a hierarchy can do this job.
    fn served_by(self, hierarchy: &Hierarchy) -> bool {
        match (self, hierarchy.version) {
            (Job::Contain | Job::CpuTime, Version::V2) => true,
            (Job::Contain, Version::V1) => hierarchy.has(Controller::Freezer),
            (Job::Memory, _) => hierarchy.has(Controller::Memory),
            (Job::Pids, _) => hierarchy.has(Controller::Pids),
            (Job::CpuTime, Version::V1) => hierarchy.has(Controller::Cpuacct),
            (Job::CpuRate, _) => hierarchy.has(Controller::Cpu),
        }
    }

    /// The controller the job needs in a hierarchy of `version`, if any.
    pub(crate) fn controller(self, version: Version) -> Option<Controller> {
        match (self, version) {
            (Job::Contain | Job::CpuTime, Version::V2) => None,
            (Job::Contain, Version::V1) => Some(Controller::Freezer),
            (Job::Memory, _) => Some(Controller::Memory),
            (Job::Pids, _) => Some(Controller::Pids),
            (Job::CpuTime, Version::V1) => Some(Controller::Cpuacct),
            (Job::CpuRate, _) => Some(Controller::Cpu),
        }
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Job::Contain => "containment (freezer or cgroup v2)",
            Job::Memory => "the memory controller",
            Job::Pids => "the pids controller",
            Job::CpuTime => "CPU accounting (cpuacct or cgroup v2)",
            Job::CpuRate => "the cpu controller",
        })
    }
}

/// A hierarchy the session cgroup is made in, and the controllers it must have there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    /// The hierarchy.
    pub(crate) hierarchy: Hierarchy,
    /// The controllers the session's directory in it needs.
    pub(crate) controllers: Vec<Controller>,
}

/// A job a cgroup does, and which of the plan's hierarchies does it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Assigned {
    /// The job.
    pub(crate) job: Job,
    /// The index of its hierarchy in [`Placement::hierarchies`].
    pub(crate) hierarchy: usize,
}

/// Which hierarchy does each job: cgroup v2 where it can, else v1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    /// The hierarchies to make the session cgroup in.
    pub(crate) hierarchies: Vec<Planned>,
    /// Each job that a cgroup does.
    pub(crate) jobs: Vec<Assigned>,
    /// Jobs asked for that no writable hierarchy can do.
    pub(crate) missing: Vec<Job>,
    /// Whether the kernel has cgroup.kill (5.14 and later).
    pub(crate) kill_file: bool,
}

impl Placement {
    /// Assign each of `jobs` to the first hierarchy of `available` that can do it (v2
    /// first).
    #[cfg(test)]
    pub(crate) fn make(available: &[Hierarchy], jobs: &[Job], kill_file: bool) -> Placement {
        Placement::probing(available, jobs, kill_file, |h| Some(h.clone()))
    }

    /// Assign each of `jobs` to the first hierarchy of `candidates` that can do it (v2
    /// first), among those that `probe` accepts (and may complete: a v2 hierarchy's
    /// controllers), probing each at most once and only when a job might need it.
    pub(crate) fn probing(
        candidates: &[Hierarchy],
        jobs: &[Job],
        kill_file: bool,
        probe: impl Fn(&Hierarchy) -> Option<Hierarchy>,
    ) -> Placement {
        let mut plan = Placement {
            kill_file,
            ..Placement::default()
        };
        let mut ordered: Vec<&Hierarchy> = candidates.iter().collect();
        ordered.sort_by_key(|h| h.version == Version::V1);
        let mut probed: Vec<Option<Option<Hierarchy>>> = vec![None; ordered.len()];
        for &job in jobs {
            // v1 controllers are known from the mount; v2's only from the probe.
            let found = (0..ordered.len()).find_map(|at| {
                let candidate = ordered[at];
                if candidate.version == Version::V1 && !job.served_by(candidate) {
                    return None;
                }
                let usable = probed[at]
                    .get_or_insert_with(|| probe(candidate))
                    .as_ref()?;
                job.served_by(usable).then(|| usable.clone())
            });
            let Some(hierarchy) = found else {
                plan.missing.push(job);
                continue;
            };
            let known = plan
                .hierarchies
                .iter()
                .position(|planned| planned.hierarchy.parent == hierarchy.parent);
            let index = known.unwrap_or_else(|| {
                plan.hierarchies.push(Planned {
                    hierarchy: hierarchy.clone(),
                    controllers: Vec::new(),
                });
                plan.hierarchies.len() - 1
            });
            if let Some(controller) = job.controller(hierarchy.version) {
                plan.hierarchies[index].controllers.push(controller);
            }
            plan.jobs.push(Assigned {
                job,
                hierarchy: index,
            });
        }
        plan
    }

    /// The hierarchy that does `job`, if a cgroup does it.
    pub(crate) fn hierarchy_of(&self, job: Job) -> Option<&Hierarchy> {
        Some(&self.hierarchies[self.index_of(job)?].hierarchy)
    }

    /// The index of the hierarchy that does `job`, if a cgroup does it.
    pub(crate) fn index_of(&self, job: Job) -> Option<usize> {
        let assigned = self.jobs.iter().find(|assigned| assigned.job == job)?;
        Some(assigned.hierarchy)
    }

    /// How `job` is enforced, if a cgroup does it.
    pub(crate) fn mechanism(&self, job: Job) -> Option<&'static str> {
        let hierarchy = self.hierarchy_of(job)?;
        Some(job.mechanism(hierarchy.version, self.kill_file))
    }
}

/// Whether the running kernel has cgroup.kill (Linux 5.14).
pub(crate) fn kernel_has_kill_file() -> bool {
    let Ok(uname) = nix::sys::utsname::uname() else {
        return false;
    };
    let release = uname.release().to_string_lossy().into_owned();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (5, 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy(version: Version, parent: &str, controllers: &[Controller]) -> Hierarchy {
        Hierarchy {
            version,
            parent: parent.into(),
            controllers: controllers.to_vec(),
            enabled: Vec::new(),
        }
    }

    #[test]
    fn v2_is_preferred_and_v1_fills_the_gaps() {
        // This machine: v2 without controllers, v1 memory, pids and freezer.
        let available = [
            hierarchy(Version::V1, "/m", &[Controller::Memory]),
            hierarchy(Version::V1, "/p", &[Controller::Pids]),
            hierarchy(Version::V1, "/f", &[Controller::Freezer]),
            hierarchy(Version::V2, "/u", &[]),
        ];
        let plan = Placement::make(
            &available,
            &[Job::Contain, Job::Memory, Job::Pids, Job::CpuTime],
            true,
        );
        assert!(plan.missing.is_empty());
        let parent = |job| plan.hierarchy_of(job).unwrap().parent.clone();
        assert_eq!(parent(Job::Contain), PathBuf::from("/u"));
        assert_eq!(parent(Job::CpuTime), PathBuf::from("/u"));
        assert_eq!(parent(Job::Memory), PathBuf::from("/m"));
        assert_eq!(parent(Job::Pids), PathBuf::from("/p"));
        // The freezer is not needed: v2 contains the session.
        assert_eq!(plan.hierarchies.len(), 3);
        assert_eq!(
            plan.mechanism(Job::Memory),
            Some("cgroup v1 memory.limit_in_bytes (kernel), swap off")
        );
    }

    #[test]
    fn only_hierarchies_a_job_needs_are_probed() {
        let candidates = [
            hierarchy(Version::V1, "/m", &[Controller::Memory]),
            hierarchy(Version::V1, "/c", &[Controller::Cpu]),
            hierarchy(Version::V2, "/u", &[]),
        ];
        let probed = std::cell::RefCell::new(Vec::new());
        let plan = Placement::probing(&candidates, &[Job::Contain, Job::Memory], true, |h| {
            probed.borrow_mut().push(h.parent.clone());
            // The v2 parent turns out not to be writable.
            (h.version == Version::V1).then(|| h.clone())
        });
        assert_eq!(*probed.borrow(), [PathBuf::from("/u"), PathBuf::from("/m")]);
        assert_eq!(plan.missing, vec![Job::Contain]);
        assert_eq!(
            plan.hierarchy_of(Job::Memory).unwrap().parent,
            PathBuf::from("/m")
        );
    }

    #[test]
    fn jobs_nobody_can_do_are_missing() {
        let available = [hierarchy(Version::V1, "/p", &[Controller::Pids])];
        let plan = Placement::make(&available, &[Job::Contain, Job::Pids, Job::CpuRate], true);
        assert_eq!(plan.missing, vec![Job::Contain, Job::CpuRate]);
        assert_eq!(
            plan.mechanism(Job::Pids),
            Some("cgroup v1 pids.max (kernel)")
        );
    }
}
