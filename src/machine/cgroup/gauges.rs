//! Reading the session's cgroup while it runs: the files counted at every sample, opened
//! once and re-read from offset 0.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use super::dir::{CgroupDir, keyed};
use super::{Job, Version};

/// Open cgroup files read at every sample (re-read from offset 0: no open per sample).
#[derive(Debug)]
pub(crate) struct Gauges {
    memory_events: Option<(File, Version)>,
    /// v1: the session's own memory limit.
    memory_limit: Option<File>,
    /// v1: the session's memory cgroup, whose nested cgroups (an inner leash's) count
    /// their OOM kills apart from it.
    v1_memory_dir: Option<CgroupDir>,
    memory_peak: Option<File>,
    memory: Option<File>,
    tasks: Option<File>,
    tasks_events: Option<File>,
    tasks_peak: Option<File>,
    /// The session's own process limit.
    tasks_limit: Option<File>,
    /// v1: the session's pids cgroup, whose nested cgroups count their refused forks
    /// apart from it.
    v1_pids_dir: Option<CgroupDir>,
    cpu: Option<(File, Version)>,
}

/// What the session's cgroup says at one moment; `None` for what no cgroup counts here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Processes the kernel's OOM killer killed in the session at the session's own memory
    /// limit (not those an outer limit, or the machine running out, took).
    pub(crate) oom_kills: u64,
    /// Highest memory use of the session (includes its page cache and tmpfs files).
    pub(crate) memory_peak: Option<u64>,
    /// Memory use now, as the kernel counts it against the limit.
    pub(crate) memory: Option<u64>,
    /// Processes and threads alive now.
    pub(crate) tasks: Option<u64>,
    /// Highest number of processes and threads.
    pub(crate) tasks_peak: Option<u64>,
    /// Forks the kernel refused because of the process limit.
    pub(crate) refused_forks: u64,
    /// CPU time of every process that ever ran in the session.
    pub(crate) cpu: Option<Duration>,
}

impl Gauges {
    /// Open the files of the directories `dir_of` says do each job.
    pub(crate) fn open<'a>(dir_of: impl Fn(Job) -> Option<&'a CgroupDir>) -> Gauges {
        let open =
            |job: Job, name: &str| dir_of(job).and_then(|dir| File::open(dir.file(name)).ok());
        let version = |job| dir_of(job).map(|d| d.version);
        Gauges {
            memory_events: match version(Job::Memory) {
                Some(Version::V2) => open(Job::Memory, "memory.events").map(|f| (f, Version::V2)),
                Some(Version::V1) => {
                    open(Job::Memory, "memory.oom_control").map(|f| (f, Version::V1))
                }
                None => None,
            },
            memory_limit: open(Job::Memory, "memory.limit_in_bytes"),
            v1_memory_dir: dir_of(Job::Memory)
                .filter(|dir| dir.version == Version::V1)
                .cloned(),
            memory_peak: open(Job::Memory, "memory.peak")
                .or_else(|| open(Job::Memory, "memory.max_usage_in_bytes")),
            memory: open(Job::Memory, "memory.current")
                .or_else(|| open(Job::Memory, "memory.usage_in_bytes")),
            tasks: open(Job::Pids, "pids.current"),
            tasks_events: open(Job::Pids, "pids.events"),
            tasks_peak: open(Job::Pids, "pids.peak"),
            tasks_limit: open(Job::Pids, "pids.max"),
            v1_pids_dir: dir_of(Job::Pids)
                .filter(|dir| dir.version == Version::V1)
                .cloned(),
            cpu: match version(Job::CpuTime) {
                Some(Version::V2) => open(Job::CpuTime, "cpu.stat").map(|f| (f, Version::V2)),
                Some(Version::V1) => open(Job::CpuTime, "cpuacct.usage").map(|f| (f, Version::V1)),
                None => None,
            },
        }
    }

    /// What the cgroup counts now.
    pub(crate) fn read(&self) -> Reading {
        let gauges = self;
        let mut reading = Reading {
            memory_peak: gauges.memory_peak.as_ref().and_then(read_number),
            ..Reading::default()
        };
        if let Some((file, version)) = &gauges.memory_events {
            let limit = gauges.memory_limit.as_ref().and_then(read_number);
            let near_limit = reached(reading.memory_peak, limit);
            reading.oom_kills = own_oom_kills(file, *version, near_limit);
            // v1 counts a kill only in the victim's own cgroup: one below the session's (a
            // nested leash's) at the session's limit is the session's too. Looked for only
            // at the limit, which is rare: no directory is read at an ordinary sample.
            if let (Some(dir), true) = (&gauges.v1_memory_dir, near_limit) {
                reading.oom_kills = dir.count_below("memory.oom_control", "oom_kill");
            }
        }
        reading.memory = gauges.memory.as_ref().and_then(read_number);
        reading.tasks = gauges.tasks.as_ref().and_then(read_number);
        reading.tasks_peak = gauges.tasks_peak.as_ref().and_then(read_number);
        if let Some(file) = &gauges.tasks_events {
            reading.refused_forks = gauges.own_refused_forks(file, &reading);
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
}

impl Gauges {
    /// The forks refused at the session's own process limit. The kernel's `max` events
    /// are not that: v1 counts every refusal of a fork made in the cgroup (an outer
    /// limit's too) and none made in a cgroup below it (a nested leash's); v2 counts a
    /// nested session's own limit in the outer one too. So they count when the session's
    /// processes reached its own limit, and under v1 with those of the cgroups below it.
    fn own_refused_forks(&self, events: &File, reading: &Reading) -> u64 {
        let limit = self.tasks_limit.as_ref().and_then(read_number);
        let highest = reading.tasks_peak.or(reading.tasks);
        let at_limit = match (highest, limit) {
            // Within a sixteenth (at least 2): processes that were refused may be gone.
            (Some(highest), Some(limit)) => highest.saturating_add((limit / 16).max(2)) >= limit,
            _ => false,
        };
        if !at_limit {
            return 0;
        }
        match &self.v1_pids_dir {
            Some(dir) => dir.count_below("pids.events", "max"),
            None => read_text(events)
                .and_then(|t| keyed(&t, "max"))
                .unwrap_or(0),
        }
    }
}

/// The OOM kills in the session that its own limit caused: v2 counts those as `oom`
/// events of its cgroup (`oom_kill` counts every kill, an outer limit's too); v1 has only
/// the kills, so they count when the session's peak reached its own limit
/// (`v1_at_limit`; `memory.failcnt` is no longer kept by recent kernels).
fn own_oom_kills(events: &File, version: Version, v1_at_limit: bool) -> u64 {
    let text = read_text(events).unwrap_or_default();
    let kills = keyed(&text, "oom_kill").unwrap_or(0);
    let own_limit_hit = match version {
        Version::V2 => keyed(&text, "oom").unwrap_or(0) > 0,
        Version::V1 => v1_at_limit,
    };
    if own_limit_hit { kills } else { 0 }
}

/// Whether a peak reached its limit: within a sixty-fourth of it (at least 1 MiB), the
/// slack the kernel's reclaim leaves below a limit it holds.
fn reached(peak: Option<u64>, limit: Option<u64>) -> bool {
    match (peak, limit) {
        (Some(peak), Some(limit)) => peak.saturating_add((limit / 64).max(1 << 20)) >= limit,
        _ => false,
    }
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

    fn file(text: &str) -> File {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn only_kills_at_the_sessions_own_limit_count() {
        let own = file("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
        assert_eq!(own_oom_kills(&own, Version::V2, false), 2);
        // An outer limit (or the machine) ran out: the kills are not the session's limit.
        let outer = file("low 0\nhigh 0\nmax 0\noom 0\noom_kill 2\n");
        assert_eq!(own_oom_kills(&outer, Version::V2, true), 0);
        let v1 = file("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        assert_eq!(own_oom_kills(&v1, Version::V1, false), 0);
        assert_eq!(own_oom_kills(&v1, Version::V1, true), 1);
        let gib = 1 << 30;
        assert!(reached(Some(gib - (1 << 20)), Some(gib)));
        assert!(!reached(Some(66 << 20), Some(gib)));
        assert!(!reached(None, Some(gib)));
    }
}
