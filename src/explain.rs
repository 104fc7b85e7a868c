//! `--explain`: the effective limits and the mechanism that enforces each on this machine.

use std::fmt::Write;

use crate::cgroup::{Job, Plan};
use crate::cli::Settings;
use crate::limits::ResolvedRlimit;
use crate::signals::signal_name;
use crate::units::{format_duration, format_size};

const SAMPLED: &str = "sampling the session's /proc";

/// The explanation as lines of `limit  value  mechanism`.
pub fn explanation(settings: &Settings, rlimits: &[ResolvedRlimit], plan: Option<&Plan>) -> String {
    let limits = &settings.limits;
    let by = |job| plan.and_then(|p| p.mechanism(job));
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |name: &str, value: String, how: String| rows.push((name.into(), value, how));
    row(
        "session",
        "every process".into(),
        match by(Job::Contain) {
            Some(how) => format!("{how}; subreaper and process tree"),
            None => "subreaper and process tree (no cgroup)".into(),
        },
    );
    if let Some(wall) = limits.wall {
        row("wall", format_duration(wall), "leash's timer".into());
    }
    if let Some(memory) = limits.memory {
        let how = match by(Job::Memory) {
            Some(how) => format!("{how}; an OOM kill stops the session; counts tmpfs files"),
            None => format!(
                "{SAMPLED}: summed PSS; RLIMIT_DATA backstop per process; \
                 tmpfs files (/dev/shm) not counted"
            ),
        };
        row("mem", format_size(memory), how);
    }
    if let Some(cpu) = limits.cpu {
        let how = by(Job::CpuTime).map_or_else(
            || format!("{SAMPLED}: CPU of live and ended processes"),
            String::from,
        );
        row(
            "cpu",
            format_duration(cpu),
            format!("{how}; RLIMIT_CPU backstop"),
        );
    }
    if let Some(rate) = settings.cpu_rate {
        let how = by(Job::CpuRate).unwrap_or("no cpu controller: refused");
        row("cpu-rate", format!("{rate} CPU"), how.into());
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
        row("procs", tasks.to_string(), how);
    }
    if let Some(written) = limits.disk_write {
        row(
            "disk-write",
            format_size(written),
            format!("{SAMPLED}: write_bytes of live and ended processes"),
        );
    }
    for rlimit in rlimits {
        let text = rlimit.to_string();
        let (name, value) = text.split_once('=').unwrap_or((&text, ""));
        row(
            &format!("rlimit {name}"),
            value.into(),
            "setrlimit in the command, per process (kernel)".into(),
        );
    }
    let width =
        |pick: fn(&(String, String, String)) -> usize| rows.iter().map(pick).max().unwrap_or(0);
    let (name_width, value_width) = (width(|r| r.0.len()), width(|r| r.1.len()));
    let mut out = String::new();
    for (name, value, how) in &rows {
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
