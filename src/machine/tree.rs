//! The session's process tree, read from `/proc/PID/task/TID/children`.
//!
//! leash is a child subreaper and its only child is the session's main process, so every
//! live process of the session, however it detached (setsid, double fork, setpgid), is a
//! descendant of leash. Walking leash's descendants costs O(session size), whatever else
//! runs on the machine. On a kernel built without those files (CONFIG_PROC_CHILDREN), each
//! walk falls back to one scan of every process's parent: O(machine), but never blind.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use nix::unistd::Pid;

use crate::machine::proc_view::{self, read_proc};

/// What a visitor learned about a process that saves work when reading its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// It has one thread: only that thread's children file needs reading.
    One,
    /// Unknown or several: read the children of every thread.
    Any,
}

/// The direct children of `pid` (a child belongs to the thread that forked it, so unless
/// the process has one thread, every thread's list is read).
pub(crate) fn children_of(pid: Pid, threads: Threads) -> Vec<Pid> {
    let Some(shown) = proc_view::shown(pid) else {
        return Vec::new();
    };
    let mut children = Vec::new();
    let mut add = |list: String| {
        children.extend(
            list.split_ascii_whitespace()
                .filter_map(|p| p.parse().ok())
                .filter_map(|p| proc_view::own(Pid::from_raw(p))),
        );
    };
    if threads == Threads::One {
        add(read_proc(&format!("/proc/{shown}/task/{shown}/children")).unwrap_or_default());
        return children;
    }
    let Ok(tasks) = fs::read_dir(format!("/proc/{shown}/task")) else {
        return children;
    };
    for task in tasks.flatten() {
        if let Some(list) = task.path().join("children").to_str().and_then(read_proc) {
            add(list);
        }
    }
    children
}

/// Visit every descendant of `root`, parents before their children, until `visit` breaks.
/// `visit` runs before a process's children are read, so a caller that stops each process
/// as it is visited reads the children of a process that can no longer fork. What it
/// returns says how many threads' children must be read.
pub(crate) fn walk_descendants(root: Pid, visit: impl FnMut(Pid) -> ControlFlow<(), Threads>) {
    walk_below(root, Threads::Any, visit);
}

/// As [`walk_descendants`], for a `root` known to have `threads` (one thread: only its
/// own children file is read).
pub(crate) fn walk_below(
    root: Pid,
    threads: Threads,
    visit: impl FnMut(Pid) -> ControlFlow<(), Threads>,
) {
    if children_files_exist() {
        walk_with(root, threads, children_of, visit);
    } else {
        let parents = ParentScan::now();
        walk_with(root, threads, |pid, _| parents.children_of(pid), visit);
    }
}

fn walk_with(
    root: Pid,
    root_threads: Threads,
    children: impl Fn(Pid, Threads) -> Vec<Pid>,
    mut visit: impl FnMut(Pid) -> ControlFlow<(), Threads>,
) {
    let mut pending = children(root, root_threads);
    let mut seen = BTreeSet::new();
    for _ in 0..ROOT_READS {
        while let Some(pid) = pending.pop() {
            if !seen.insert(pid) {
                continue;
            }
            match visit(pid) {
                ControlFlow::Break(()) => return,
                ControlFlow::Continue(threads) => pending.extend(children(pid, threads)),
            }
        }
        // A process whose parent ended while the walk went on moved to the root (the
        // subreaper) after the root's list was read, and was gone from its old parent's
        // list when that was read: read the root's again for what moved.
        pending = children(root, root_threads);
        pending.retain(|pid| !seen.contains(pid));
        if pending.is_empty() {
            return;
        }
    }
}

/// How often a walk reads the root's children: once, and again for processes orphaned
/// meanwhile (a bound, so that a tree that keeps orphaning cannot hold the walk).
const ROOT_READS: usize = 3;

/// Whether this kernel lists children in /proc; asked once.
fn children_files_exist() -> bool {
    static EXIST: OnceLock<bool> = OnceLock::new();
    *EXIST.get_or_init(|| fs::metadata("/proc/thread-self/children").is_ok())
}

/// Every process's children, from one pass over every process's parent (field 4 of
/// /proc/PID/stat): the fallback where the children files do not exist. PIDs as /proc
/// shows them.
struct ParentScan {
    children: HashMap<Pid, Vec<Pid>>,
}

impl ParentScan {
    fn now() -> Self {
        let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
        let entries = fs::read_dir("/proc").into_iter().flatten().flatten();
        for pid in entries.filter_map(|e| e.file_name().to_str()?.parse().ok()) {
            if let Some(parent) = parent_of(pid) {
                children.entry(parent).or_default().push(Pid::from_raw(pid));
            }
        }
        Self { children }
    }

    /// The children of `pid`, a PID of leash's namespace, in PIDs of leash's namespace.
    fn children_of(&self, pid: Pid) -> Vec<Pid> {
        let shown = proc_view::shown(pid).and_then(|shown| self.children.get(&shown));
        shown
            .into_iter()
            .flatten()
            .filter_map(|child| proc_view::own(*child))
            .collect()
    }
}

fn parent_of(pid: i32) -> Option<Pid> {
    let stat = read_proc(&format!("/proc/{pid}/stat"))?;
    let parent = StatFields::of(&stat)?.get(4)?;
    i32::try_from(parent).ok().map(Pid::from_raw)
}

/// The fields of a /proc/PID/stat line, split once.
pub(crate) struct StatFields<'a>(Vec<&'a str>);

impl<'a> StatFields<'a> {
    /// Split a stat line. Fields are counted after the command name, which may itself
    /// hold spaces and parentheses.
    pub(crate) fn of(stat: &'a str) -> Option<Self> {
        let after_name = stat.get(stat.rfind(')')? + 2..)?;
        Some(Self(after_name.split_ascii_whitespace().collect()))
    }

    /// The state (field 3: R, S, D, T, t, Z, X...).
    pub(crate) fn state(&self) -> Option<char> {
        self.0.first()?.chars().next()
    }

    /// Numeric field `n`, numbered from 1 as in proc(5).
    pub(crate) fn get(&self, n: usize) -> Option<u64> {
        self.0.get(n.checked_sub(3)?)?.parse().ok()
    }
}

/// When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat): with the
/// PID, it names a process for good, since a PID alone may be reused.
pub(crate) fn start_time(pid: Pid) -> Option<u64> {
    StatFields::of(&read_proc(&proc_view::file(pid, "stat")?)?)?.get(22)
}

/// The process group of `pid` (a zombie still has one), from getpgid(2): a PID of
/// leash's namespace, where /proc/PID/stat would give one of /proc's.
pub(crate) fn process_group(pid: Pid) -> Option<Pid> {
    nix::unistd::getpgid(Some(pid)).ok()
}

/// SIGSTOP every descendant of `root` not in `stopped` yet, adding it there: each process
/// is stopped before its children are read, and walks repeat until one finds nothing
/// new, so processes forked during a walk are caught by the next (a fork bomb cannot
/// outrun it).
pub(crate) fn stop_descendants(root: Pid, stopped: &mut BTreeSet<Pid>) {
    loop {
        let before = stopped.len();
        walk_descendants(root, |pid| {
            if stopped.insert(pid) {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP);
            }
            // Every thread's children: no process may be missed.
            ControlFlow::Continue(Threads::Any)
        });
        if stopped.len() == before {
            return;
        }
    }
}

/// Every descendant of `root` at this moment.
pub(crate) fn descendants(root: Pid) -> BTreeSet<Pid> {
    let mut all = BTreeSet::new();
    walk_descendants(root, |pid| {
        all.insert(pid);
        ControlFlow::Continue(Threads::Any)
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn descendants_include_grandchildren() {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild = Pid::from_raw(line.trim().parse().unwrap());
        let shell = Pid::from_raw(child.id().cast_signed());
        let found = descendants(Pid::this());
        let scanned = ParentScan::now();
        let mut by_scan = BTreeSet::new();
        walk_with(
            Pid::this(),
            Threads::Any,
            |pid, _| scanned.children_of(pid),
            |pid| {
                by_scan.insert(pid);
                ControlFlow::Continue(Threads::Any)
            },
        );
        let _ = nix::sys::signal::kill(grandchild, nix::sys::signal::Signal::SIGKILL);
        child.wait().unwrap();
        for (how, pids) in [("children files", &found), ("parent scan", &by_scan)] {
            assert!(
                pids.contains(&shell),
                "{how}: {pids:?} lacks the shell {shell}"
            );
            assert!(
                pids.contains(&grandchild),
                "{how}: {pids:?} lacks the grandchild {grandchild}"
            );
        }
    }
}
