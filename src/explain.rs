//! `--explain`: the effective limits and the mechanism that enforces each on this machine
//! (also the `limits` of a session's report).

use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cgroup::{Job, Plan};
use crate::cli::Settings;
use crate::limits::ResolvedRlimit;
use crate::quota::SessionLimits;
use crate::signals::signal_name;
use crate::units::{format_duration, format_size};

const SAMPLED: &str = "sampling the session's /proc";

/// One effective limit and what enforces it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LimitRow {
    /// `wall`, `mem`, ..., `rlimit nofile`.
    pub limit: String,
    /// The value as leash prints it (`256.0 MiB`, `10m`, `256:256`).
    pub value: String,
    /// The value as a number in `unit` (bytes, seconds, tasks, CPUs), where it is one.
    pub amount: Value,
    /// What `amount` counts.
    pub unit: &'static str,
    /// The mechanism that enforces it here.
    pub mechanism: String,
}

/// Rows being collected.
#[derive(Default)]
struct Rows(Vec<LimitRow>);

impl Rows {
    fn add(&mut self, limit: &str, value: String, amount: (Value, &'static str), how: String) {
        self.0.push(LimitRow {
            limit: limit.into(),
            value,
            amount: amount.0,
            unit: amount.1,
            mechanism: how,
        });
    }
}

fn bytes(n: u64) -> (Value, &'static str) {
    (json!(n), "bytes")
}

fn seconds(d: Duration) -> (Value, &'static str) {
    (json!(d.as_secs_f64()), "seconds")
}

/// The effective limits, each with its mechanism on this machine.
pub fn rows(settings: &Settings, rlimits: &[ResolvedRlimit], plan: Option<&Plan>) -> Vec<LimitRow> {
    let by = |job| plan.and_then(|p| p.mechanism(job));
    let mut rows = Rows::default();
    rows.add(
        "session",
        "every process".into(),
        (Value::Null, ""),
        match by(Job::Contain) {
            Some(how) => format!("{how}; subreaper and process tree"),
            None => "subreaper and process tree (no cgroup)".into(),
        },
    );
    if let Some(wall) = settings.limits.wall {
        rows.add(
            "wall",
            format_duration(wall),
            seconds(wall),
            "leash's timer".into(),
        );
    }
    resource_rows(&mut rows, settings, rlimits, &by);
    output_rows(&mut rows, &settings.limits);
    for rlimit in rlimits {
        let text = rlimit.to_string();
        let (name, value) = text.split_once('=').unwrap_or((&text, ""));
        rows.add(
            &format!("rlimit {name}"),
            value.into(),
            (Value::Null, ""),
            "setrlimit in the command, per process (kernel)".into(),
        );
    }
    rows.0
}

/// Memory, CPU, processes and disk writes: by a cgroup or by sampling.
fn resource_rows(
    rows: &mut Rows,
    settings: &Settings,
    rlimits: &[ResolvedRlimit],
    by: &dyn Fn(Job) -> Option<&'static str>,
) {
    let limits = &settings.limits;
    if let Some(memory) = limits.memory {
        let how = match by(Job::Memory) {
            Some(how) => format!("{how}; an OOM kill stops the session; counts tmpfs files"),
            None => format!(
                "{SAMPLED}: summed PSS; RLIMIT_DATA backstop per process; \
                 tmpfs files (/dev/shm) not counted"
            ),
        };
        rows.add("mem", format_size(memory), bytes(memory), how);
    }
    if let Some(cpu) = limits.cpu {
        let how = by(Job::CpuTime).map_or_else(
            || format!("{SAMPLED}: CPU of live and ended processes"),
            String::from,
        );
        let how = format!("{how}; RLIMIT_CPU backstop");
        rows.add("cpu", format_duration(cpu), seconds(cpu), how);
    }
    if let Some(rate) = settings.cpu_rate {
        let how = by(Job::CpuRate).unwrap_or("no cpu controller: refused");
        rows.add(
            "cpu-rate",
            format!("{rate} CPU"),
            (json!(rate), "cpus"),
            how.into(),
        );
    }
    if let Some(tasks) = limits.tasks {
        let how = match by(Job::Pids) {
            Some(how) => format!("{how}; a refused fork stops the session"),
            None if rlimits.iter().any(|r| r.rlimit().name() == "nproc") => {
                format!("{SAMPLED}: live processes and threads; RLIMIT_NPROC backstop")
            }
            None => format!(
                "{SAMPLED}: live processes and threads; \
                 no kernel backstop (RLIMIT_NPROC does not hold this user)"
            ),
        };
        rows.add("procs", tasks.to_string(), (json!(tasks), "tasks"), how);
    }
    if let Some(written) = limits.disk_write {
        let how = format!("{SAMPLED}: write_bytes of live and ended processes");
        rows.add("disk-write", format_size(written), bytes(written), how);
    }
}

/// Output and idleness: by the output relay.
fn output_rows(rows: &mut Rows, limits: &SessionLimits) {
    let relay = "leash's output relay";
    if let Some(output) = limits.output {
        let how = format!("{relay}: stdout and stderr");
        rows.add("output", format_size(output), bytes(output), how);
    }
    if let Some(idle) = limits.idle {
        let how = format!("{relay}: time since the last output");
        rows.add("idle", format_duration(idle), seconds(idle), how);
    }
}

/// The explanation as lines of `limit  value  mechanism`.
pub fn explanation(settings: &Settings, rlimits: &[ResolvedRlimit], plan: Option<&Plan>) -> String {
    let rows = rows(settings, rlimits, plan);
    let width = |pick: fn(&LimitRow) -> usize| rows.iter().map(pick).max().unwrap_or(0);
    let (name_width, value_width) = (width(|r| r.limit.len()), width(|r| r.value.len()));
    let mut out = String::new();
    for row in &rows {
        let (name, value, how) = (&row.limit, &row.value, &row.mechanism);
        let _ = writeln!(out, "{name:name_width$}  {value:value_width$}  {how}");
    }
    if let Some(plan) = plan {
        for (hierarchy, _) in &plan.hierarchies {
            let _ = writeln!(out, "cgroup: below {}", hierarchy.parent.display());
        }
    }
    let _ = writeln!(
        out,
        "stop: SIG{} to every process of the session, SIGKILL after {}",
        signal_name(settings.signal),
        format_duration(settings.kill_after)
    );
    out
}

/// Print the explanation on stdout.
pub fn print(settings: &Settings, rlimits: &[ResolvedRlimit], plan: Option<&Plan>) {
    print!("{}", explanation(settings, rlimits, plan));
}
