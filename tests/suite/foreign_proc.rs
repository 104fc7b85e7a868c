//! leash inside a PID namespace it did not make whose `/proc` is still the outer one, as
//! in Claude Code's sandbox (bubblewrap's `--unshare-pid` with `--bind /proc /proc`, the
//! layout its `enableWeakerNestedSandbox` builds; its default adds a nested namespace
//! below a fresh `/proc`, the same relation), with `/run` read-only: leash must follow
//! its own processes, not those that carry its PIDs in that `/proc`.

use std::process::Command;
use std::time::Duration;

use crate::common::{self, Finished, Sandbox};

/// `leash ARGS` inside bubblewrap: a PID namespace of its own, the outer `/proc`, the
/// whole file system read-only but for the sandbox directory.
fn leash_in_bwrap(sandbox: &Sandbox, args: &[&str]) -> Finished {
    leash_in_bwrap_with(sandbox, &["--bind", "/proc", "/proc"], args)
}

/// [`leash_in_bwrap`], with `proc` (bubblewrap's arguments) for what `/proc` is.
fn leash_in_bwrap_with(sandbox: &Sandbox, proc: &[&str], args: &[&str]) -> Finished {
    let dir = sandbox.dir().to_str().expect("a UTF-8 path");
    let mut command: Command = sandbox.capped(common::bwrap().to_str().expect("UTF-8"));
    command
        .args(["--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/"])
        .args(proc)
        .args(["--dev", "/dev", "--bind", dir, dir, "--chdir", dir, "--"])
        .arg(env!("CARGO_BIN_EXE_leash"))
        .args(args);
    let run = sandbox
        .start_prepared(command, "")
        .finish_within(Duration::from_secs(60));
    settle(sandbox);
    run
}

/// Wait up to a second for bubblewrap's own processes to end: when leash, its init's only
/// child, returns, the namespace is torn down, and its processes are still exiting when
/// bubblewrap's parent already has. (The same teardown would kill anything leash left,
/// so what these tests check of leash is its report and its status.)
fn settle(sandbox: &Sandbox) {
    for _ in 0..100 {
        if sandbox.survivors().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn fork_bombs_are_stopped_where_proc_belongs_to_an_outer_pid_namespace() {
    let bombs: [&[&str]; 2] = [
        &[
            "python3",
            "-c",
            "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
        ],
        &["bash", "-c", "b() { b | b & }; b; exec sleep 30"],
    ];
    // The outer /proc (Claude Code's layout), and one of the namespace's own (bubblewrap's
    // `--proc`): no pids cgroup in either, the fork gate holds the bomb.
    let layouts: [&[&str]; 2] = [&["--bind", "/proc", "/proc"], &["--proc", "/proc"]];
    for sandbox in Sandbox::for_each_user() {
        for (bomb, layout) in bombs
            .iter()
            .flat_map(|bomb| layouts.iter().map(move |layout| (bomb, layout)))
        {
            let who = sandbox.who();
            let mut args = vec!["--wall", "20s", "-k", "0.5", "--procs", "64"];
            args.extend(["--report", "report.json", "--"]);
            args.extend(*bomb);
            let run = leash_in_bwrap_with(&sandbox, layout, &args);
            let report = sandbox.json("report.json");
            // Before: leash walked the processes that carried its PIDs in the outer /proc
            // (bubblewrap's own), never saw the bomb, and the wall limit ended it.
            assert_eq!(
                report["breach"]["message"], "process limit 64 reached (a new process was refused)",
                "{who} {bomb:?} {layout:?}: {report}\n{}",
                run.stderr
            );
            assert_eq!(run.code(), Some(124), "{who} {bomb:?}: {}", run.stderr);
            // Before the gate: 0.3-3 s, the sampler outrun; and up to the outer cap's tasks.
            // The release build: 0.25-0.45 s; this debug one on a loaded machine, seconds.
            let at = report["breach"]["at_seconds"].as_f64().expect("at_seconds");
            assert!(
                at < 5.0,
                "{who} {bomb:?} {layout:?}: the breach came at {at} s"
            );
            if let Some(peak) = sandbox.referee_peak_tasks() {
                // bubblewrap (two processes) and leash beside the session's 64 (+ 8).
                assert!(
                    peak <= 64 + 8 + 3,
                    "{who} {bomb:?} {layout:?}: the referee saw {peak} tasks"
                );
            }
            assert!(!run.stderr.contains("registry"), "{who}: {}", run.stderr);
            sandbox.assert_no_survivors(&[]);
        }
    }
}

#[test]
fn the_report_counts_the_sessions_own_processes_where_proc_is_an_outer_one() {
    for sandbox in Sandbox::for_each_user() {
        let run = leash_in_bwrap(
            &sandbox,
            &[
                "--report",
                "report.json",
                "--",
                "sh",
                "-c",
                "sleep 30 & sleep 30 & exit 0",
            ],
        );
        let report = sandbox.json("report.json");
        assert_eq!(run.code(), Some(0), "{}: {}", sandbox.who(), run.stderr);
        // Before: 0, or processes of bubblewrap's that were never the session's.
        assert_eq!(
            report["stopped_processes"],
            2,
            "{}: {report}",
            sandbox.who()
        );
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn explain_says_how_an_outer_proc_is_read_and_no_proc_at_all_is_refused() {
    let sandbox = Sandbox::new();
    let explained = leash_in_bwrap(&sandbox, &["--explain", "--procs", "5", "--", "true"]);
    let session = explained.stdout.lines().next().unwrap_or_default();
    assert!(
        session.contains("/proc is an outer PID namespace's"),
        "{}",
        explained.stdout
    );
    // An empty /proc: leash cannot see its own processes, so it starts nothing.
    let empty = ["--tmpfs", "/proc"];
    let run = leash_in_bwrap_with(&sandbox, &empty, &["--", "touch", "started"]);
    assert_eq!(run.code(), Some(125), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("leash: /proc does not show leash"),
        "{}",
        run.stderr
    );
    assert!(!sandbox.path("started").exists());
    sandbox.assert_no_survivors(&[]);
}
