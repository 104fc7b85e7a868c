//! Signalling and stopping the whole session: the stop sequence every breach and every
//! shutdown goes through.
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
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::cgroup::SessionCgroup;
use crate::session::Session;
use crate::signals::TERMINATING;
use crate::tree;

/// What the stop sequence did.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Distinct processes that were signalled.
    pub processes: usize,
    /// Of those, the processes that had left the session's process group (setsid,
    /// setpgid): what `timeout` would have left running.
    pub escaped_group: usize,
    /// A terminating signal that reached leash while it was stopping the session.
    pub interrupted_by: Option<Signal>,
}

/// Stop every process of the session: `first`, then after `grace` SIGKILL; returns once
/// every process is gone and reaped.
pub fn stop_session(session: &mut Session, first: Signal, grace: Duration) -> Stopped {
    let mut signalled = BTreeSet::new();
    let mut groups = BTreeMap::new();
    let mut interrupted_by = None;
    if !session.reap() {
        return Stopped::default();
    }
    if first != Signal::SIGKILL && !grace.is_zero() {
        let cgroup_frozen = session.cgroup().is_some_and(SessionCgroup::freeze);
        let frozen = freeze(session);
        note_groups(&mut groups, frozen.iter().copied());
        send(session, &frozen, first);
        send(session, &frozen, Signal::SIGCONT);
        if cgroup_frozen {
            session.cgroup().map(SessionCgroup::thaw);
        }
        signalled.extend(frozen);
        interrupted_by = wait_for_exit(session, Instant::now() + grace);
    }
    while session.reap() {
        if let Some(cgroup) = session.cgroup() {
            let killed = cgroup.kill_all();
            note_groups(&mut groups, killed.iter().copied());
            signalled.extend(killed);
        }
        let frozen = freeze(session);
        note_groups(&mut groups, frozen.iter().copied());
        send(session, &frozen, Signal::SIGKILL);
        signalled.extend(frozen);
        session.wait(Some(Duration::from_millis(10)));
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
pub fn signal_session(session: &Session, signal: Signal) {
    let all = tree::descendants(Pid::this());
    send(session, &all, signal);
}

/// Wait until the session is empty or `until`, whichever is first. A terminating signal
/// to leash meanwhile ends the wait early (the user wants out now) and is returned.
fn wait_for_exit(session: &mut Session, until: Instant) -> Option<Signal> {
    while session.reap() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        if let Some(signal) = session
            .wait(Some(left))
            .into_iter()
            .find(|s| TERMINATING.contains(s))
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
fn freeze(session: &Session) -> BTreeSet<Pid> {
    signal_group(session, Signal::SIGSTOP);
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
    loop {
        let before = frozen.len();
        tree::walk_descendants(Pid::this(), |pid| {
            if frozen.insert(pid) {
                let _ = kill(pid, Signal::SIGSTOP);
            }
            // Every thread's children: the stop sequence must not miss any.
            ControlFlow::Continue(tree::Threads::Any)
        });
        if frozen.len() == before {
            return frozen;
        }
    }
}

/// Send `signal` to the session's process group and to each of `pids`.
fn send(session: &Session, pids: &BTreeSet<Pid>, signal: Signal) {
    signal_group(session, signal);
    for &pid in pids {
        let _ = kill(pid, signal);
    }
}

/// Signal the session's process group, but only while its leader is unreaped: after that
/// the group id may be reused by an unrelated group. The tree walk covers the rest.
fn signal_group(session: &Session, signal: Signal) {
    if session.main_status().is_none() {
        let _ = killpg(session.main(), signal);
    }
}
