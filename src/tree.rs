//! The session's process tree, read from `/proc/PID/task/TID/children`.
//!
//! leash is a child subreaper and its only child is the session's main process, so every
//! live process of the session, however it detached (setsid, double fork, setpgid), is a
//! descendant of leash. Walking leash's descendants costs O(session size), whatever else
//! runs on the machine.

use std::collections::BTreeSet;
use std::fs;
use std::ops::ControlFlow;

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
pub fn walk_descendants(root: Pid, mut visit: impl FnMut(Pid) -> ControlFlow<()>) {
    let mut pending = children_of(root);
    let mut seen = BTreeSet::new();
    while let Some(pid) = pending.pop() {
        if !seen.insert(pid) {
            continue;
        }
        if visit(pid).is_break() {
            return;
        }
        pending.extend(children_of(pid));
    }
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
        let _ = nix::sys::signal::kill(grandchild, nix::sys::signal::Signal::SIGKILL);
        child.wait().unwrap();
        assert!(found.contains(&shell), "{found:?} lacks the shell {shell}");
        assert!(
            found.contains(&grandchild),
            "{found:?} lacks the grandchild {grandchild}"
        );
    }
}
