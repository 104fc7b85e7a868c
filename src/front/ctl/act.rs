//! `leashctl freeze`, `thaw` and `stop`: acting on a session, through its supervisor
//! where it can answer, else through the session's cgroup, PID namespace or process tree.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};

use super::CtlError;
use crate::machine::cgroup::{CgroupDir, Orphan, stop_orphaned};
use crate::machine::proc_view::read_proc;
use crate::machine::signals::number::SignalNumber;
use crate::machine::signals::signal_name;
use crate::machine::tree::{self, StatFields};
use crate::session::registry::{self, Action, CgroupPath, Event, Found, Process, control};

/// How long `stop` waits for the session beyond its grace.
const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// The one-letter state of `process` (R, S, T, Z...), if it still runs.
fn state(process: Process) -> Option<char> {
    let line = read_proc(&format!("/proc/{}/stat", process.pid))?;
    let fields = StatFields::of(&line)?;
    (fields.get(22)? == process.start_time)
        .then(|| fields.state())
        .flatten()
}

/// Whether the supervisor can act: it runs and is not stopped (nor a zombie).
pub(crate) fn supervisor_answers(found: &Found) -> bool {
    matches!(state(found.entry.supervisor), Some(c) if !matches!(c, 'T' | 't' | 'Z' | 'X'))
}

/// The session's supervisor still runs: its PID still names it, so its process tree is
/// the session's.
fn running(found: &Found) -> Result<(), CtlError> {
    if found.entry.supervisor.is_alive() {
        Ok(())
    } else {
        Err(CtlError::Incomplete(format!(
            "session {} is stale: its supervisor (PID {}) no longer runs; leashctl stop \
             ends what its cgroup or namespace still holds",
            found.entry.id, found.entry.supervisor.pid
        )))
    }
}

fn record(found: &Found, event: &Event) -> Result<(), CtlError> {
    control::append(&registry::beside(found, "events"), event, found.entry.uid).map_err(|e| {
        CtlError::Incomplete(format!(
            "cannot record the request beside {}: {e}",
            found.path.display()
        ))
    })
}

/// The session's cgroup directories.
fn cgroup_dirs(found: &Found) -> impl Iterator<Item = CgroupDir> + '_ {
    found.entry.cgroups.iter().map(CgroupPath::dir)
}

/// The session's cgroup directories that can freeze it (v2, or the v1 freezer).
fn freezers(found: &Found) -> Vec<CgroupDir> {
    cgroup_dirs(found).filter(CgroupDir::can_freeze).collect()
}

/// Freeze the session: its cgroup's freezer, else SIGSTOP of every process.
pub(crate) fn freeze(found: &Found) -> Result<String, CtlError> {
    let id = &found.entry.id;
    running(found)?;
    if control::frozen_since(&control::read(&registry::beside(found, "events"))).is_some() {
        return Ok(format!("session {id} is frozen already"));
    }
    let cgroup = freezers(found);
    let how = if cgroup.iter().any(CgroupDir::freeze) {
        "its cgroup's freezer"
    } else {
        tree::stop_descendants(found.entry.supervisor.pid(), &mut BTreeSet::new());
        "SIGSTOP of every process"
    };
    record(found, &Event::now(Action::Freeze))?;
    Ok(format!("froze session {id} ({how})"))
}

/// Let a frozen session run again.
pub(crate) fn thaw(found: &Found) -> Result<String, CtlError> {
    running(found)?;
    for dir in freezers(found) {
        dir.thaw();
    }
    for pid in tree::descendants(found.entry.supervisor.pid()) {
        let _ = kill(pid, Signal::SIGCONT);
    }
    record(found, &Event::now(Action::Thaw))?;
    Ok(format!("thawed session {}", found.entry.id))
}

/// Stop the session: its supervisor's stop sequence, with `signal` first and `grace`
/// before SIGKILL; directly if the supervisor is gone or stopped.
pub(crate) fn stop(
    found: &Found,
    signal: SignalNumber,
    grace: Option<Duration>,
) -> Result<String, CtlError> {
    if !supervisor_answers(found) {
        return stop_directly(found);
    }
    let mut event = Event::now(Action::Stop);
    event.signal = Some(signal.to_string());
    event.kill_after_seconds = grace.map(|g| g.as_secs_f64());
    record(found, &event)?;
    let supervisor = found.entry.supervisor;
    kill(supervisor.pid(), Signal::SIGTERM).map_err(|e| {
        CtlError::Incomplete(format!(
            "cannot signal its supervisor (PID {}): {e}",
            supervisor.pid
        ))
    })?;
    let patience = grace.unwrap_or(Duration::from_secs(2)) + STOP_PATIENCE;
    let deadline = Instant::now() + patience;
    while matches!(state(supervisor), Some(c) if c != 'Z') {
        if Instant::now() > deadline {
            return Err(CtlError::Incomplete(format!(
                "session {} is still stopping after {}s",
                found.entry.id,
                patience.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(format!("stopped session {}", found.entry.id))
}

/// Stop the session without its supervisor: kill its cgroup and, if the supervisor is
/// stopped rather than gone, every process below it (a gone supervisor's PID namespace
/// ended with it).
fn stop_directly(found: &Found) -> Result<String, CtlError> {
    let entry = &found.entry;
    let supervisor_stopped = state(entry.supervisor).is_some();
    let mut event = Event::now(Action::Stop);
    event.signal = Some(signal_name(Signal::SIGKILL).to_string());
    event.directly = true;
    let mut means = Vec::new();
    let dirs: Vec<CgroupDir> = cgroup_dirs(found).filter(|d| d.path.exists()).collect();
    // The directories stay: a stopped supervisor removes its own when it goes on, and the
    // next leash started from the same cgroup removes a gone one's.
    let Orphan { mut killed, .. } = stop_orphaned(&dirs, false);
    if !dirs.is_empty() {
        means.push("its cgroup");
    }
    if entry.pid_namespace && !supervisor_stopped {
        // Its init died with the supervisor (its parent-death signal), and the kernel
        // killed every process of the namespace with it.
        means.push("its PID namespace, which ended with its supervisor");
    }
    if supervisor_stopped {
        // Stopped, none can fork: one SIGKILL each ends them all.
        let mut stopped = BTreeSet::new();
        tree::stop_descendants(entry.supervisor.pid(), &mut stopped);
        for &pid in &stopped {
            let _ = kill(pid, Signal::SIGKILL);
        }
        killed = killed.max(stopped.len());
        means.push("its supervisor's process tree");
    }
    let whose = if supervisor_stopped {
        "stopped"
    } else {
        "gone"
    };
    if means.is_empty() {
        return Err(CtlError::Incomplete(format!(
            "cannot stop session {}: its supervisor (PID {}) is gone and the session had \
             neither a cgroup nor a PID namespace, so its processes cannot be told from \
             others; nothing was stopped",
            entry.id, entry.supervisor.pid
        )));
    }
    let _ = record(found, &event);
    if found.stale {
        // Nobody is left to remove the entry (a supervisor in another PID namespace, which
        // holds its lock, still is).
        registry::remove(found);
    }
    means.dedup();
    Ok(format!(
        "stopped session {} through {} (its supervisor is {whose}): {killed} process(es) killed",
        entry.id,
        means.join(" and ")
    ))
}
