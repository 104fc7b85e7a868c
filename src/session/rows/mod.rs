//! The limit rows: each effective limit and the mechanism that enforces it on this
//! machine, as `--explain` prints them and the report's `limits` lists them.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::machine::cgroup::{Job, Placement};
use crate::machine::proc_view::{self, View};
use crate::machine::rlimit::{ResolvedRlimit, Rlimit};
use crate::machine::units::{format_duration, format_size};
use crate::session::isolation::Isolation;
use crate::session::session_limits::{LimitKind, SessionLimits};
use crate::session::spec::Spec;

mod protections;

const SAMPLED: &str = "sampling the session's /proc";

/// What a row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowName {
    /// Holding every process of the session.
    Session,
    /// Keeping the session from reaching outside itself.
    Protection(Protection),
    /// A session limit.
    Limit(LimitKind),
    /// A per-process rlimit.
    Rlimit(Rlimit),
}

/// A protection of what is outside the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protection {
    /// No signal to (and no ptrace of) leash or any other process outside the session.
    Signals,
    /// No connection to an abstract unix socket made outside the session.
    AbstractSockets,
    /// System calls the session never needs, refused.
    Syscalls,
    /// A PID namespace of the session's own.
    PidNamespace,
    /// What of the network the session reaches.
    Network,
    /// Where the session may write.
    Writes,
    /// What the session may read.
    Reads,
    /// A /tmp and /dev/shm of the session's own.
    PrivateTmp,
}

impl fmt::Display for RowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowName::Session => f.write_str("session"),
            RowName::Protection(Protection::Signals) => f.write_str("signals"),
            RowName::Protection(Protection::AbstractSockets) => f.write_str("abstract-sockets"),
            RowName::Protection(Protection::Syscalls) => f.write_str("syscalls"),
            RowName::Protection(Protection::PidNamespace) => f.write_str("pid-namespace"),
            RowName::Protection(Protection::Network) => f.write_str("network"),
            RowName::Protection(Protection::Writes) => f.write_str("writes"),
            RowName::Protection(Protection::Reads) => f.write_str("reads"),
            RowName::Protection(Protection::PrivateTmp) => f.write_str("private-tmp"),
            RowName::Limit(kind) => f.write_str(kind.name()),
            RowName::Rlimit(rlimit) => write!(f, "rlimit {}", rlimit.name()),
        }
    }
}

impl Serialize for RowName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One effective limit and what enforces it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct LimitRow {
    /// `session`, `wall`, `mem`, ..., `rlimit nofile`.
    pub(crate) limit: RowName,
    /// The value as leash prints it (`256.0 MiB`, `10m`, `256:256`).
    pub(crate) value: String,
    /// The value as a number in `unit` (bytes, seconds, tasks, CPUs), where it is one.
    pub(crate) amount: Value,
    /// What `amount` counts.
    pub(crate) unit: &'static str,
    /// The mechanism that enforces it here.
    pub(crate) mechanism: String,
}

/// Rows being collected.
#[derive(Default)]
struct Rows(Vec<LimitRow>);

impl Rows {
    fn add(&mut self, limit: RowName, value: String, amount: (Value, &'static str), how: String) {
        self.0.push(LimitRow {
            limit,
            value,
            amount: amount.0,
            unit: amount.1,
            mechanism: how,
        });
    }
}

fn limit(kind: LimitKind) -> RowName {
    RowName::Limit(kind)
}

fn bytes(n: u64) -> (Value, &'static str) {
    (json!(n), "bytes")
}

fn seconds(d: Duration) -> (Value, &'static str) {
    (json!(d.as_secs_f64()), "seconds")
}

/// How the session's processes are held: `how` is the cgroup's part, if any.
fn contained_by(how: Option<&str>) -> String {
    match how {
        Some(how) => format!("{how}; subreaper and process tree"),
        None => "subreaper and process tree (no cgroup)".into(),
    }
}

/// How leash reads the process tree where `/proc` is not of its own PID namespace.
fn seen_through() -> &'static str {
    match proc_view::view() {
        View::Outer { .. } => {
            "; /proc is an outer PID namespace's (a sandbox's), its processes found by NSpid"
        }
        View::Own | View::Blind => "",
    }
}

/// The effective limits and protections, each with its mechanism on this machine.
pub(crate) fn rows(
    settings: &Spec,
    rlimits: &[ResolvedRlimit],
    plan: Option<&Placement>,
    isolation: &Isolation,
) -> Vec<LimitRow> {
    let by = |job| plan.and_then(|p| p.mechanism(job));
    let mut rows = Rows::default();
    rows.add(
        RowName::Session,
        "every process".into(),
        (Value::Null, ""),
        format!("{}{}", contained_by(by(Job::Contain)), seen_through()),
    );
    protections::rows(&mut rows, isolation);
    if let Some(wall) = settings.limits.wall {
        rows.add(
            RowName::Limit(LimitKind::Wall),
            format_duration(wall),
            seconds(wall),
            "leash's timer".into(),
        );
    }
    memory_and_cpu_rows(&mut rows, settings, &by);
    task_and_disk_rows(&mut rows, &settings.limits, rlimits, &by, isolation);
    output_rows(&mut rows, &settings.limits);
    for rlimit in rlimits {
        rows.add(
            RowName::Rlimit(rlimit.rlimit()),
            rlimit.values(),
            (Value::Null, ""),
            "setrlimit in the command, per process (kernel)".into(),
        );
    }
    rows.0
}

/// Memory and CPU: by a cgroup or by sampling.
fn memory_and_cpu_rows(rows: &mut Rows, settings: &Spec, by: &dyn Fn(Job) -> Option<&'static str>) {
    let limits = &settings.limits;
    if let Some(memory) = limits.memory {
        let how = match by(Job::Memory) {
            Some(how) => format!("{how}; an OOM kill stops the session; counts tmpfs files"),
            None => format!(
                "{SAMPLED}: summed PSS, read again only where sharing may have \
                 changed; faster the closer the limit; tmpfs files (/dev/shm) not counted"
            ),
        };
        rows.add(
            limit(LimitKind::Memory),
            format_size(memory),
            bytes(memory),
            how,
        );
    }
    if let Some(cpu) = limits.cpu {
        let how = by(Job::CpuTime).map_or_else(
            || format!("{SAMPLED}: CPU of live and ended processes"),
            String::from,
        );
        let how = format!("{how}; RLIMIT_CPU backstop");
        rows.add(
            limit(LimitKind::Cpu),
            format_duration(cpu),
            seconds(cpu),
            how,
        );
    }
    if let Some(rate) = settings.cpu_rate {
        let how = by(Job::CpuRate).unwrap_or("no cpu controller: refused");
        rows.add(
            limit(LimitKind::CpuRate),
            format!("{rate} CPU"),
            (json!(rate), "cpus"),
            how.into(),
        );
    }
}

/// Processes and disk writes: by a cgroup or by sampling.
fn task_and_disk_rows(
    rows: &mut Rows,
    limits: &SessionLimits,
    rlimits: &[ResolvedRlimit],
    by: &dyn Fn(Job) -> Option<&'static str>,
    isolation: &Isolation,
) {
    if let Some(tasks) = limits.tasks {
        let nproc = rlimits.iter().any(|r| r.rlimit() == Rlimit::NPROC);
        let how = by(Job::Pids).map_or_else(
            || unheld_tasks(isolation, nproc),
            |how| format!("{how}; a refused fork stops the session"),
        );
        rows.add(
            limit(LimitKind::Procs),
            tasks.to_string(),
            (json!(tasks), "tasks"),
            how,
        );
    }
    if let Some(written) = limits.disk_write {
        let how = format!("{SAMPLED}: write_bytes of live and ended processes");
        rows.add(
            limit(LimitKind::DiskWrite),
            format_size(written),
            bytes(written),
            how,
        );
    }
}

/// Output and idleness: by the output relay.
fn output_rows(rows: &mut Rows, limits: &SessionLimits) {
    let relay = "leash's output relay";
    if let Some(output) = limits.output {
        let how = format!("{relay}: stdout and stderr");
        rows.add(
            limit(LimitKind::Output),
            format_size(output),
            bytes(output),
            how,
        );
    }
    if let Some(idle) = limits.idle {
        let how = format!("{relay}: time since the last output");
        rows.add(
            limit(LimitKind::Idle),
            format_duration(idle),
            seconds(idle),
            how,
        );
    }
}

/// What holds `--procs` without a pids cgroup: the fork gate, or sampling with the
/// RLIMIT_NPROC backstop (`nproc`: set).
fn unheld_tasks(isolation: &Isolation, nproc: bool) -> String {
    match &isolation.fork_gate {
        Ok(()) => "fork gate (seccomp user notification): each new process or thread waits \
                   for leash, which refuses it (EAGAIN) at the limit, and that refusal stops \
                   the session; sampled where an outer supervisor's gate holds the session"
            .into(),
        Err(why) => format!(
            "{SAMPLED}: live processes and threads (no fork gate: {why}); {}",
            nproc_backstop(nproc, isolation)
        ),
    }
}

/// The RLIMIT_NPROC backstop of `--procs` without a pids cgroup or a fork gate.
fn nproc_backstop(set: bool, isolation: &Isolation) -> &'static str {
    match (set, isolation.counts_processes_apart) {
        (true, true) => {
            "RLIMIT_NPROC backstop, in a user namespace of the session's own, so only its \
             processes count"
        }
        (true, false) => {
            "RLIMIT_NPROC backstop, shared with your other processes: concurrent sessions \
             can starve each other (the report says when they filled it)"
        }
        (false, _) => "no kernel backstop (RLIMIT_NPROC does not hold this user)",
    }
}
