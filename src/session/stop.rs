//! Phase 5, stop: the stop sequence every breach and every shutdown goes through, then
//! tidying up (the output drained, the terminal taken back, the cgroup removed) and the
//! line that says why the session was stopped. Also signalling the whole session.
//!
//! 1. Freeze: with the session's cgroup, freeze it (cgroup.freeze or the v1 freezer);
//!    and SIGSTOP every process of the session, walking the tree again until a walk finds
//!    no process it had not stopped, so a fork bomb cannot breed while it is signalled.
//! 2. Send the first signal (TERM unless `--signal` says otherwise), then SIGCONT and
//!    thaw, so each process can handle it; wait up to the grace (`--kill-after`) for the
//!    session to end.
//! 3. Kill the cgroup (cgroup.kill, or frozen and killed one by one), then freeze and
//!    SIGKILL what the tree walk finds, until leash has no child left; reap them all.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::processes::Processes;
use super::registered::requested_stop;
use super::start::Running;
use super::watch::Ending;
use crate::machine::cgroup::SessionCgroup;
use crate::machine::signals::number::SignalNumber;
use crate::machine::signals::{TERMINATING, ends_supervision, signal_name};
use crate::machine::tree;
use crate::session::message::{detail, notice, processes};
use crate::session::session_limits::Breach;
use crate::session::spec::Spec;

/// What the stop sequence did.
#[derive(Debug, Default)]
pub(crate) struct Stopped {
    /// Distinct processes that were signalled.
    pub(crate) processes: usize,
    /// Of those, the processes that had left the session's process group (setsid,
    /// setpgid): what `timeout` would have left running.
    pub(crate) escaped_group: usize,
    /// A terminating signal that reached leash while it was stopping the session.
    pub(crate) interrupted_by: Option<Signal>,
}

/// Stop whatever is left of the session after `ending`, tidy up, and say why it was
/// stopped.
pub(crate) fn stop(running: &mut Running, ending: Ending, settings: &Spec) -> Stopped {
    // A session whose main process exited is over in an instant (the entry would be
    // rewritten for nothing); one stopped at a limit or by a signal may take its grace.
    if let (Some(registry), false) = (running.registry.as_mut(), ending == Ending::MainExited) {
        registry.mark_stopping();
    }
    // A SIGTERM from `leashctl stop` brings the signal and grace it asked for.
    let requested = match ending {
        Ending::Signaled(signal) => requested_stop(running.registry.as_ref(), signal),
        _ => None,
    };
    let (first, grace) = match &requested {
        Some((_, first, grace)) => (*first, grace.unwrap_or(settings.kill_after)),
        None => (first_signal(ending, settings.signal), settings.kill_after),
    };
    let stopped = stop_session(&mut running.processes, first, grace);
    // The cgroup's peaks are exact: read them before the cgroup goes.
    if let (Some(sampler), Some(cgroup)) = (running.sampler.as_mut(), running.processes.cgroup()) {
        sampler.sample(Some(cgroup.read()));
    }
    running.processes.drain_output();
    if let Some(terminal) = &running.terminal {
        terminal.take_back();
    }
    if let Some(Err(e)) = running.processes.cgroup().map(SessionCgroup::remove) {
        notice(settings.verbosity, &e.to_string());
    }
    match requested {
        Some((request, ..)) => notice(
            settings.verbosity,
            &format!(
                "stopped by leashctl (user {}, process {}); stopped {}",
                request.by_uid,
                request.by_pid,
                processes(stopped.processes)
            ),
        ),
        None => say_why(ending, &stopped, settings),
    }
    stopped
}

/// The signal the stop sequence starts with.
fn first_signal(ending: Ending, configured: SignalNumber) -> SignalNumber {
    match ending {
        // Passed on as they came (Ctrl-C, a hang-up); the others are leash's own business.
        Ending::Signaled(signal) if TERMINATING.contains(&signal) => signal.into(),
        // A session at its process limit is a fork bomb until proven otherwise, and its
        // processes block signals while they retry fork: a grace would only be waited out.
        Ending::Limit(Breach::Tasks(..) | Breach::TasksRefused(_)) => Signal::SIGKILL.into(),
        Ending::Signaled(_) | Ending::MainExited | Ending::Limit(_) => configured,
    }
}

/// The line about why the session was stopped (none when it ended by itself and nothing
/// was left; when its main process left others behind, detail only, unless
/// `--say-leftovers`).
fn say_why(ending: Ending, stopped: &Stopped, settings: &Spec) {
    let count = processes(stopped.processes);
    match ending {
        Ending::Limit(breach) => notice(
            settings.verbosity,
            &format!("{}; stopped {count}", breach.describe()),
        ),
        Ending::Signaled(Signal::SIGTERM) if parent_died(settings) => notice(
            settings.verbosity,
            &format!("its parent died (--die-with-parent); stopped {count}"),
        ),
        Ending::Signaled(Signal::SIGTERM) if crate::session::die_with::ended() => notice(
            settings.verbosity,
            &format!(
                "process {} ended (--die-with); stopped {count}",
                settings.die_with.map_or(0, nix::unistd::Pid::as_raw)
            ),
        ),
        Ending::Signaled(signal) => notice(
            settings.verbosity,
            &format!("received SIG{}; stopped {count}", signal_name(signal)),
        ),
        Ending::MainExited if stopped.processes > 0 && settings.say_leftovers => notice(
            settings.verbosity,
            &format!("the command exited; stopped {count} it left running"),
        ),
        Ending::MainExited if stopped.processes > 0 => detail(
            settings.verbosity,
            &format!("main process exited; stopped {count} left behind"),
        ),
        Ending::MainExited => {}
    }
}

/// Under `--die-with-parent`, whether the parent leash started under is gone (leash was
/// passed on to another).
fn parent_died(settings: &Spec) -> bool {
    settings
        .die_with_parent
        .is_some_and(|parent| nix::unistd::getppid() != parent)
}

/// Stop every process of the session: `first`, then after `grace` SIGKILL; returns once
/// every process is gone and reaped.
fn stop_session(session: &mut Processes, first: SignalNumber, grace: Duration) -> Stopped {
    let mut signalled = BTreeSet::new();
    let mut groups = BTreeMap::new();
    let mut interrupted_by = None;
    let init = session.init();
    if !session.reap() {
        return Stopped::default();
    }
    if first != Signal::SIGKILL.into() && !grace.is_zero() {
        let cgroup_frozen = session.cgroup().is_some_and(SessionCgroup::freeze);
        let frozen = freeze(session);
        note_groups(&mut groups, frozen.iter().copied());
        send(session, &frozen, first);
        send(session, &frozen, Signal::SIGCONT.into());
        if cgroup_frozen {
            session.cgroup().map(SessionCgroup::thaw);
        }
        signalled.extend(frozen);
        interrupted_by = wait_for_exit(session, Instant::now() + grace);
    }
    // Whatever is killed now may not start anything more.
    session.close_fork_gate();
    while session.reap() {
        if let Some(cgroup) = session.cgroup() {
            let killed = cgroup.kill_all();
            note_groups(&mut groups, killed.iter().copied());
            signalled.extend(killed);
        }
        let frozen = freeze(session);
        note_groups(&mut groups, frozen.iter().copied());
        send(session, &frozen, Signal::SIGKILL.into());
        signalled.extend(frozen);
        session.relay_until_signal(Some(Duration::from_millis(10)));
    }
    // `--pid-ns`'s init is leash's, not the command's: it is stopped, not counted.
    if let Some(init) = init {
        signalled.remove(&init);
    }
    let escaped_group = signalled
        .iter()
        .filter(|&&pid| {
            groups
                .get(&pid)
                .is_some_and(|&group| group != Some(session.main()))
        })
        .count();
    Stopped {
        processes: signalled.len(),
        escaped_group,
        interrupted_by,
    }
}

/// Note the process group of each of `pids` not seen yet (while they can still be read).
fn note_groups(groups: &mut BTreeMap<Pid, Option<Pid>>, pids: impl IntoIterator<Item = Pid>) {
    for pid in pids {
        groups
            .entry(pid)
            .or_insert_with(|| tree::process_group(pid));
    }
}

/// Send `signal` to every process of the session now (used to forward USR1 and USR2).
pub(crate) fn signal_session(session: &Processes, signal: Signal) {
    let all = tree::descendants(Pid::this());
    send(session, &all, signal.into());
}

/// Wait until the session is empty or `until`, whichever is first. A terminating signal
/// to leash meanwhile ends the wait early (the user wants out now) and is returned.
fn wait_for_exit(session: &mut Processes, until: Instant) -> Option<Signal> {
    while session.reap() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        if let Some(signal) = session
            .relay_until_signal(Some(left))
            .into_iter()
            .find(|s| ends_supervision(*s))
        {
            return Some(signal);
        }
    }
    None
}

/// SIGSTOP the whole session; returns every process stopped. Each process is stopped
/// before its children are read, and walks repeat until one finds nothing new, so
/// processes forked during a walk are caught by the next. Members of the session's
/// cgroup are included (they are all in the tree, unless one moved itself out of it).
fn freeze(session: &Processes) -> BTreeSet<Pid> {
    signal_group(session, Signal::SIGSTOP.into());
    let mut frozen = BTreeSet::new();
    for pid in session
        .cgroup()
        .map(SessionCgroup::members)
        .unwrap_or_default()
    {
        if frozen.insert(pid) {
            let _ = kill(pid, Signal::SIGSTOP);
        }
    }
    tree::stop_descendants(Pid::this(), &mut frozen);
    frozen
}

/// Send `signal` to the session's process group and to each of `pids`.
fn send(session: &Processes, pids: &BTreeSet<Pid>, signal: SignalNumber) {
    let grouped = signal_group(session, signal);
    // Once each: a process of the group that got it already would get it twice (a
    // forwarded SIGINT its handler sees twice).
    let in_group = |pid: Pid| grouped && nix::unistd::getpgid(Some(pid)) == Ok(session.main());
    for &pid in pids {
        if !in_group(pid) {
            let _ = signal.send(pid);
        }
    }
}

/// Signal the session's process group, but only while its leader is unreaped: after that
/// the group id may be reused by an unrelated group. The tree walk covers the rest.
/// Returns whether the group was signalled.
fn signal_group(session: &Processes, signal: SignalNumber) -> bool {
    session.main_status().is_none() && signal.send_to_group(session.main()).is_ok()
}
