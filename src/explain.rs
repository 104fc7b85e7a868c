//! `--explain`: the effective limits and the mechanism that enforces each on this machine.

use std::fmt::Write;

use crate::cli::Settings;
use crate::limits::ResolvedRlimit;
use crate::signals::signal_name;
use crate::units::{format_duration, format_size};

/// The explanation as lines of `limit  value  mechanism`.
pub fn explanation(settings: &Settings, rlimits: &[ResolvedRlimit]) -> String {
    let limits = &settings.limits;
    let sampled = "sampling the session's /proc";
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |name: &str, value: String, how: String| rows.push((name.into(), value, how));
    if let Some(wall) = limits.wall {
        row("wall", format_duration(wall), "leash's timer".into());
    }
    if let Some(memory) = limits.memory {
        row(
            "mem",
            format_size(memory),
            format!("{sampled}: summed PSS; RLIMIT_DATA backstop per process"),
        );
    }
    if let Some(cpu) = limits.cpu {
        row(
            "cpu",
            format_duration(cpu),
            format!("{sampled}: CPU of live and ended processes; RLIMIT_CPU backstop"),
        );
    }
    if let Some(tasks) = limits.tasks {
        let backstop = if rlimits.iter().any(|r| r.rlimit().name() == "nproc") {
            "RLIMIT_NPROC backstop"
        } else {
            "no kernel backstop (RLIMIT_NPROC does not hold this user)"
        };
        row(
            "procs",
            tasks.to_string(),
            format!("{sampled}: live processes and threads; {backstop}"),
        );
    }
    if let Some(written) = limits.disk_write {
        row(
            "disk-write",
            format_size(written),
            format!("{sampled}: write_bytes of live and ended processes"),
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
    let _ = writeln!(
        out,
        "stop: SIG{} to every process of the session, SIGKILL after {}",
        signal_name(settings.signal),
        format_duration(settings.kill_after)
    );
    out
}

/// Print the explanation on stdout.
pub fn print(settings: &Settings, rlimits: &[ResolvedRlimit]) {
    print!("{}", explanation(settings, rlimits));
}
