//! leash as a container's entrypoint: PID 1 of a new PID namespace reaps every orphan,
//! passes the session's status on, and stops the session on the runtime's SIGTERM.

use std::time::{Duration, Instant};

use crate::common::Sandbox;

const LEASH: &str = env!("CARGO_BIN_EXE_leash");

/// `unshare --pid --fork --mount-proc leash ARGS` in the sandbox, or `None` where this
/// process may not make namespaces (not root).
fn as_pid_1(sandbox: &Sandbox, args: &[&str]) -> Option<std::process::Command> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: making a PID namespace needs root");
        return None;
    }
    let mut command = sandbox.capped("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc", LEASH])
        .args(args);
    Some(command)
}

#[test]
fn as_pid_1_leash_reaps_every_orphan_and_passes_the_status_on() {
    let sandbox = Sandbox::new();
    // 20 grandchildren orphaned at once; after they end, count the zombies left in the
    // namespace from inside the session.
    let script = "for i in $(seq 20); do (sleep 0.2 &); done; sleep 1; \
                  echo pid1=$(cat /proc/1/comm) \
                  zombies=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l); \
                  exit 7";
    let Some(mut command) = as_pid_1(&sandbox, &["--", "sh", "-c", script]) else {
        return;
    };
    let output = command.output().expect("unshare from util-linux");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(7), "{stdout} {output:?}");
    assert_eq!(stdout.trim(), "pid1=leash zombies=0");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn as_pid_1_leash_stops_the_session_on_sigterm() {
    let sandbox = Sandbox::new();
    let script = "trap 'echo got TERM; exit 5' TERM; echo $$ > ready; while :; do sleep 0.1; done";
    let Some(mut command) = as_pid_1(&sandbox, &["--", "sh", "-c", script]) else {
        return;
    };
    let child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("unshare from util-linux");
    sandbox.wait_for_file("ready");
    // The container runtime signals PID 1 of the namespace: leash, the child of unshare.
    let unshare = child.id();
    let leash = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .expect("unshare's children")
        .split_whitespace()
        .next()
        .and_then(|pid| pid.parse().ok())
        .expect("leash runs below unshare");
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(leash),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal leash");
    let output = child.wait_with_output().expect("wait");
    assert!(started.elapsed() < Duration::from_secs(10));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("got TERM"), "{stdout}");
    // PID 1 cannot die of a signal it does not handle: leash exits 128 + 15 instead.
    assert_eq!(output.status.code(), Some(143), "{output:?}");
    sandbox.assert_no_survivors(&[]);
}
