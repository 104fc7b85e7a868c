//! Session limits: what each one caps and is called, when it is breached, and the
//! per-process rlimits that back it up in the kernel.

use std::time::Duration;

use nix::libc::rlim_t;
use serde::{Serialize, Serializer};

use crate::machine::rlimit::Rlimit;
use crate::machine::units::{format_duration, format_millis, format_size};
use crate::session::accounting::{Usage, Wanted};

/// A limit of the whole session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LimitKind {
    /// `--wall`.
    Wall,
    /// `--mem`.
    Memory,
    /// `--cpu`.
    Cpu,
    /// `--cpu-rate`.
    CpuRate,
    /// `--procs`.
    Procs,
    /// `--disk-write`.
    DiskWrite,
    /// `--output`.
    Output,
    /// `--idle`.
    Idle,
}

impl LimitKind {
    /// The limit's name as `--explain`, the report, the audit log and the metrics write
    /// it: its flag without dashes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LimitKind::Wall => "wall",
            LimitKind::Memory => "mem",
            LimitKind::Cpu => "cpu",
            LimitKind::CpuRate => "cpu-rate",
            LimitKind::Procs => "procs",
            LimitKind::DiskWrite => "disk-write",
            LimitKind::Output => "output",
            LimitKind::Idle => "idle",
        }
    }
}

impl Serialize for LimitKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Limits that hold for the session as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionLimits {
    /// Wall-clock time.
    pub(crate) wall: Option<Duration>,
    /// Proportional set size of all processes together, in bytes.
    pub(crate) memory: Option<u64>,
    /// CPU time (user + system) of every process the session ever ran.
    pub(crate) cpu: Option<Duration>,
    /// Processes and threads alive at once.
    pub(crate) tasks: Option<u64>,
    /// Bytes written to storage.
    pub(crate) disk_write: Option<u64>,
    /// Bytes written to stdout and stderr together.
    pub(crate) output: Option<u64>,
    /// Longest time without any output.
    pub(crate) idle: Option<Duration>,
}

impl SessionLimits {
    /// Whether leash must relay the session's output to count it.
    pub(crate) fn relayed(&self) -> bool {
        self.output.is_some() || self.idle.is_some()
    }
}

/// Which session limits a cgroup enforces or counts (all false without one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByCgroup {
    /// The kernel holds the memory limit (memory.max / memory.limit_in_bytes).
    pub(crate) memory: bool,
    /// The kernel holds the process limit (pids.max) and counts the tasks.
    pub(crate) tasks: bool,
}

/// A limit the session went beyond, and what was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Breach {
    /// The wall-clock limit was reached.
    Wall(Duration),
    /// SIGALRM reached leash, this long into the session: the wall limit, now (as
    /// `timeout` takes it).
    Alarm(Duration),
    /// Memory (limit, observed).
    Memory(u64, u64),
    /// Memory: the kernel's OOM killer ended a process at the cgroup's limit.
    MemoryOom(u64),
    /// CPU time (limit, observed).
    Cpu(Duration, Duration),
    /// Processes and threads (limit, observed).
    Tasks(u64, u64),
    /// Processes and threads: the kernel refused a fork at the cgroup's limit.
    TasksRefused(u64),
    /// Bytes written (limit, observed).
    DiskWrite(u64, u64),
    /// Output to stdout and stderr (limit); nothing beyond it was passed on.
    Output(u64),
    /// No output for this long.
    Idle(Duration),
}

impl Breach {
    /// The limit that was breached.
    pub(crate) fn kind(self) -> LimitKind {
        match self {
            Breach::Wall(_) | Breach::Alarm(_) => LimitKind::Wall,
            Breach::Memory(..) | Breach::MemoryOom(_) => LimitKind::Memory,
            Breach::Cpu(..) => LimitKind::Cpu,
            Breach::Tasks(..) | Breach::TasksRefused(_) => LimitKind::Procs,
            Breach::DiskWrite(..) => LimitKind::DiskWrite,
            Breach::Output(_) => LimitKind::Output,
            Breach::Idle(_) => LimitKind::Idle,
        }
    }

    /// The limit and what was observed, in the limit's unit (bytes, seconds, tasks); the
    /// observation is `None` where the kernel refused instead of leash measuring.
    pub(crate) fn amounts(self) -> (f64, Option<f64>) {
        #[allow(clippy::cast_precision_loss)] // figures far below 2^52
        let n = |v: u64| v as f64;
        match self {
            Breach::Wall(limit) | Breach::Idle(limit) | Breach::Alarm(limit) => {
                (limit.as_secs_f64(), Some(limit.as_secs_f64()))
            }
            Breach::Memory(limit, seen)
            | Breach::Tasks(limit, seen)
            | Breach::DiskWrite(limit, seen) => (n(limit), Some(n(seen))),
            Breach::MemoryOom(limit) | Breach::TasksRefused(limit) | Breach::Output(limit) => {
                (n(limit), None)
            }
            Breach::Cpu(limit, seen) => (limit.as_secs_f64(), Some(seen.as_secs_f64())),
        }
    }

    /// `memory limit 256.0 MiB exceeded (279.0 MiB)`.
    pub(crate) fn describe(self) -> String {
        match self {
            Breach::Wall(limit) => format!("wall time limit {} reached", format_duration(limit)),
            Breach::Alarm(after) => format!(
                "received SIGALRM: wall time limit reached after {}",
                format_millis(after)
            ),
            Breach::Memory(limit, seen) => {
                format!(
                    "memory limit {} exceeded ({})",
                    format_size(limit),
                    format_size(seen)
                )
            }
            Breach::Cpu(limit, seen) => format!(
                "CPU time limit {} exceeded ({})",
                format_duration(limit),
                format_millis(seen)
            ),
            Breach::MemoryOom(limit) => format!(
                "memory limit {} reached (the kernel's OOM killer ended a process)",
                format_size(limit)
            ),
            Breach::Tasks(limit, seen) => {
                format!("process limit {limit} exceeded ({seen} processes and threads)")
            }
            Breach::TasksRefused(limit) => {
                format!("process limit {limit} reached (a new process was refused)")
            }
            Breach::Output(limit) => format!(
                "output limit {} reached (nothing beyond it was passed on)",
                format_size(limit)
            ),
            Breach::Idle(limit) => {
                format!(
                    "no output for {}: idle limit reached",
                    format_duration(limit)
                )
            }
            Breach::DiskWrite(limit, seen) => {
                format!(
                    "disk write limit {} exceeded ({})",
                    format_size(limit),
                    format_size(seen)
                )
            }
        }
    }
}

impl SessionLimits {
    /// Whether any limit needs the session sampled.
    pub(crate) fn sampled(&self) -> bool {
        self.memory.is_some()
            || self.cpu.is_some()
            || self.tasks.is_some()
            || self.disk_write.is_some()
    }

    /// Which figures the sampler must read from /proc, given what the cgroup counts;
    /// `recorded`: the session's record wants every figure.
    pub(crate) fn wanted(&self, by_cgroup: ByCgroup, recorded: bool) -> Wanted {
        let memory = (self.memory.is_some() || recorded) && !by_cgroup.memory;
        Wanted {
            memory,
            cpu: self.cpu.is_some() || recorded,
            tasks: self.tasks.is_some() || recorded,
            exact_memory_above: self.memory.filter(|_| memory),
            written: self.disk_write.is_some() || recorded,
            processes: false,
            tasks_limit: self.tasks,
        }
    }

    /// The first limit `usage` goes beyond, if any. Where a cgroup holds a limit, the
    /// kernel's refusals (an OOM kill, a refused fork) are the breach.
    pub(crate) fn breach(&self, usage: &Usage) -> Option<Breach> {
        if let Some(limit) = self.memory.filter(|_| usage.oom_kills > 0) {
            return Some(Breach::MemoryOom(limit));
        }
        if let Some(limit) = self.memory.filter(|&l| usage.memory > l) {
            return Some(Breach::Memory(limit, usage.memory));
        }
        if let Some(limit) = self.tasks.filter(|_| usage.refused_forks > 0) {
            return Some(Breach::TasksRefused(limit));
        }
        if let Some(limit) = self.tasks.filter(|&l| usage.tasks > l) {
            return Some(Breach::Tasks(limit, usage.tasks));
        }
        if let Some(limit) = self.cpu.filter(|&l| usage.cpu >= l) {
            return Some(Breach::Cpu(limit, usage.cpu));
        }
        if let Some(limit) = self.disk_write.filter(|&l| usage.written > l) {
            return Some(Breach::DiskWrite(limit, usage.written));
        }
        None
    }

    /// Per-process rlimits that back the session limits up in the kernel, for resources
    /// the user did not set and no cgroup holds: CPU → RLIMIT_CPU set a second above the
    /// session limit (so it can never fire first), processes → RLIMIT_NPROC where the
    /// kernel enforces it (not for root). RLIMIT_NPROC counts every task of the user, so it
    /// is set to the user's tasks now plus the limit plus one: `user_tasks` gives that
    /// count, or `None` where the rlimit does not apply.
    ///
    /// Memory has none: RLIMIT_DATA counts every private writable mapping, so it refused a
    /// program that maps 8 GiB and touches 10 MiB (an allocator's or a sanitizer's
    /// reservation) under a 256 MiB limit, and the sampler holds memory within a few
    /// percent now (BENCHMARKS.md).
    pub(crate) fn backstops(
        &self,
        by_cgroup: ByCgroup,
        user_tasks: impl FnOnce() -> Option<u64>,
    ) -> Vec<Backstop> {
        let mut backstops = Vec::new();
        if let Some(cpu) = self.cpu {
            let seconds = cpu.as_secs() + u64::from(cpu.subsec_nanos() > 0) + 1;
            backstops.push(Backstop::new(Rlimit::CPU, seconds, seconds + 1));
        }
        let tasks = self.tasks.filter(|_| !by_cgroup.tasks);
        if let Some(tasks) = tasks
            && let Some(others) = user_tasks()
        {
            // One task more than the limit, so that a bomb held by the rlimit still shows
            // as a breach to the sampler and the session is stopped.
            let nproc = others.saturating_add(tasks).saturating_add(1);
            backstops.push(Backstop::new(Rlimit::NPROC, nproc, nproc));
        }
        backstops
    }
}

/// A per-process rlimit that backs a session limit up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backstop {
    /// The resource.
    pub(crate) rlimit: Rlimit,
    /// The soft limit.
    pub(crate) soft: rlim_t,
    /// The hard limit.
    pub(crate) hard: rlim_t,
}

impl Backstop {
    fn new(rlimit: Rlimit, soft: rlim_t, hard: rlim_t) -> Backstop {
        Backstop { rlimit, soft, hard }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaches_name_the_limit_and_the_value() {
        let limits = SessionLimits {
            memory: Some(256 << 20),
            ..SessionLimits::default()
        };
        assert_eq!(limits.breach(&Usage::of_memory(256 << 20)), None);
        let breach = limits.breach(&Usage::of_memory(279 << 20)).unwrap();
        assert_eq!(
            breach.describe(),
            "memory limit 256.0 MiB exceeded (279.0 MiB)"
        );
        let cpu = SessionLimits {
            cpu: Some(Duration::from_secs(2)),
            ..SessionLimits::default()
        };
        let used = Usage {
            cpu: Duration::from_millis(2030),
            ..Usage::default()
        };
        assert_eq!(
            cpu.breach(&used).unwrap().describe(),
            "CPU time limit 2s exceeded (2s 30ms)"
        );
    }

    #[test]
    fn cpu_backstop_cannot_fire_before_the_session_limit() {
        let limits = SessionLimits {
            cpu: Some(Duration::from_millis(1500)),
            ..SessionLimits::default()
        };
        let backstops = limits.backstops(ByCgroup::default(), || None);
        assert_eq!(backstops.len(), 1);
        assert_eq!((backstops[0].soft, backstops[0].hard), (3, 4));
    }

    #[test]
    fn nproc_backstop_leaves_room_for_the_users_other_tasks() {
        let limits = SessionLimits {
            tasks: Some(64),
            ..SessionLimits::default()
        };
        let backstops = limits.backstops(ByCgroup::default(), || Some(100));
        assert_eq!(backstops[0], Backstop::new(Rlimit::NPROC, 165, 165));
        assert!(limits.backstops(ByCgroup::default(), || None).is_empty());
    }
}
