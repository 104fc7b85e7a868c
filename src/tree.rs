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

/// The direct children of every thread of `pid` (a child belongs to the thread that
/// forked it, so all threads must be read).
pub fn children_of(pid: Pid) -> Vec<Pid> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let Ok(list) = fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        children.extend(
            list.split_ascii_whitespace()
                .filter_map(|p| p.parse().ok())
                .map(Pid::from_raw),
        );
    }
    children
}

/// Visit every descendant of `root`, parents before their children, until `visit` breaks.
/// `visit` runs before a process's children are read, so a caller that stops each process
/// as it is visited reads the children of a process that can no longer fork.
pub fn walk_descendants(root: Pid, visit: impl FnMut(Pid) -> ControlFlow<()>) {
    if children_files_exist() {
        walk_with(root, children_of, visit);
    } else {
        let parents = ParentScan::now();
        walk_with(root, |pid| parents.children_of(pid), visit);
    }
}

fn walk_with(
    root: Pid,
    children: impl Fn(Pid) -> Vec<Pid>,
    mut visit: impl FnMut(Pid) -> ControlFlow<()>,
) {
    let mut pending = children(root);
    let mut seen = BTreeSet::new();
    while let Some(pid) = pending.pop() {
        if !seen.insert(pid) {
            continue;
        }
        if visit(pid).is_break() {
            return;
        }
        pending.extend(children(pid));
    }
}

/// Whether this kernel lists children in /proc; asked once.
fn children_files_exist() -> bool {
    static EXIST: OnceLock<bool> = OnceLock::new();
    *EXIST.get_or_init(|| {
        let me = Pid::this();
        fs::metadata(format!("/proc/{me}/task/{me}/children")).is_ok()
    })
}

/// Every process's children, from one pass over every process's parent (field 4 of
/// /proc/PID/stat): the fallback where the children files do not exist.
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

    fn children_of(&self, pid: Pid) -> Vec<Pid> {
        self.children.get(&pid).cloned().unwrap_or_default()
    }
}

fn parent_of(pid: i32) -> Option<Pid> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    after_name
        .split_ascii_whitespace()
        .nth(1)?
        .parse()
        .ok()
        .map(Pid::from_raw)
}

/// Every descendant of `root` at this moment.
pub fn descendants(root: Pid) -> BTreeSet<Pid> {
    let mut all = BTreeSet::new();
    walk_descendants(root, |pid| {
        all.insert(pid);
        ControlFlow::Continue(())
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
            |pid| scanned.children_of(pid),
            |pid| {
                by_scan.insert(pid);
                ControlFlow::Continue(())
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
