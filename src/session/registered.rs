//! The session in the registry: its entry written before it starts, the supervisor's figures
//! kept fresh, and what `leashctl` asked (a stop, freezes) turned into the stop sequence's
//! signal and the record's lines.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::machine::cgroup::SessionCgroup;
use crate::machine::signals::number::SignalNumber;
use crate::session::message::detail;
use crate::session::record::ControlRecord;
use crate::session::registry::{
    self, CgroupPath, Entry, Event, Limits, Process, Published, control,
};
use crate::session::rows::LimitRow;
use crate::session::spec::Spec;

/// Write the entry of the session just started in `cgroup` (none for a session that
/// cannot be listed: said under `--verbose`, and the session goes on). Written once the
/// command runs, while it execs on a CPU of its own: the file system's work (a few hundred
/// microseconds on ext4) is then no part of the start.
///
/// Only under `--verbose`: inside another sandbox (a read-only `/run`, an agent's) every
/// command would carry the line into its output, and into a model's context, though its
/// limits hold all the same; leashctl there could not act on the PIDs of a namespace of
/// the sandbox's anyway.
pub(crate) fn register(
    settings: &Spec,
    rows: &[LimitRow],
    cgroup: Option<&SessionCgroup>,
) -> Option<Published> {
    // leash as `timeout` or `prlimit` costs what that tool costs: no entry to write.
    if !settings.listed {
        return None;
    }
    let supervisor = Process::of(nix::unistd::Pid::this())?;
    let entry = Entry {
        id: String::new(),
        name: settings.name.clone(),
        supervisor,
        uid: nix::unistd::geteuid().as_raw(),
        command: settings
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        started_at: registry::now_seconds(),
        limits: limits(settings),
        mechanisms: rows
            .iter()
            .filter_map(|row| serde_json::to_value(row).ok())
            .collect(),
        cgroups: cgroups(cgroup),
        pid_namespace: settings.pid_ns,
        report: settings.report.clone(),
        stopping: false,
    };
    match Published::publish(entry) {
        Ok(published) => Some(published),
        Err(e) => {
            detail(
                settings.verbosity,
                &format!("the session is not in the registry (leashctl cannot see it): {e}"),
            );
            None
        }
    }
}

fn limits(settings: &Spec) -> Limits {
    let limits = &settings.limits;
    Limits {
        wall_seconds: limits.wall.map(|d| d.as_secs_f64()),
        memory_bytes: limits.memory,
        tasks: limits.tasks,
        cpu_seconds: limits.cpu.map(|d| d.as_secs_f64()),
        output_bytes: limits.output,
    }
}

fn cgroups(cgroup: Option<&SessionCgroup>) -> Vec<CgroupPath> {
    cgroup.map_or_else(Vec::new, |cgroup| {
        cgroup
            .directories()
            .map(|(dir, controllers)| CgroupPath::of(dir, controllers))
            .collect()
    })
}

/// The stop `leashctl` asked for, when `signal` (what reached leash) is its SIGTERM:
/// the first signal and the grace it asked for.
pub(crate) fn requested_stop(
    published: Option<&Published>,
    signal: Signal,
) -> Option<(Event, SignalNumber, Option<Duration>)> {
    if signal != Signal::SIGTERM {
        return None;
    }
    let events = published?.events();
    let request = control::stop_request(&events)?.clone();
    let first = request
        .signal
        .as_deref()
        .and_then(|name| SignalNumber::parse(name).ok())
        .unwrap_or(Signal::SIGTERM.into());
    let grace = request
        .kill_after_seconds
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    Some((request, first, grace))
}

/// What `leashctl` asked of the session, for its record (times from the session's start),
/// and how long it was frozen.
pub(crate) fn control_records(published: Option<&Published>) -> (Vec<ControlRecord>, f64) {
    let Some(published) = published else {
        return (Vec::new(), 0.0);
    };
    let events = published.events();
    let started_at = published.started_at();
    let records = events
        .iter()
        .map(|e| ControlRecord {
            action: e.action,
            at_seconds: (e.at - started_at).max(0.0),
            by_uid: e.by_uid,
            by_pid: e.by_pid,
            signal: e.signal.clone(),
            kill_after_seconds: e.kill_after_seconds,
            directly: e.directly,
        })
        .collect();
    let frozen = control::frozen_seconds(&events, registry::now_seconds());
    (records, frozen)
}
