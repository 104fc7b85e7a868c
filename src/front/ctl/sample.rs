//! What a running session uses now, as `leashctl` shows it: read as the supervisor reads
//! it (`accounting::read`: its cgroup where one counts, else its process tree in /proc);
//! with the peaks and the output only the supervisor knows, from the figures it publishes.

use serde::Serialize;

use crate::machine::small_file;
use crate::session::accounting::{self, Wanted};
use crate::session::registry::{self, Figures, Found};

/// A session's usage now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Snapshot {
    /// Seconds since the session started.
    pub(crate) elapsed_seconds: f64,
    /// CPU time, user and system, of every process the session ran.
    pub(crate) cpu_seconds: f64,
    /// Memory now, as the supervisor holds `--mem` on it: the memory cgroup's usage, else
    /// the resident sizes summed (the proportional sizes where that sum passes the limit).
    pub(crate) memory_bytes: u64,
    /// The highest memory seen (the cgroup's peak, or the supervisor's).
    pub(crate) peak_memory_bytes: Option<u64>,
    /// Processes and threads alive.
    pub(crate) tasks: u64,
    /// The highest seen by the supervisor.
    pub(crate) peak_tasks: Option<u64>,
    /// Bytes written to storage, as the supervisor last measured.
    pub(crate) written_bytes: Option<u64>,
    /// Bytes of output, as the supervisor last counted (with `--output`/`--idle`).
    pub(crate) output_bytes: Option<u64>,
    /// The processes of the session, by PID.
    pub(crate) processes: Vec<i32>,
}

/// Sample the session `found` names: its usage as its supervisor reads it (the same
/// reader, so one memory figure per session: the cgroup's, else the resident sizes, or
/// the proportional ones where those pass the memory limit), with the peaks and counts
/// only the supervisor knows from the figures it publishes.
pub(crate) fn sample(found: &Found) -> Snapshot {
    let entry = &found.entry;
    let counted = entry.gauges().read();
    let wanted = Wanted {
        memory: counted.memory.is_none(),
        cpu: true,
        tasks: true,
        exact_memory_above: entry.limits.memory_bytes,
        written: false,
        processes: true,
        tasks_limit: None,
    };
    let (usage, processes) = accounting::read(entry.supervisor.pid(), &wanted, &counted, 0, None);
    let figures: Figures = found
        .figures
        .then(|| small_file::read_regular(&registry::beside(found, "figures")).ok())
        .flatten()
        .and_then(|(bytes, _)| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let peak = counted.memory_peak.or(figures.peak_memory_bytes);
    Snapshot {
        elapsed_seconds: (registry::now_seconds() - entry.started_at).max(0.0),
        cpu_seconds: usage.cpu.as_secs_f64(),
        memory_bytes: usage.memory,
        peak_memory_bytes: peak.map(|p| p.max(usage.memory)),
        tasks: usage.tasks,
        peak_tasks: figures.peak_tasks.map(|p| p.max(usage.tasks)),
        written_bytes: figures.written_bytes,
        output_bytes: figures.output_bytes,
        processes: processes.iter().map(|p| p.as_raw()).collect(),
    }
}
