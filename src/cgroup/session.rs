//! The session's own cgroup: made before the command runs (one directory per hierarchy
//! used), limits written, entered by the child before exec, read while the session runs,
//! killed and removed at its end.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use nix::unistd::Pid;

use super::dir::{CgroupDir, keyed};
use super::{Controller, Hierarchy, Job, Plan, Version};
use crate::spawn::CgroupEntry;

/// What the kernel enforces for the session.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KernelLimits {
    /// memory.max / memory.limit_in_bytes, in bytes; swap is limited with it.
    pub memory: Option<u64>,
    /// pids.max.
    pub tasks: Option<u64>,
    /// Share of one CPU (cpu.max / cpu.cfs_quota_us).
    pub cpu_rate: Option<f64>,
}

/// The CPU bandwidth period leash uses with `--cpu-rate`, in microseconds (the kernel's
/// default).
const CPU_PERIOD_US: u64 = 100_000;

/// The session's cgroup, one directory per hierarchy it uses.
#[derive(Debug)]
pub struct SessionCgroup {
    dirs: Vec<CgroupDir>,
    /// What the cgroup does for the session, as planned.
    plan: Plan,
    /// cgroup.procs of each directory, open for the child to write itself into.
    entries: Vec<OwnedFd>,
    /// The v2 directory, open for clone3 to create the child in.
    v2_dir: Option<OwnedFd>,
    gauges: Gauges,
    /// Set once every directory is removed.
    removed: std::cell::Cell<bool>,
}

/// Open cgroup files read at every sample (re-read from offset 0: no open per sample).
#[derive(Debug, Default)]
pub struct Gauges {
    memory_events: Option<(File, &'static str)>,
    memory_peak: Option<File>,
    memory: Option<File>,
    tasks: Option<File>,
    tasks_events: Option<File>,
    tasks_peak: Option<File>,
    cpu: Option<(File, Version)>,
}

/// What the session's cgroup says at one moment; `None` for what no cgroup counts here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Processes the kernel's OOM killer killed in the session.
    pub oom_kills: u64,
    /// Highest memory use of the session (includes its page cache and tmpfs files).
    pub memory_peak: Option<u64>,
    /// Memory use now, as the kernel counts it against the limit.
    pub memory: Option<u64>,
    /// Processes and threads alive now.
    pub tasks: Option<u64>,
    /// Highest number of processes and threads.
    pub tasks_peak: Option<u64>,
    /// Forks the kernel refused because of the process limit.
    pub refused_forks: u64,
    /// CPU time of every process that ever ran in the session.
    pub cpu: Option<Duration>,
}

impl SessionCgroup {
    /// Make the session cgroup `name` as `plan` says and write `limits` into it. On error
    /// nothing is left behind.
    pub fn create(plan: &Plan, name: &str, limits: &KernelLimits) -> Result<Self, String> {
        let mut made = SessionCgroup {
            dirs: Vec::new(),
            plan: plan.clone(),
            entries: Vec::new(),
            v2_dir: None,
            gauges: Gauges::default(),
            removed: std::cell::Cell::new(false),
        };
        for (hierarchy, controllers) in &plan.hierarchies {
            let dir = make_dir(hierarchy, controllers, name)?;
            made.dirs.push(dir.clone());
            set_limits(&dir, controllers, limits)?;
            let entry = fs::OpenOptions::new()
                .write(true)
                .custom_flags(nix::libc::O_CLOEXEC)
                .open(dir.file("cgroup.procs"))
                .map_err(|e| format!("cannot open {}: {e}", dir.file("cgroup.procs").display()))?;
            made.entries.push(entry.into());
            if dir.version == Version::V2 {
                let opened = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_DIRECTORY)
                    .open(&dir.path)
                    .map_err(|e| format!("cannot open {}: {e}", dir.path.display()))?;
                made.v2_dir = Some(opened.into());
            }
        }
        made.gauges = made.open_gauges();
        Ok(made)
    }

    /// How the child enters the cgroup: created in the v2 directory, and writing "0" into
    /// the cgroup.procs of the v1 directories before exec.
    pub fn entry(&self) -> CgroupEntry {
        let mut entry = CgroupEntry::default();
        for (dir, procs) in self.dirs.iter().zip(&self.entries) {
            match (dir.version, &self.v2_dir) {
                (Version::V2, Some(v2_dir)) => {
                    entry.born_into = Some((v2_dir.as_raw_fd(), procs.as_raw_fd()));
                }
                _ => entry.join.push(procs.as_raw_fd()),
            }
        }
        entry
    }

    /// The directory that does `job`.
    fn dir_of(&self, job: Job) -> Option<&CgroupDir> {
        let index = self.plan.jobs.iter().find(|(j, _)| *j == job)?.1;
        self.dirs.get(index)
    }

    /// The directory that holds the session for stopping it: v2, or a v1 freezer.
    fn container(&self) -> Option<&CgroupDir> {
        self.dir_of(Job::Contain)
    }

    /// Every process in the session's cgroups now.
    pub fn members(&self) -> Vec<Pid> {
        let mut all: Vec<Pid> = self.dirs.iter().flat_map(CgroupDir::members).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Freeze the session; returns whether it is frozen.
    pub fn freeze(&self) -> bool {
        self.container()
            .is_some_and(|dir| dir.can_freeze() && dir.freeze())
    }

    /// Let a frozen session run again.
    pub fn thaw(&self) {
        if let Some(dir) = self.container() {
            dir.thaw();
        }
    }

    /// SIGKILL every process of the session; returns those that were in it.
    pub fn kill_all(&self) -> Vec<Pid> {
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
    pub fn remove(&self) -> Result<(), String> {
        let mut failed = Vec::new();
        for dir in &self.dirs {
            if let Err(e) = dir.remove() {
                failed.push(e);
            }
        }
        if failed.is_empty() {
            self.removed.set(true);
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }

    /// What the cgroup counts now.
    pub fn read(&self) -> Reading {
        let gauges = &self.gauges;
        let mut reading = Reading::default();
        if let Some((file, key)) = &gauges.memory_events {
            reading.oom_kills = read_text(file).and_then(|t| keyed(&t, key)).unwrap_or(0);
        }
        reading.memory_peak = gauges.memory_peak.as_ref().and_then(read_number);
        reading.memory = gauges.memory.as_ref().and_then(read_number);
        reading.tasks = gauges.tasks.as_ref().and_then(read_number);
        reading.tasks_peak = gauges.tasks_peak.as_ref().and_then(read_number);
        if let Some(file) = &gauges.tasks_events {
            reading.refused_forks = read_text(file).and_then(|t| keyed(&t, "max")).unwrap_or(0);
        }
        reading.cpu = gauges
            .cpu
            .as_ref()
            .and_then(|(file, version)| match version {
                Version::V2 => read_text(file)
                    .and_then(|t| keyed(&t, "usage_usec"))
                    .map(Duration::from_micros),
                Version::V1 => read_number(file).map(Duration::from_nanos),
            });
        reading
    }

    /// The plan the cgroup was made from (which hierarchy does what).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    fn open_gauges(&self) -> Gauges {
        let open = |job: Job, name: &str| {
            self.dir_of(job)
                .and_then(|dir| File::open(dir.file(name)).ok())
        };
        let version = |job| self.dir_of(job).map(|d| d.version);
        Gauges {
            memory_events: match version(Job::Memory) {
                Some(Version::V2) => open(Job::Memory, "memory.events").map(|f| (f, "oom_kill")),
                Some(Version::V1) => {
                    open(Job::Memory, "memory.oom_control").map(|f| (f, "oom_kill"))
                }
                None => None,
            },
            memory_peak: open(Job::Memory, "memory.peak")
                .or_else(|| open(Job::Memory, "memory.max_usage_in_bytes")),
            memory: open(Job::Memory, "memory.current")
                .or_else(|| open(Job::Memory, "memory.usage_in_bytes")),
            tasks: open(Job::Pids, "pids.current"),
            tasks_events: open(Job::Pids, "pids.events"),
            tasks_peak: open(Job::Pids, "pids.peak"),
            cpu: match version(Job::CpuTime) {
                Some(Version::V2) => open(Job::CpuTime, "cpu.stat").map(|f| (f, Version::V2)),
                Some(Version::V1) => open(Job::CpuTime, "cpuacct.usage").map(|f| (f, Version::V1)),
                None => None,
            },
        }
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
) -> Result<CgroupDir, String> {
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
        Err(e) if e.kind() != ErrorKind::AlreadyExists => {
            Err(format!("cannot create {}: {e}", dir.path.display()))
        }
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
fn enable_controllers(parent: &Path, controllers: &str, name: &str) -> Result<(), String> {
    let parent = CgroupDir {
        version: Version::V2,
        path: parent.to_path_buf(),
    };
    let Err(refused) = parent.write("cgroup.subtree_control", controllers) else {
        return Ok(());
    };
    if parent.members() != [Pid::this()] {
        return Err(refused);
    }
    let leaf = CgroupDir {
        version: Version::V2,
        path: parent.file(&supervisor_name(name)),
    };
    let moved = fs::create_dir(&leaf.path)
        .map_err(|e| format!("cannot create {}: {e}", leaf.path.display()))
        .and_then(|()| leaf.write("cgroup.procs", "0"));
    let enabled = moved.and_then(|()| parent.write("cgroup.subtree_control", controllers));
    if let Err(e) = enabled {
        // Back where leash was, as if nothing had happened.
        let _ = parent.write("cgroup.procs", "0");
        let _ = leaf.remove();
        return Err(format!(
            "{refused}; and after leash moved out of the way: {e}"
        ));
    }
    Ok(())
}

/// The leaf cgroup that leash moves itself into to enable controllers for `name`.
pub fn supervisor_name(name: &str) -> String {
    format!("{name}.supervisor")
}

/// Write the limits that `controllers` of `dir` enforce.
fn set_limits(
    dir: &CgroupDir,
    controllers: &[Controller],
    limits: &KernelLimits,
) -> Result<(), String> {
    for controller in controllers {
        match (controller, dir.version) {
            (Controller::Memory, Version::V2) => {
                if let Some(memory) = limits.memory {
                    dir.write("memory.max", &memory.to_string())?;
                    // Without this the session could swap past its limit.
                    if dir.file("memory.swap.max").exists() {
                        dir.write("memory.swap.max", "0")?;
                    }
                }
            }
            (Controller::Memory, Version::V1) => {
                if let Some(memory) = limits.memory {
                    dir.write("memory.limit_in_bytes", &memory.to_string())?;
                    // Memory plus swap at the same value: no swapping past the limit.
                    if dir.file("memory.memsw.limit_in_bytes").exists() {
                        dir.write("memory.memsw.limit_in_bytes", &memory.to_string())?;
                    }
                }
            }
            (Controller::Pids, _) => {
                if let Some(tasks) = limits.tasks {
                    dir.write("pids.max", &tasks.to_string())?;
                }
            }
            (Controller::Cpu, version) => {
                if let Some(rate) = limits.cpu_rate {
                    let quota = cpu_quota(rate);
                    match version {
                        Version::V2 => dir.write("cpu.max", &format!("{quota} {CPU_PERIOD_US}"))?,
                        Version::V1 => {
                            dir.write("cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
                            dir.write("cpu.cfs_quota_us", &quota.to_string())?;
                        }
                    }
                }
            }
            (Controller::Cpuacct | Controller::Freezer, _) => {}
        }
    }
    Ok(())
}

/// Microseconds of CPU per period for a share of one CPU (at least the kernel's 1 ms).
fn cpu_quota(rate: f64) -> u64 {
    // The product is positive and far below u64::MAX for any rate the CLI accepts.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let quota = (rate * 100_000.0).round() as u64;
    quota.max(1000)
}

fn read_text(file: &File) -> Option<String> {
    let mut buf = [0u8; 1024];
    let read = file.read_at(&mut buf, 0).ok()?;
    String::from_utf8(buf[..read].to_vec()).ok()
}

fn read_number(file: &File) -> Option<u64> {
    read_text(file)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
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
        let plan = Plan::make(std::slice::from_ref(&hierarchy), &jobs, true);
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
        let plan = Plan::make(&[hierarchy], &[Job::Contain, Job::Pids], true);
        let limits = KernelLimits {
            tasks: Some(64),
            ..KernelLimits::default()
        };
        let error = SessionCgroup::create(&plan, "leash-42-7", &limits).unwrap_err();
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
        let plan = Plan::make(
            std::slice::from_ref(&hierarchy),
            &[Job::Contain, Job::Pids],
            true,
        );
        let error =
            SessionCgroup::create(&plan, "leash-42-7", &KernelLimits::default()).unwrap_err();
        assert!(
            error.contains("after leash moved out of the way"),
            "{error}"
        );
        assert!(!hierarchy.parent.join("leash-42-7.supervisor").exists());
    }

    #[test]
    fn cpu_quota_has_a_floor() {
        assert_eq!(cpu_quota(1.5), 150_000);
        assert_eq!(cpu_quota(0.001), 1000);
    }
}
