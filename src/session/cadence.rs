//! Sampling cadence: how long leash may wait before it looks at the session's usage again,
//! fast while usage races toward a limit, slow while it is calm, within a CPU budget.

use std::time::Duration;

use crate::session::accounting::Usage;
use crate::session::session_limits::SessionLimits;

/// The shortest and longest pause between two samples.
pub(crate) const FASTEST_SAMPLE: Duration = Duration::from_millis(2);
/// Sampling when nothing approaches a limit: cheap, and still prompt.
pub(crate) const SLOWEST_SAMPLE: Duration = Duration::from_millis(100);
/// The first pause: a bomb starts at once, so sampling starts fast and backs off.
pub(crate) const FIRST_SAMPLE: Duration = Duration::from_millis(5);
/// While usage is calm, sampling may cost at most one part in this many of one CPU
/// (0.25%: half of the 0.5% target, leaving room for the fast samples of busy moments).
pub(crate) const SAMPLING_BUDGET: u32 = 400;
/// The longest pause between two samples of a large, calm session.
pub(crate) const CALMEST_SAMPLE: Duration = Duration::from_secs(1);
/// Sessions of fewer processes are never sampled less often than every 100 ms: their
/// samples are cheap, and a burst of a few processes fills memory (or a disk) within a
/// second. Processes, not threads: a two-process session of 45 threads (an agent's
/// runtime) is small, and a `dd` it starts writes hundreds of MiB in a stretched second.
pub(crate) const LARGE_SESSION: u64 = 32;

/// How fast a session may dirty the page cache, which is when the kernel counts a write
/// (write_bytes): 4 GiB/s, more than this machine's dd did (1.6 GiB/s, measured).
pub(crate) const FASTEST_WRITES: u64 = 4 << 30;

/// How fast one CPU can fill memory (fault in and zero fresh pages): 2 GiB/s, above
/// this machine's 1.1-1.2 GiB/s (a Python bytearray of 150 MiB and 1 GiB, measured).
pub(crate) const FASTEST_ALLOCATION_PER_CPU: u64 = 2 << 30;

/// The CPUs a memory bomb is assumed to fill memory with at once: those leash may run on,
/// at most eight (beyond that, calm sampling near a limit would cost more than it saves;
/// a machine that large has a cgroup, or memory to spare for the overshoot).
/// Asked once: the answer reads /proc/self/cgroup and the CPU quota's files, four system
/// calls a sample would otherwise pay.
fn allocating_cpus() -> u64 {
    static CPUS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8) as u64))
}

/// The longest pause while memory has `headroom` bytes left below its limit: memory filled
/// at the fastest rate since the last sample must not reach the limit before the next,
/// with half the headroom to spare for the sample's own time (on a loaded machine, most of
/// it waiting for a CPU) and the stop's.
fn calm_under_memory_limit(headroom: u64, cpus: u64) -> Duration {
    let rate = u128::from(FASTEST_ALLOCATION_PER_CPU * cpus.max(1));
    let nanos = u128::from(headroom / 2) * 1_000_000_000 / rate;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The longest calm pause under a `--disk-write` limit: writes starting just after a
/// sample at [`FASTEST_WRITES`] must not pass a quarter of the limit before the next one
/// (a 256 MiB limit: 16 ms; other limits have a kernel or rlimit backstop meanwhile).
fn calm_under_disk_limit(limit: u64) -> Duration {
    let nanos = u128::from(limit / 4) * 1_000_000_000 / u128::from(FASTEST_WRITES);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Stretch a calm `interval` so that samples costing `cost` each stay within the budget:
/// a large session (`processes`) whose usage is far from its limits is sampled less
/// often, up to once a second. An interval shortened because usage approaches a limit is
/// left as it is, and so is a small session's.
pub(crate) fn within_budget(interval: Duration, cost: Duration, processes: u64) -> Duration {
    if interval < SLOWEST_SAMPLE || processes < LARGE_SESSION {
        return interval;
    }
    interval.max(cost * SAMPLING_BUDGET).min(CALMEST_SAMPLE)
}

/// How long to wait before the next sample: back off gently while usage is far from
/// every limit, and at the rate usage grew over the last `elapsed`, wake well before
/// it would reach one.
pub(crate) fn next_interval(
    limits: &SessionLimits,
    before: &Usage,
    now: &Usage,
    elapsed: Duration,
    last: Duration,
) -> Duration {
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let pairs = [
        (limits.memory, before.memory, now.memory),
        (limits.tasks, before.tasks, now.tasks),
        (limits.cpu.map(nanos), nanos(before.cpu), nanos(now.cpu)),
        (limits.disk_write, before.written, now.written),
    ];
    let mut interval = (last * 3 / 2).min(SLOWEST_SAMPLE);
    for (limit, before, now) in pairs {
        let Some(limit) = limit else { continue };
        interval = interval.min(time_to_reach(limit, before, now, elapsed) / 2);
    }
    if let Some(limit) = limits.disk_write {
        interval = interval.min(calm_under_disk_limit(limit));
    }
    // A small session only: a large one's samples cost too much to take this often when
    // nothing grows (its calm pause is stretched to the budget instead).
    if let Some(limit) = limits.memory.filter(|_| now.processes < LARGE_SESSION) {
        let headroom = limit.saturating_sub(now.memory);
        interval = interval.min(calm_under_memory_limit(headroom, allocating_cpus()));
    }
    interval.clamp(FASTEST_SAMPLE, SLOWEST_SAMPLE)
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

    const GIB: u64 = 1 << 30;

    #[test]
    fn sampling_speeds_up_when_usage_races_toward_a_limit() {
        let limits = SessionLimits {
            memory: Some(1000 * GIB),
            ..SessionLimits::default()
        };
        let calm = next_interval(
            &limits,
            &Usage::of_memory(100 * GIB),
            &Usage::of_memory(100 * GIB),
            SLOWEST_SAMPLE,
            SLOWEST_SAMPLE,
        );
        assert_eq!(calm, SLOWEST_SAMPLE);
        let racing = next_interval(
            &limits,
            &Usage::of_memory(100 * GIB),
            &Usage::of_memory(500 * GIB),
            Duration::from_millis(10),
            SLOWEST_SAMPLE,
        );
        assert_eq!(racing, Duration::from_micros(6250));
        let close = next_interval(
            &limits,
            &Usage::of_memory(900 * GIB),
            &Usage::of_memory(900 * GIB),
            SLOWEST_SAMPLE,
            SLOWEST_SAMPLE,
        );
        assert!(close <= Duration::from_millis(20), "{close:?}");
        let backing_off = next_interval(
            &limits,
            &Usage::of_memory(GIB),
            &Usage::of_memory(GIB),
            FIRST_SAMPLE,
            FIRST_SAMPLE,
        );
        assert!(backing_off > FIRST_SAMPLE && backing_off < SLOWEST_SAMPLE);
    }

    #[test]
    fn near_a_memory_limit_sampling_keeps_pace_with_the_fastest_allocation() {
        // 56 MiB left, two CPUs filling at 2 GiB/s each: half of it in 6.8 ms.
        let pause = calm_under_memory_limit(56 << 20, 2);
        assert_eq!(pause, Duration::from_nanos(6_835_937));
        // Far from it: no faster than calm sampling anyway.
        assert!(calm_under_memory_limit(4 << 30, 8) > SLOWEST_SAMPLE);
    }

    #[test]
    fn a_disk_write_limit_keeps_calm_sampling_close() {
        let limits = SessionLimits {
            disk_write: Some(256 << 20),
            ..SessionLimits::default()
        };
        let calm = next_interval(
            &limits,
            &Usage::default(),
            &Usage::default(),
            SLOWEST_SAMPLE,
            SLOWEST_SAMPLE,
        );
        assert_eq!(calm, Duration::from_micros(15_625));
        let large = SessionLimits {
            disk_write: Some(100 << 30),
            ..SessionLimits::default()
        };
        let calm = next_interval(
            &large,
            &Usage::default(),
            &Usage::default(),
            SLOWEST_SAMPLE,
            SLOWEST_SAMPLE,
        );
        assert_eq!(calm, SLOWEST_SAMPLE);
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
}
