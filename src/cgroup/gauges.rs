//! Reading the session's cgroup while it runs: the files counted at every sample, opened
//! once and re-read from offset 0.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use super::dir::{CgroupDir, keyed};
use super::{Job, Version};

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

impl Gauges {
    /// Open the files of the directories `dir_of` says do each job.
    pub fn open<'a>(dir_of: impl Fn(Job) -> Option<&'a CgroupDir>) -> Gauges {
        let open =
            |job: Job, name: &str| dir_of(job).and_then(|dir| File::open(dir.file(name)).ok());
        let version = |job| dir_of(job).map(|d| d.version);
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

    /// What the cgroup counts now.
    pub fn read(&self) -> Reading {
        let gauges = self;
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
}

fn read_text(file: &File) -> Option<String> {
    let mut buf = [0u8; 1024];
    let read = file.read_at(&mut buf, 0).ok()?;
    String::from_utf8(buf[..read].to_vec()).ok()
}

fn read_number(file: &File) -> Option<u64> {
    read_text(file)?.trim().parse().ok()
}
