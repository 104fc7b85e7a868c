//! The session's own cgroup (the cgroup issue): it holds every process, is removed when
//! the session ends, and a session whose leash was SIGKILLed is stopped by the next leash.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Finished, Mechanism, Sandbox, Tracked, mechanisms};
use nix::sys::signal::Signal;

fn cgroup_available() -> bool {
    let available = mechanisms().contains(&Mechanism::Cgroup);
    if !available {
        eprintln!("skipped: leash cannot make a cgroup here");
    }
    available
}

/// A detached grandchild that records its cgroups, then its PID (the "ready" signal).
const ESCAPE: &str = "setsid sh -c 'cat /proc/self/cgroup > gc.cgroup; echo $$ > gc.pid; \
                      exec sleep 1000' & ";

/// The directories of the session cgroups listed in a /proc/PID/cgroup text.
fn session_cgroups(proc_cgroup: &str) -> Vec<String> {
    proc_cgroup
        .lines()
        .filter_map(|line| line.rsplit(':').next())
        .filter(|path| {
            path.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("leash-"))
        })
        .map(String::from)
        .collect()
}

#[test]
fn escapees_are_in_the_session_cgroup_which_is_empty_and_removed_at_the_end() {
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let script = format!("{ESCAPE} while [ ! -s gc.pid ]; do sleep 0.01; done; exit 0");
    let run = sandbox.run(&["--cgroup=require", "-v", "--", "sh", "-c", &script]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let grandchild = fs::read_to_string(sandbox.path("gc.cgroup")).unwrap();
    let inside = session_cgroups(&grandchild);
    assert!(!inside.is_empty(), "not in a session cgroup: {grandchild}");
    let made: Vec<_> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("leash: cgroup "))
        .collect();
    assert!(!made.is_empty(), "{}", run.stderr);
    for dir in &made {
        assert!(!std::path::Path::new(dir).exists(), "{dir} was left behind");
    }
    assert!(sandbox.cgroups_below_cap().is_empty());
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_next_leash_stops_a_session_whose_leash_was_killed() {
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let script = format!("{ESCAPE} wait");
    let running = sandbox.start(&["--cgroup=require", "--", "sh", "-c", &script]);
    let grandchild = sandbox.wait_for_pids(&["gc.pid".into()])[0];
    let leash = running.pid();
    running.signal(Signal::SIGKILL);
    let killed = running.finish();
    assert_eq!(killed.signal(), Some(9));
    // The supervisor is gone; the detached grandchild lives on in the session cgroup.
    assert!(grandchild.runs(), "the grandchild died with leash");
    let stale = sandbox.cgroups_below_cap();
    assert!(!stale.is_empty(), "no session cgroup was left");

    let next = sandbox.run(&["--", "true"]);
    assert_eq!(next.code(), Some(0), "{}", next.stderr);
    assert!(
        next.stderr
            .starts_with(&format!("leash: stopped leash-{leash}-")),
        "{}",
        next.stderr
    );
    assert!(
        next.stderr
            .contains("left by a leash that no longer runs (1 process)")
    );
    wait_until_not_running(grandchild);
    for dir in stale {
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn stale_session_cgroups_go_in_hierarchies_the_next_session_does_not_use() {
    if !cgroup_available() {
        return;
    }
    // A --mem --procs session whose leash was SIGKILLed left cgroups in every hierarchy
    // (here: v1 memory and pids too); the next session uses only one for containment.
    let sandbox = Sandbox::new();
    let running = sandbox.start(&["--mem", "1G", "--procs", "99", "--", "sleep", "100"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sandbox.cgroups_below_cap().len() < sandbox.cap_cgroups().len() {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            sandbox.cgroups_below_cap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    running.signal(Signal::SIGKILL);
    let _ = running.finish();
    let stale = sandbox.cgroups_below_cap();
    let next = sandbox.run(&["--", "true"]);
    assert_eq!(next.code(), Some(0), "{}", next.stderr);
    let deadline = Instant::now() + Duration::from_secs(10);
    while stale.iter().any(|dir| dir.exists()) {
        assert!(Instant::now() < deadline, "left behind: {stale:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    sandbox.assert_no_survivors(&[]);
}

/// Killed processes of a dead leash are reaped by init, in its own time.
fn wait_until_not_running(process: Tracked) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while process.runs() {
        assert!(Instant::now() < deadline, "{process:?} still runs");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn cpu_rate_throttles_the_whole_session() {
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let spin = "while :; do :; done";
    let run = sandbox.run(&[
        "-v",
        "--cpu-rate",
        "0.25",
        "--wall",
        "2s",
        "--",
        "sh",
        "-c",
        &format!("({spin}) & ({spin}) & wait"),
    ]);
    if run.stderr.contains("--cpu-rate: no writable cgroup") {
        eprintln!("skipped: no cpu controller here");
        return;
    }
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    let summary = run
        .stderr
        .lines()
        .find(|l| l.starts_with("leash: used:"))
        .expect("a summary");
    let user = between(summary, "CPU user ", " system ");
    let system = between(summary, " system ", ",");
    let cpu: f64 = [user, system]
        .iter()
        .map(|text| humantime::parse_duration(text).map_or(f64::NAN, |d| d.as_secs_f64()))
        .sum();
    // Two spinners for 2 s would use up to 4 s of CPU; a quarter of one CPU is 0.5 s.
    assert!(
        (0.25..=0.9).contains(&cpu),
        "used {cpu} s of CPU: {summary}"
    );
    sandbox.assert_no_survivors(&[]);
}

/// The text of `line` after `start` up to `end` (or the end of the line).
fn between<'a>(line: &'a str, start: &str, end: &str) -> &'a str {
    let after = line.split_once(start).map_or("", |(_, after)| after);
    after.split(end).next().unwrap_or("").trim()
}

#[test]
fn files_on_tmpfs_count_against_the_memory_limit() {
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    // A file in /dev/shm is memory no process maps: only a memory cgroup sees it.
    let file = format!(
        "/dev/shm/{}",
        sandbox.dir().file_name().unwrap().to_string_lossy()
    );
    let of = format!("of={file}");
    let run = sandbox.run(&[
        "--cgroup=require",
        "--mem",
        "64MiB",
        "--wall",
        "30s",
        "--",
        "dd",
        "if=/dev/zero",
        &of,
        "bs=1M",
        "count=128",
    ]);
    let written = fs::metadata(&file).map_or(0, |m| m.len());
    let _ = fs::remove_file(&file);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert!(
        run.stderr.contains("memory limit 64.0 MiB reached"),
        "{}",
        run.stderr
    );
    assert!(written <= 64 << 20, "wrote {written} bytes to tmpfs");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_leash_in_another_pid_namespace_leaves_a_live_session_alone() {
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let live = sandbox.start(&["--", "sh", "-c", "echo $$ > main.pid; exec sleep 30"]);
    let main = sandbox.wait_for_pids(&["main.pid".into()]);
    // From the same cgroup, a leash whose PIDs mean something else: the first leash's PID
    // names no process there, but its session cgroup's lock is held.
    let mut other = sandbox.capped("unshare");
    other.args([
        "--pid",
        "--fork",
        "--mount-proc",
        env!("CARGO_BIN_EXE_leash"),
        "--",
        "true",
    ]);
    let output = other.output().expect("unshare");
    assert!(output.status.success(), "{output:?}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("left by a leash that no longer runs"),
        "{output:?}"
    );
    assert!(main[0].runs(), "the live session was stopped");
    live.signal(Signal::SIGTERM);
    let run = live.finish_within(Duration::from_secs(10));
    assert_eq!(run.signal(), Some(Signal::SIGTERM as i32), "{}", run.stderr);
    sandbox.assert_no_survivors(&main);
}

#[test]
fn a_killed_inner_leash_leaves_no_cgroup_behind_the_outer_one() {
    // Issue 31, item 9: a SIGKILLed inner leash left its empty cgroup inside the outer
    // session's, which could then never be removed; every later leash said so, twice.
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let leash = env!("CARGO_BIN_EXE_leash");
    let run = sandbox.run(&[
        "--cgroup",
        "require",
        "--mem",
        "500M",
        "--",
        "sh",
        "-c",
        &format!(
            "{leash} --cgroup require --mem 100M -- sh -c 'echo $$ > inner.pid; exec sleep 30' & \
             while [ ! -s inner.pid ]; do sleep 0.05; done; \
             kill -9 $!; wait $!; echo inner killed"
        ),
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    // The shell says its job was killed; leash says nothing.
    assert_eq!(run.stdout, "inner killed\n", "{}", run.stderr);
    assert!(!run.stderr.contains("leash"), "{}", run.stderr);
    let left = sandbox.cgroups_below_cap();
    assert!(left.is_empty(), "left behind: {left:?}");
    let next = sandbox.run(&["--cgroup", "require", "--", "true"]);
    assert_eq!((next.code(), next.stderr.as_str()), (Some(0), ""));
    sandbox.assert_no_survivors(&[]);
}

/// Run `command` in an inner session with `inner` (a limit and its value) inside an
/// outer one with `outer` whose report is `outer.json`: what leash said, and the outer
/// session's breach (its limit's name).
fn nested(
    sandbox: &Sandbox,
    outer: [&str; 2],
    inner: [&str; 2],
    command: &str,
) -> (Finished, Value) {
    let leash = env!("CARGO_BIN_EXE_leash");
    let mut args = vec![
        "--cgroup",
        "require",
        outer[0],
        outer[1],
        "--report",
        "outer.json",
    ];
    args.extend([
        "--", leash, "--cgroup", "require", inner[0], inner[1], "--report",
    ]);
    args.extend(["inner.json", "--", "sh", "-c", command]);
    let run = sandbox.run(&args);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    let breach = sandbox.json("outer.json")["breach"]["limit"].clone();
    sandbox.assert_no_survivors(&[]);
    (run, breach)
}

#[test]
fn an_outer_memory_limit_reached_inside_an_inner_session_is_the_outers_breach() {
    // Issue 31, item 9: under cgroup v1 the kernel counts an OOM kill only in the
    // victim's own cgroup (the inner session's), so the outer session, whose limit it
    // was, recorded a plain SIGKILL and no breach.
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let bomb = "exec python3 -c 'x = bytearray(400 << 20); import time; time.sleep(5)'";
    let (_, breach) = nested(&sandbox, ["--mem", "200M"], ["--mem", "1G"], bomb);
    assert_eq!(breach, "mem");
    let inner = sandbox.json("inner.json");
    assert_eq!(inner["breach"], Value::Null, "{inner}");
}

#[test]
fn an_outer_process_limit_reached_inside_an_inner_session_is_the_outers_breach() {
    // Issue 31, item 9: the inner session blamed its own --procs for the outer's limit
    // (v1 counts a refused fork where it was made), and the outer saw no breach.
    if !cgroup_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let spawner = "for i in $(seq 60); do sleep 5 & done; wait";
    let (run, breach) = nested(&sandbox, ["--procs", "30"], ["--procs", "100"], spawner);
    assert_eq!(breach, "procs");
    // The inner session (killed at once, as a fork bomb's is: no report of its own) did
    // not claim the breach for its limit.
    assert!(!run.stderr.contains("process limit 100"), "{}", run.stderr);
}
