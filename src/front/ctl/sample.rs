//! What a running session uses now, as `leashctl` reads it itself: its cgroup where it
//! has one that counts, else its supervisor's process tree in /proc; with the peaks and
//! the output only the supervisor knows, from the figures it publishes.

use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;

use crate::machine::tree::{self, StatFields, Threads, read_proc};
use crate::session::accounting::{page_size, read_stat, ticks_per_second};
use crate::session::registry::{self, CgroupPath, Figures, Found};

/// A session's usage now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Live {
    /// Seconds since the session started.
    pub(crate) elapsed_seconds: f64,
    /// CPU time, user and system, of every process the session ran.
    pub(crate) cpu_seconds: f64,
    /// Memory now: the memory cgroup's usage, else the resident sizes summed.
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

/// What /proc says of the processes below a supervisor.
struct Tree {
    /// Their CPU time and that of every process reaped below the supervisor, in ticks.
    cpu_ticks: u64,
    threads: u64,
    resident_pages: u64,
    processes: Vec<i32>,
}

/// Read the processes below `supervisor`. Ended processes were reaped by the supervisor
/// (or by init, itself below it): their time is in the reaper's children's times.
fn read_tree(supervisor: nix::unistd::Pid) -> Tree {
    let stat = read_proc(&format!("/proc/{supervisor}/stat")).unwrap_or_default();
    let fields = StatFields::of(&stat);
    let field = |n| fields.as_ref().and_then(|f| f.get(n)).unwrap_or(0);
    // A process of one thread has one children file to read.
    let children_of = |threads| {
        if threads == 1 {
            Threads::One
        } else {
            Threads::Any
        }
    };
    let mut below = Tree {
        cpu_ticks: field(16) + field(17),
        threads: 0,
        resident_pages: 0,
        processes: Vec::new(),
    };
    tree::walk_below(supervisor, children_of(field(20)), |pid| {
        below.processes.push(pid.as_raw());
        let stat = read_stat(pid);
        if let Some(stat) = &stat {
            below.cpu_ticks += stat.cpu_ticks;
            below.threads += stat.threads;
            below.resident_pages += stat.resident_pages;
        }
        ControlFlow::Continue(children_of(stat.map_or(0, |s| s.threads)))
    });
    below
}

/// Sample the session `found` names.
pub(crate) fn sample(found: &Found) -> Live {
    let entry = &found.entry;
    let below = read_tree(entry.supervisor.pid());
    let resident = below.resident_pages * page_size();
    let figures: Figures = found
        .figures
        .then(|| std::fs::read(registry::beside(found, "figures")).ok())
        .flatten()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .unwrap_or_default();
    let memory_dir = with_controller(&entry.cgroups, "memory");
    let memory_bytes = memory_dir.map_or(resident, |dir| memory_now(dir).unwrap_or(resident));
    let peak = memory_dir
        .and_then(memory_peak)
        .or(figures.peak_memory_bytes);
    let tasks = with_controller(&entry.cgroups, "pids")
        .and_then(|dir| first_number(&dir.path.join("pids.current")))
        .unwrap_or(below.threads);
    #[allow(clippy::cast_precision_loss)] // ticks: far below 2^52
    Live {
        elapsed_seconds: (registry::now_seconds() - entry.started_at).max(0.0),
        cpu_seconds: below.cpu_ticks as f64 / ticks_per_second() as f64,
        memory_bytes,
        peak_memory_bytes: peak.map(|p| p.max(memory_bytes)),
        tasks,
        peak_tasks: figures.peak_tasks.map(|p| p.max(tasks)),
        written_bytes: figures.written_bytes,
        output_bytes: figures.output_bytes,
        processes: below.processes,
    }
}

/// The session's cgroup directory that has `controller`.
fn with_controller<'a>(cgroups: &'a [CgroupPath], controller: &str) -> Option<&'a CgroupPath> {
    cgroups
        .iter()
        .find(|c| c.controllers.iter().any(|name| name == controller))
}

fn memory_now(dir: &CgroupPath) -> Option<u64> {
    let file = if dir.version == 2 {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    first_number(&dir.path.join(file))
}

fn memory_peak(dir: &CgroupPath) -> Option<u64> {
    if dir.version == 2 {
        first_number(&dir.path.join("memory.peak"))
    } else {
        first_number(&dir.path.join("memory.max_usage_in_bytes"))
    }
}

fn first_number(file: &Path) -> Option<u64> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}
