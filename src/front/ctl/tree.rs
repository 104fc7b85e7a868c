//! A session's process tree as `leashctl show` prints it: one process per line, indented
//! below its parent, with its state and command line.

use std::fmt::Write as _;

use nix::unistd::Pid;

use crate::machine::proc_view::read_proc;
use crate::machine::tree::{StatFields, Threads, children_of};

/// The processes below `root` (the supervisor, first line), indented by depth.
pub(crate) fn render(root: Pid) -> String {
    let mut out = String::new();
    add(&mut out, root, 0);
    out
}

fn add(out: &mut String, pid: Pid, depth: usize) {
    let state = read_proc(&format!("/proc/{pid}/stat"))
        .and_then(|line| StatFields::of(&line)?.state())
        .unwrap_or('?');
    let command = read_proc(&format!("/proc/{pid}/cmdline"))
        .map(|c| c.trim_end_matches('\0').replace('\0', " "))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "?".into());
    let _ = writeln!(
        out,
        "{:indent$}{pid:<7} {state}  {}",
        "",
        crate::machine::printable::printable(&command),
        indent = depth * 2
    );
    for child in children_of(pid, Threads::Any) {
        add(out, child, depth + 1);
    }
}
