//! Session-wide usage: what the live process tree uses now plus what its ended processes
//! used, read from /proc at a cost proportional to the session's size.
//!
//! CPU time and bytes written survive a process's end: the kernel adds a reaped child's
//! CPU time (`cutime`, `cstime`) and I/O counters to the process that reaped it. Since
//! leash is the subreaper, every ended process of the session was reaped either by a live
//! process of the session (and is counted in that process's figures) or by leash (and is
//! counted in leash's `RUSAGE_CHILDREN` and its own `/proc/self/io`).

use std::fs;
use std::ops::ControlFlow;
use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use nix::unistd::Pid;

use crate::machine::cgroup::Reading;
use crate::machine::proc_view::{self, read_proc};
use crate::machine::tree::{self, StatFields, Threads};
use crate::session::sharing::{Sharing, memory};

/// What the session uses at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Memory of all live processes. Their proportional set size (shared pages split
    /// among their sharers, so copy-on-write pages after a fork count once), or a lower
    /// bound of it from their resident sizes and what they share, when the sum of their
    /// resident sizes, an upper bound of it, passes the limit; below that, that cheaper
    /// upper bound (see `memory`).
    pub(crate) memory: u64,
    /// Live processes and threads (tasks).
    pub(crate) tasks: u64,
    /// Live processes the sample read from /proc (0 when the cgroup counted everything
    /// and nothing was read): what sizes a sample's cost, not the threads.
    pub(crate) processes: u64,
    /// CPU time, user and system, of every process the session ever ran.
    pub(crate) cpu: Duration,
    /// Bytes the session caused to be written to storage.
    pub(crate) written: u64,
    /// Processes of the session the kernel's OOM killer ended (memory cgroup only).
    pub(crate) oom_kills: u64,
    /// Forks the kernel refused at the process limit (pids cgroup only).
    pub(crate) refused_forks: u64,
}

impl Usage {
    /// The larger of each figure (for peaks).
    fn max(self, other: Usage) -> Usage {
        Usage {
            memory: self.memory.max(other.memory),
            tasks: self.tasks.max(other.tasks),
            processes: self.processes.max(other.processes),
            cpu: self.cpu.max(other.cpu),
            written: self.written.max(other.written),
            oom_kills: self.oom_kills.max(other.oom_kills),
            refused_forks: self.refused_forks.max(other.refused_forks),
        }
    }
}

#[cfg(test)]
impl Usage {
    /// A usage of `memory` bytes and nothing else.
    pub(crate) fn of_memory(memory: u64) -> Usage {
        Usage {
            memory,
            ..Usage::default()
        }
    }
}

/// Which figures are worth their cost: each is read from /proc only when a limit needs
/// it and no cgroup counts it.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // one independent switch per figure
pub(crate) struct Wanted {
    /// Memory of the live processes.
    pub(crate) memory: bool,
    /// CPU time of the session.
    pub(crate) cpu: bool,
    /// Processes and threads alive.
    pub(crate) tasks: bool,
    /// Read `/proc/PID/smaps_rollup` (a page-table walk per process) when the resident
    /// sizes add up to more than this: below it, the proportional sizes cannot exceed it.
    pub(crate) exact_memory_above: Option<u64>,
    /// Read `/proc/PID/io`.
    pub(crate) written: bool,
    /// List the session's processes (`leashctl` shows them), walking the tree even where
    /// the cgroup counts every figure.
    pub(crate) processes: bool,
    /// Stop a sample as soon as it counts more tasks than this: the session is over the
    /// process limit, the rest of the figures no longer matter, and a fork bomb's walk
    /// must not take as long as the bomb is large (leash shares the CPU with it).
    pub(crate) tasks_limit: Option<u64>,
}

/// Samples the session's usage and remembers its peaks.
pub(crate) struct Sampler {
    wanted: Wanted,
    /// leash's own write count when the session started, so that only the session's
    /// writes are charged.
    written_before: u64,
    peak: Usage,
    sampled: bool,
    /// What the last proportional reading found shared.
    sharing: Option<Sharing>,
}

impl Sampler {
    /// Start sampling; call before the session starts.
    pub(crate) fn new(wanted: Wanted) -> Self {
        Self {
            wanted,
            written_before: if wanted.written {
                write_bytes(Pid::this()).unwrap_or(0)
            } else {
                0
            },
            peak: Usage::default(),
            sampled: false,
            sharing: None,
        }
    }

    /// The highest figures seen so far.
    pub(crate) fn peak(&self) -> Usage {
        self.peak
    }

    /// What this sampler reads.
    pub(crate) fn wanted(&self) -> Wanted {
        self.wanted
    }

    /// Whether any sample was taken (else the peaks mean nothing).
    pub(crate) fn sampled(&self) -> bool {
        self.sampled
    }

    /// Read the session's usage now ([`read`], from leash itself) and keep its peaks.
    pub(crate) fn sample(&mut self, counted: Option<Reading>) -> Usage {
        let counted = counted.unwrap_or_default();
        self.sampled = true;
        let (usage, _) = read(
            Pid::this(),
            &self.wanted,
            &counted,
            self.written_before,
            Some(&mut self.sharing),
        );
        self.peak = self.peak.max(usage);
        self.peak.memory = self.peak.memory.max(counted.memory_peak.unwrap_or(0));
        self.peak.tasks = self.peak.tasks.max(counted.tasks_peak.unwrap_or(0));
        usage
    }
}

/// The session's usage now, and its processes: what its cgroup counts (`counted`), the
/// rest read from /proc below `supervisor`, the leash running it (whose reaped children's
/// CPU time and writes are the session's; `written_before`: leash's own writes before it
/// started). The one reading of a session's usage: the supervisor holds its limits on it
/// and records it, `leashctl` shows it.
pub(crate) fn read(
    supervisor: Pid,
    wanted: &Wanted,
    counted: &Reading,
    written_before: u64,
    sharing: Option<&mut Option<Sharing>>,
) -> (Usage, Vec<Pid>) {
    let (mut usage, processes) = read_tree(supervisor, wanted, counted, written_before, sharing);
    usage.cpu = counted.cpu.unwrap_or(usage.cpu);
    // Held by the kernel at the limit: what it counts is what the limit means.
    usage.memory = counted.memory.unwrap_or(usage.memory);
    usage.tasks = counted.tasks.unwrap_or(usage.tasks);
    usage.oom_kills = counted.oom_kills;
    usage.refused_forks = counted.refused_forks;
    (usage, processes)
}

/// The figures the cgroup does not count, from /proc below `supervisor`; nothing at all
/// (no walk of the tree) when the cgroup counts everything wanted.
fn read_tree(
    supervisor: Pid,
    wanted: &Wanted,
    counted: &Reading,
    written_before: u64,
    sharing: Option<&mut Option<Sharing>>,
) -> (Usage, Vec<Pid>) {
    let mut usage = Usage::default();
    let walk = wanted.memory
        || wanted.written
        || wanted.processes
        || (wanted.cpu && counted.cpu.is_none())
        || (wanted.tasks && counted.tasks.is_none());
    if !walk {
        return (usage, Vec::new());
    }
    let (ticks_per_second, page_size) = (ticks_per_second(), page_size());
    usage.cpu = reaped_cpu(supervisor);
    if wanted.written {
        usage.written = write_bytes(supervisor)
            .unwrap_or(0)
            .saturating_sub(written_before);
    }
    let mut pids = Vec::new();
    tree::walk_descendants(supervisor, |pid| {
        let mut threads = Threads::Any;
        if let Some(stat) = read_stat(pid) {
            usage.cpu += Duration::from_millis(stat.cpu_ticks * 1000 / ticks_per_second);
            usage.tasks += stat.threads;
            usage.memory += stat.resident_pages * page_size;
            if stat.threads == 1 {
                threads = Threads::One;
            }
        }
        if wanted.tasks_limit.is_some_and(|limit| usage.tasks > limit) {
            return ControlFlow::Break(());
        }
        if wanted.written {
            usage.written += write_bytes(pid).unwrap_or(0);
        }
        pids.push(pid);
        ControlFlow::Continue(threads)
    });
    usage.processes = u64::try_from(pids.len()).unwrap_or(u64::MAX);
    if let Some(threshold) = wanted.exact_memory_above {
        usage.memory = memory(usage.memory, &pids, threshold, sharing);
    }
    (usage, pids)
}

/// The session's tasks (processes and threads) below `supervisor`, counted no further
/// than one beyond `limit`: the fork gate's count, cheaper than a sample.
pub(crate) fn count_tasks(supervisor: Pid, limit: u64) -> u64 {
    let mut tasks = 0;
    tree::walk_descendants(supervisor, |pid| {
        let threads = read_stat(pid).map_or(1, |stat| stat.threads);
        tasks += threads;
        if tasks > limit {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(if threads == 1 {
            Threads::One
        } else {
            Threads::Any
        })
    });
    tasks
}

/// CPU time of the processes `supervisor` reaped (and of everything they reaped): from
/// getrusage(2) for leash itself, else from /proc (in clock ticks).
fn reaped_cpu(supervisor: Pid) -> Duration {
    if supervisor == Pid::this() {
        let (user, system) = reaped_cpu_split();
        return user + system;
    }
    let stat = proc_view::file(supervisor, "stat")
        .and_then(|path| read_proc(&path))
        .unwrap_or_default();
    let ticks =
        StatFields::of(&stat).map_or(0, |f| f.get(16).unwrap_or(0) + f.get(17).unwrap_or(0));
    Duration::from_millis(ticks * 1000 / ticks_per_second())
}

/// User and system CPU time of everything leash reaped. Once the session is over and
/// reaped, this is the exact CPU time of the whole session.
pub(crate) fn reaped_cpu_split() -> (Duration, Duration) {
    let duration = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or((Duration::ZERO, Duration::ZERO), |usage| {
        (duration(usage.user_time()), duration(usage.system_time()))
    })
}

/// Whether RLIMIT_NPROC holds leash's user at all (root it does not).
pub(crate) fn nproc_counts_this_user() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// Tasks (processes and threads) whose real user is the calling process's, as
/// RLIMIT_NPROC counts them; `None` for root, whom RLIMIT_NPROC does not hold. This reads
/// every process's status once, so it is done once, at start, and only with `--procs`.
pub(crate) fn tasks_of_this_user() -> Option<u64> {
    let uid = nix::unistd::getuid();
    if !nproc_counts_this_user() {
        return None;
    }
    let mut tasks = 0;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
        };
        let real_uid = field("Uid:").and_then(|ids| ids.split_whitespace().next()?.parse().ok());
        if real_uid == Some(uid.as_raw()) {
            tasks += field("Threads:").and_then(|t| t.parse().ok()).unwrap_or(1);
        }
    }
    Some(tasks)
}

/// Clock ticks per second, the unit of /proc/PID/stat's CPU times.
fn ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| sysconf(nix::unistd::SysconfVar::CLK_TCK, 100))
}

/// Bytes per page, the unit of /proc/PID/stat's resident set.
fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| sysconf(nix::unistd::SysconfVar::PAGE_SIZE, 4096))
}

fn sysconf(name: nix::unistd::SysconfVar, default: u64) -> u64 {
    nix::unistd::sysconf(name)
        .ok()
        .flatten()
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(default)
}

/// What one process's /proc/PID/stat says of its usage.
struct Stat {
    /// utime + stime + cutime + cstime, in clock ticks.
    cpu_ticks: u64,
    /// Its threads.
    threads: u64,
    /// Its resident set, in pages.
    resident_pages: u64,
}

/// Read one process's usage from /proc/PID/stat.
fn read_stat(pid: Pid) -> Option<Stat> {
    let stat = read_proc(&proc_view::file(pid, "stat")?)?;
    let fields = StatFields::of(&stat)?;
    let field = |n: usize| fields.get(n);
    Some(Stat {
        cpu_ticks: field(14)? + field(15)? + field(16)? + field(17)?,
        threads: field(20)?,
        resident_pages: field(24)?,
    })
}

/// Bytes written to storage by the process and everything it reaped.
fn write_bytes(pid: Pid) -> Option<u64> {
    let io = read_proc(&proc_view::file(pid, "io")?)?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let stat = read_stat(Pid::this()).unwrap();
        assert!(stat.threads >= 1);
    }
}
