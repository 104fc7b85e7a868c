//! Session-wide limits: what each one caps, when it is breached, the per-process rlimits
//! that back it up, and how often the session must be sampled to catch a breach in time.

use std::time::Duration;

use nix::libc::rlim_t;

use crate::accounting::{Usage, Wanted};
use crate::limits::Rlimit;
use crate::units::{format_duration, format_size};

/// Limits that hold for the session as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// Wall-clock time.
    pub wall: Option<Duration>,
    /// Proportional set size of all processes together, in bytes.
    pub memory: Option<u64>,
    /// CPU time (user + system) of every process the session ever ran.
    pub cpu: Option<Duration>,
    /// Processes and threads alive at once.
    pub tasks: Option<u64>,
    /// Bytes written to storage.
    pub disk_write: Option<u64>,
    /// Bytes written to stdout and stderr together.
    pub output: Option<u64>,
    /// Longest time without any output.
    pub idle: Option<Duration>,
}

impl SessionLimits {
    /// Whether leash must relay the session's output to count it.
    pub fn relayed(&self) -> bool {
        self.output.is_some() || self.idle.is_some()
    }
}

/// Which session limits a cgroup enforces or counts (all false without one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByCgroup {
    /// The kernel holds the memory limit (memory.max / memory.limit_in_bytes).
    pub memory: bool,
    /// The kernel holds the process limit (pids.max) and counts the tasks.
    pub tasks: bool,
}

/// A limit the session went beyond, and what was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breach {
    /// The wall-clock limit was reached.
    Wall(Duration),
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
    /// The limit's name, as `--explain` and reports call it.
    pub fn limit_name(self) -> &'static str {
        match self {
            Breach::Wall(_) => "wall",
            Breach::Memory(..) | Breach::MemoryOom(_) => "mem",
            Breach::Cpu(..) => "cpu",
            Breach::Tasks(..) | Breach::TasksRefused(_) => "procs",
            Breach::DiskWrite(..) => "disk-write",
            Breach::Output(_) => "output",
            Breach::Idle(_) => "idle",
        }
    }

    /// The limit and what was observed, in the limit's unit (bytes, seconds, tasks); the
    /// observation is `None` where the kernel refused instead of leash measuring.
    pub fn amounts(self) -> (f64, Option<f64>) {
        #[allow(clippy::cast_precision_loss)] // figures far below 2^52
        let n = |v: u64| v as f64;
        match self {
            Breach::Wall(limit) | Breach::Idle(limit) => {
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
    pub fn describe(self) -> String {
        match self {
            Breach::Wall(limit) => format!("wall time limit {} reached", format_duration(limit)),
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
                format_duration(Duration::from_millis(
                    u64::try_from(seen.as_millis()).unwrap_or(u64::MAX)
                ))
            ),
            Breach::MemoryOom(limit) => format!(
                "memory limit {} reached (the kernel's OOM killer ended a process)",
                format_size(limit)
            ),
            Breach::Tasks(limit, seen) => {
                format!("process limit {limit} exceeded ({seen} processes and threads)")
            }
            Breach::TasksRefused(limit) => {
                format!("process limit {limit} reached (the kernel refused a new process)")
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

/// The shortest and longest pause between two samples.
pub const FASTEST_SAMPLE: Duration = Duration::from_millis(2);
/// Sampling when nothing approaches a limit: cheap, and still prompt.
pub const SLOWEST_SAMPLE: Duration = Duration::from_millis(100);
/// The first pause: a bomb starts at once, so sampling starts fast and backs off.
pub const FIRST_SAMPLE: Duration = Duration::from_millis(5);
/// While usage is calm, sampling may cost at most one part in this many of one CPU
/// (0.25%: half of the 0.5% target, leaving room for the fast samples of busy moments).
pub const SAMPLING_BUDGET: u32 = 400;
/// The longest pause between two samples of a large, calm session.
pub const CALMEST_SAMPLE: Duration = Duration::from_secs(1);
/// Sessions with fewer tasks are never sampled less often than every 100 ms: their samples
/// are cheap, and a burst of a few processes fills memory within a second.
pub const LARGE_SESSION: u64 = 32;

/// Stretch a calm `interval` so that samples costing `cost` each stay within the budget:
/// a large session (`tasks`) whose usage is far from its limits is sampled less often, up
/// to once a second. An interval shortened because usage approaches a limit is left as it
/// is, and so is a small session's.
pub fn within_budget(interval: Duration, cost: Duration, tasks: u64) -> Duration {
    if interval < SLOWEST_SAMPLE || tasks < LARGE_SESSION {
        return interval;
    }
    interval.max(cost * SAMPLING_BUDGET).min(CALMEST_SAMPLE)
}

impl SessionLimits {
    /// Whether any limit needs the session sampled.
    pub fn sampled(&self) -> bool {
        self.memory.is_some()
            || self.cpu.is_some()
            || self.tasks.is_some()
            || self.disk_write.is_some()
    }

    /// Which figures the sampler must read from /proc, given what the cgroup counts;
    /// `recorded`: the session's record wants every figure.
    pub fn wanted(&self, by_cgroup: ByCgroup, recorded: bool) -> Wanted {
        let memory = (self.memory.is_some() || recorded) && !by_cgroup.memory;
        Wanted {
            memory,
            cpu: self.cpu.is_some() || recorded,
            tasks: self.tasks.is_some() || recorded,
            exact_memory_above: self.memory.filter(|_| memory),
            written: self.disk_write.is_some() || recorded,
            tasks_limit: self.tasks,
        }
    }

    /// The first limit `usage` goes beyond, if any. Where a cgroup holds a limit, the
    /// kernel's refusals (an OOM kill, a refused fork) are the breach.
    pub fn breach(&self, usage: &Usage) -> Option<Breach> {
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

    /// How long to wait before the next sample: back off gently while usage is far from
    /// every limit, and at the rate usage grew over the last `elapsed`, wake well before
    /// it would reach one.
    pub fn next_interval(
        &self,
        before: &Usage,
        now: &Usage,
        elapsed: Duration,
        last: Duration,
    ) -> Duration {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let pairs = [
            (self.memory, before.memory, now.memory),
            (self.tasks, before.tasks, now.tasks),
            (self.cpu.map(nanos), nanos(before.cpu), nanos(now.cpu)),
            (self.disk_write, before.written, now.written),
        ];
        let mut interval = (last * 3 / 2).min(SLOWEST_SAMPLE);
        for (limit, before, now) in pairs {
            let Some(limit) = limit else { continue };
            interval = interval.min(time_to_reach(limit, before, now, elapsed) / 2);
        }
        interval.clamp(FASTEST_SAMPLE, SLOWEST_SAMPLE)
    }

    /// Per-process rlimits that back the session limits up in the kernel, for resources
    /// the user did not set and no cgroup holds: memory → RLIMIT_DATA a sixteenth above it (heap and private
    /// mappings; unlike
    /// RLIMIT_AS it does not count address space a JIT or allocator only reserves), CPU →
    /// RLIMIT_CPU set a second above the session limit (so it can never fire first),
    /// processes → RLIMIT_NPROC where the kernel enforces it (not for root). RLIMIT_NPROC
    /// counts every task of the user, so it is set to the user's tasks now plus the limit
    /// plus one: `user_tasks` gives that count, or `None` where the rlimit does not apply.
    pub fn backstops(
        &self,
        by_cgroup: ByCgroup,
        user_tasks: impl FnOnce() -> Option<u64>,
    ) -> Vec<(Rlimit, rlim_t, rlim_t)> {
        let mut backstops = Vec::new();
        let memory = self.memory.filter(|_| !by_cgroup.memory);
        if let (Some(memory), Some(data)) = (memory, Rlimit::named("data")) {
            // A sixteenth above the limit: the sampler normally sees the breach first and
            // stops the session (exit 124); a bomb that outruns it still fails to allocate
            // near the limit.
            let backstop = memory.saturating_add(memory / 16);
            backstops.push((data, backstop, backstop));
        }
        if let (Some(cpu), Some(rlimit)) = (self.cpu, Rlimit::named("cpu")) {
            let seconds = cpu.as_secs() + u64::from(cpu.subsec_nanos() > 0) + 1;
            backstops.push((rlimit, seconds, seconds + 1));
        }
        let tasks = self.tasks.filter(|_| !by_cgroup.tasks);
        if let (Some(tasks), Some(rlimit)) = (tasks, Rlimit::named("nproc"))
            && let Some(others) = user_tasks()
        {
            // One task more than the limit, so that a bomb held by the rlimit still shows
            // as a breach to the sampler and the session is stopped.
            let nproc = others.saturating_add(tasks).saturating_add(1);
            backstops.push((rlimit, nproc, nproc));
        }
        backstops
    }
}

/// A limit, what it counts, its value, the usage now, and how to show them.
type Figure<'a> = (
    &'static str,
    &'static str,
    Option<f64>,
    f64,
    &'a dyn Fn(f64) -> String,
);

/// `--warn`: says once per limit when a usage first reaches a share of it.
#[derive(Debug)]
pub struct Warner {
    fraction: f64,
    warned: Vec<&'static str>,
}

impl Warner {
    /// Warn at `fraction` of each limit.
    pub fn new(fraction: f64) -> Warner {
        Warner {
            fraction,
            warned: Vec::new(),
        }
    }

    /// When the wall-clock limit's warning is due, if it has not been given.
    pub fn wall_due(&self, limits: &SessionLimits) -> Option<Duration> {
        let wall = limits.wall?;
        (!self.warned.contains(&"wall")).then(|| wall.mul_f64(self.fraction))
    }

    /// The warnings due now, each as (limit, share reached, message), given once.
    pub fn check(
        &mut self,
        limits: &SessionLimits,
        usage: &Usage,
        elapsed: Duration,
        output: Option<u64>,
    ) -> Vec<(&'static str, f64, String)> {
        #[allow(clippy::cast_precision_loss)] // figures far below 2^52
        let n = |v: u64| v as f64;
        let seconds = |d: Duration| d.as_secs_f64();
        let size = |v: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let bytes = v as u64;
            format_size(bytes)
        };
        let time = |v: f64| {
            format_duration(Duration::from_millis(
                Duration::from_secs_f64(v)
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            ))
        };
        let figures: [Figure<'_>; 6] = [
            (
                "wall",
                "wall time",
                limits.wall.map(seconds),
                seconds(elapsed),
                &time,
            ),
            (
                "mem",
                "memory",
                limits.memory.map(n),
                n(usage.memory),
                &size,
            ),
            (
                "cpu",
                "CPU time",
                limits.cpu.map(seconds),
                seconds(usage.cpu),
                &time,
            ),
            (
                "procs",
                "processes and threads",
                limits.tasks.map(n),
                n(usage.tasks),
                &|v| format!("{v:.0}"),
            ),
            (
                "disk-write",
                "disk writes",
                limits.disk_write.map(n),
                n(usage.written),
                &size,
            ),
            (
                "output",
                "output",
                limits.output.map(n),
                output.map_or(0.0, n),
                &size,
            ),
        ];
        let mut due = Vec::new();
        for (limit, what, cap, used, show) in figures {
            let Some(cap) = cap else { continue };
            if used < cap * self.fraction || self.warned.contains(&limit) {
                continue;
            }
            self.warned.push(limit);
            let share = used / cap;
            let message = format!(
                "warning: {what} at {:.0}% of its limit ({} of {})",
                share * 100.0,
                show(used),
                show(cap)
            );
            due.push((limit, share, message));
        }
        due
    }
}

/// At the growth seen from `before` to `now` over `elapsed`, how long until `limit`.
fn time_to_reach(limit: u64, before: u64, now: u64, elapsed: Duration) -> Duration {
    let headroom = u128::from(limit.saturating_sub(now));
    let growth = u128::from(now.saturating_sub(before));
    if growth == 0 {
        // Not growing: sample more often the closer usage already is.
        let used = u128::from(now) * 100 / u128::from(limit.max(1));
        return if used >= 50 {
            SLOWEST_SAMPLE * u32::try_from(100 - used.min(99)).unwrap_or(1) / 50
        } else {
            Duration::MAX
        };
    }
    let nanos = headroom * elapsed.as_nanos() / growth;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(memory: u64) -> Usage {
        Usage {
            memory,
            ..Usage::default()
        }
    }

    #[test]
    fn breaches_name_the_limit_and_the_value() {
        let limits = SessionLimits {
            memory: Some(256 << 20),
            ..SessionLimits::default()
        };
        assert_eq!(limits.breach(&usage(256 << 20)), None);
        let breach = limits.breach(&usage(279 << 20)).unwrap();
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
    fn sampling_speeds_up_when_usage_races_toward_a_limit() {
        let limits = SessionLimits {
            memory: Some(1000),
            ..SessionLimits::default()
        };
        let calm = limits.next_interval(&usage(100), &usage(100), SLOWEST_SAMPLE, SLOWEST_SAMPLE);
        assert_eq!(calm, SLOWEST_SAMPLE);
        let racing = limits.next_interval(
            &usage(100),
            &usage(500),
            Duration::from_millis(10),
            SLOWEST_SAMPLE,
        );
        assert_eq!(racing, Duration::from_micros(6250));
        let close = limits.next_interval(&usage(900), &usage(900), SLOWEST_SAMPLE, SLOWEST_SAMPLE);
        assert!(close <= Duration::from_millis(20), "{close:?}");
        let backing_off = limits.next_interval(&usage(1), &usage(1), FIRST_SAMPLE, FIRST_SAMPLE);
        assert!(backing_off > FIRST_SAMPLE && backing_off < SLOWEST_SAMPLE);
    }

    #[test]
    fn warnings_come_once_per_limit_at_the_share() {
        let limits = SessionLimits {
            memory: Some(100 << 20),
            wall: Some(Duration::from_secs(10)),
            ..SessionLimits::default()
        };
        let mut warner = Warner::new(0.8);
        assert_eq!(warner.wall_due(&limits), Some(Duration::from_secs(8)));
        let calm = warner.check(&limits, &usage(50 << 20), Duration::from_secs(1), None);
        assert!(calm.is_empty());
        let due = warner.check(&limits, &usage(85 << 20), Duration::from_secs(9), None);
        let messages: Vec<&str> = due.iter().map(|(_, _, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "warning: wall time at 90% of its limit (9s of 10s)",
                "warning: memory at 85% of its limit (85.0 MiB of 100.0 MiB)"
            ]
        );
        assert!(
            warner
                .check(&limits, &usage(99 << 20), Duration::from_secs(9), None)
                .is_empty()
        );
        assert_eq!(warner.wall_due(&limits), None);
    }

    #[test]
    fn calm_sampling_stays_within_its_budget() {
        let cheap = Duration::from_micros(100);
        assert_eq!(within_budget(SLOWEST_SAMPLE, cheap, 100), SLOWEST_SAMPLE);
        let costly = Duration::from_micros(2300);
        assert_eq!(
            within_budget(SLOWEST_SAMPLE, costly, 100),
            Duration::from_millis(920)
        );
        assert_eq!(
            within_budget(SLOWEST_SAMPLE, Duration::from_secs(3), 100),
            CALMEST_SAMPLE
        );
        // Racing toward a limit: as fast as it needs to be, whatever it costs.
        let racing = Duration::from_millis(4);
        assert_eq!(within_budget(racing, costly, 100), racing);
        // A small session: cheap enough, and bursts matter more.
        assert_eq!(within_budget(SLOWEST_SAMPLE, costly, 7), SLOWEST_SAMPLE);
    }

    #[test]
    fn cpu_backstop_cannot_fire_before_the_session_limit() {
        let limits = SessionLimits {
            cpu: Some(Duration::from_millis(1500)),
            ..SessionLimits::default()
        };
        let backstops = limits.backstops(ByCgroup::default(), || None);
        assert_eq!(backstops.len(), 1);
        assert_eq!((backstops[0].1, backstops[0].2), (3, 4));
    }

    #[test]
    fn nproc_backstop_leaves_room_for_the_users_other_tasks() {
        let limits = SessionLimits {
            tasks: Some(64),
            ..SessionLimits::default()
        };
        let backstops = limits.backstops(ByCgroup::default(), || Some(100));
        assert_eq!(
            (backstops[0].0.name(), backstops[0].1, backstops[0].2),
            ("nproc", 165, 165)
        );
        assert!(limits.backstops(ByCgroup::default(), || None).is_empty());
    }
}
