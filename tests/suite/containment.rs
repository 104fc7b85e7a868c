//! Nothing the command starts outlives the session (acceptance 2-5 of the core issue):
//! wall limits, SIGTERM ignorers, setsid / double-fork / setpgid escapes, orphans,
//! leftovers after a normal exit, and signals sent to leash itself.

use std::time::Duration;

use crate::common::Sandbox;
use nix::sys::signal::Signal;

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}.pid")).collect()
}

#[test]
fn wall_limit_stops_a_spinner() {
    let sandbox = Sandbox::new();
    let running = sandbox.start(&[
        "--wall",
        "1s",
        "--",
        "sh",
        "-c",
        "echo $$ > spinner.pid; while :; do :; done",
    ]);
    let spinner = sandbox.wait_for_pids(&["spinner.pid".into()]);
    let run = running.finish();
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    run.assert_faster_than(Duration::from_millis(1500));
    assert!(
        run.elapsed >= Duration::from_secs(1),
        "stopped early: {:?}",
        run.elapsed
    );
    assert_eq!(
        run.stderr,
        "leash: wall time limit 1s reached; stopped 1 process\n"
    );
    sandbox.assert_no_survivors(&spinner);
}

#[test]
fn sigterm_ignorer_is_killed_after_the_grace() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "-t",
        "1s",
        "-k",
        "1s",
        "--",
        "sh",
        "-c",
        "trap '' TERM; while :; do :; done",
    ]);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert!(
        run.elapsed >= Duration::from_secs(2),
        "the grace was not given: {:?}",
        run.elapsed
    );
    run.assert_faster_than(Duration::from_millis(2500));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn kill_after_zero_kills_at_once() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "-t",
        "0.5",
        "-k",
        "0",
        "--",
        "sh",
        "-c",
        "trap '' TERM; while :; do :; done",
    ]);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    run.assert_faster_than(Duration::from_secs(1));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn preserve_status_reports_the_commands_own_status() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["-t", "0.3", "--preserve-status", "--", "sleep", "100"]);
    assert_eq!(run.code(), Some(128 + libc::SIGTERM), "{}", run.stderr);
    let run = sandbox.run(&[
        "-t",
        "0.3",
        "-s",
        "INT",
        "--preserve-status",
        "--",
        "sh",
        "-c",
        "trap 'exit 7' INT; while :; do sleep 0.01; done",
    ]);
    assert_eq!(run.code(), Some(7), "{}", run.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn setsid_double_fork_setpgid_and_orphans_are_all_stopped() {
    let sandbox = Sandbox::new();
    let script = r#"
        # a grandchild that starts a new session and sleeps
        setsid sh -c 'echo $$ > setsid.pid; exec sleep 1000' &
        # a classic double-fork daemon that spins, orphaned and in its own session
        ( setsid sh -c 'echo $$ > daemon.pid; while :; do :; done' & )
        # a child that moves to a process group of its own and spins
        perl -e 'setpgrp(0, 0); open(my $f, ">", "pgid.pid.tmp"); print $f $$; close $f; rename("pgid.pid.tmp", "pgid.pid"); 1 while 1' &
        # 20 orphaned grandchildren
        for i in $(seq 0 19); do ( sleep 1000 & echo $! > orphan$i.pid.tmp; mv orphan$i.pid.tmp orphan$i.pid ) ; done
        echo ready > ready
        sleep 1000
    "#;
    let running = sandbox.start(&["--wall", "3s", "--", "sh", "-c", script]);
    let mut expected = vec![
        "setsid.pid".to_string(),
        "daemon.pid".into(),
        "pgid.pid".into(),
    ];
    expected.extend(names("orphan", 20));
    let tracked = sandbox.wait_for_pids(&expected);
    let run = running.finish();
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    // The main shell and its sleep, the setsid sleeper, the daemon, perl, 20 orphans.
    assert_eq!(
        run.stderr,
        "leash: wall time limit 3s reached; stopped 25 processes\n"
    );
    sandbox.assert_no_survivors(&tracked);
}

#[test]
fn leftovers_are_stopped_after_a_normal_exit() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "--",
        "sh",
        "-c",
        "setsid sleep 1000 & echo $! > sleeper.pid; exit 0",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    run.assert_faster_than(Duration::from_secs(1));
    assert_eq!(run.stderr, "", "a normal exit says nothing");
    let pid: i32 = std::fs::read_to_string(sandbox.path("sleeper.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "sleeper {pid} survived"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn leftovers_get_the_grace_before_kill_after_a_normal_exit() {
    let sandbox = Sandbox::new();
    let script = "setsid sh -c 'trap \"\" TERM; echo $$ > stubborn.pid; exec sleep 1000' & while [ ! -s stubborn.pid ]; do sleep 0.01; done; exit 5";
    let run = sandbox.run(&["-v", "-k", "0.5", "--", "sh", "-c", script]);
    assert_eq!(run.code(), Some(5), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("main process exited; stopped 1 process left behind"),
        "{}",
        run.stderr
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn say_leftovers_names_what_a_normal_exit_left_running_in_one_line() {
    let sandbox = Sandbox::new();
    let script = "sleep 1000 & sleep 1000 & echo done; exit 3";
    let run = sandbox.run(&["--say-leftovers", "--", "sh", "-c", script]);
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
    assert_eq!(run.stdout, "done\n");
    assert_eq!(
        run.stderr,
        "leash: the command exited; stopped 2 processes it left running\n"
    );
    // Nothing left, nothing said.
    let quiet = sandbox.run(&["--say-leftovers", "--", "sh", "-c", "echo done"]);
    assert_eq!(quiet.stderr, "");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn sigterm_to_leash_stops_the_tree_and_leash_dies_of_it() {
    let sandbox = Sandbox::new();
    let script = "setsid sh -c 'echo $$ > escaped.pid; exec sleep 1000' & echo $$ > main.pid; wait";
    let running = sandbox.start(&["--", "sh", "-c", script]);
    let tracked = sandbox.wait_for_pids(&["escaped.pid".into(), "main.pid".into()]);
    running.signal(Signal::SIGTERM);
    let run = running.finish();
    assert_eq!(
        run.signal(),
        Some(libc::SIGTERM),
        "status {:?}: {}",
        run.status,
        run.stderr
    );
    assert!(
        run.stderr.contains("received SIGTERM; stopped 2 processes"),
        "{}",
        run.stderr
    );
    run.assert_faster_than(Duration::from_secs(5));
    sandbox.assert_no_survivors(&tracked);
}

#[test]
fn sigint_hup_and_quit_to_leash_are_forwarded_and_reraised() {
    for signal in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT] {
        let sandbox = Sandbox::new();
        let name = signal.as_str();
        let script = format!(
            "trap 'echo got {name} > got; exit 0' {}; echo $$ > main.pid; while :; do sleep 0.01; done",
            &name[3..]
        );
        let running = sandbox.start(&["--", "sh", "-c", &script]);
        let tracked = sandbox.wait_for_pids(&["main.pid".into()]);
        running.signal(signal);
        let run = running.finish();
        assert_eq!(
            run.signal(),
            Some(signal as i32),
            "{name}: {:?} {}",
            run.status,
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(sandbox.path("got")).unwrap(),
            format!("got {name}\n")
        );
        sandbox.assert_no_survivors(&tracked);
    }
}

#[test]
fn usr1_is_forwarded_to_every_process_and_supervision_goes_on() {
    let sandbox = Sandbox::new();
    let script = "setsid sh -c 'trap \"echo > escaped.got\" USR1; echo $$ > escaped.pid; while :; do sleep 0.01; done' & \
                  trap 'echo > main.got' USR1; echo $$ > main.pid; while [ ! -e main.got ] || [ ! -e escaped.got ]; do sleep 0.01; done; exit 3";
    let running = sandbox.start(&["--wall", "20s", "--", "sh", "-c", script]);
    let tracked = sandbox.wait_for_pids(&["escaped.pid".into(), "main.pid".into()]);
    running.signal(Signal::SIGUSR1);
    let run = running.finish();
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
    sandbox.assert_no_survivors(&tracked);
}

#[test]
fn sigkill_to_leash_takes_the_direct_child_along() {
    let sandbox = Sandbox::new();
    let script = "setsid sh -c 'echo $$ > escaped.pid; exec sleep 1000' & echo $$ > main.pid; wait";
    let running = sandbox.start(&["--", "sh", "-c", script]);
    let tracked = sandbox.wait_for_pids(&["main.pid".into(), "escaped.pid".into()]);
    running.signal(Signal::SIGKILL);
    let run = running.finish();
    assert_eq!(run.signal(), Some(libc::SIGKILL));
    // PR_SET_PDEATHSIG kills the main process; a process that escaped below it survives a
    // SIGKILLed supervisor (documented in the README; the cgroup backend closes this).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tracked[0].exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !tracked[0].exists(),
        "the main process survived a SIGKILLed leash"
    );
    // The sandbox kills the escaped sleeper by PID when it is dropped.
}

#[test]
fn a_second_terminating_signal_during_the_grace_kills_at_once() {
    let sandbox = Sandbox::new();
    let script = "trap 'echo > got.term' TERM; echo $$ > main.pid; while :; do sleep 0.01; done";
    let running = sandbox.start(&["-k", "30s", "--", "sh", "-c", script]);
    let tracked = sandbox.wait_for_pids(&["main.pid".into()]);
    running.signal(Signal::SIGTERM);
    sandbox.wait_for_file("got.term");
    running.signal(Signal::SIGINT);
    let run = running.finish();
    assert_eq!(
        run.signal(),
        Some(libc::SIGTERM),
        "{:?}: {}",
        run.status,
        run.stderr
    );
    assert!(
        run.elapsed < Duration::from_secs(10),
        "the grace was not cut short: {:?}",
        run.elapsed
    );
    sandbox.assert_no_survivors(&tracked);
}

#[test]
fn an_unprivileged_leash_contains_escapes_too() {
    let Some(sandbox) = Sandbox::unprivileged() else {
        eprintln!("skipped: tests already run unprivileged, or no ordinary user could be made");
        return;
    };
    let script = r"
        id -u > uid
        setsid sh -c 'echo $$ > setsid.pid; exec sleep 1000' &
        ( setsid sh -c 'echo $$ > daemon.pid; while :; do :; done' & )
        sleep 1000
    ";
    let running = sandbox.start(&["--wall", "2s", "--nofile", "64", "--", "sh", "-c", script]);
    let tracked = sandbox.wait_for_pids(&["setsid.pid".into(), "daemon.pid".into()]);
    let run = running.finish();
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert_ne!(
        std::fs::read_to_string(sandbox.path("uid")).unwrap().trim(),
        "0"
    );
    sandbox.assert_no_survivors(&tracked);
}

/// Every signal whose default action would end leash stops the session first, and leaves
/// a record: SIGALRM as the wall limit (124, as `timeout` takes it), the others as a
/// request to end (leash then dies of the signal itself).
#[test]
fn every_signal_that_would_end_leash_stops_the_session_first() {
    let signals = [
        Signal::SIGALRM,
        Signal::SIGILL,
        Signal::SIGTRAP,
        Signal::SIGABRT,
        Signal::SIGFPE,
        Signal::SIGSTKFLT,
        Signal::SIGXCPU,
        Signal::SIGXFSZ,
        Signal::SIGVTALRM,
        Signal::SIGPROF,
        Signal::SIGIO,
        Signal::SIGPWR,
        Signal::SIGSYS,
    ];
    let sandbox = Sandbox::new();
    for signal in signals {
        let pid_file = format!("escapee-{}.pid", signal.as_str());
        let report = sandbox.path("report.json");
        let _ = std::fs::remove_file(&report);
        let running = sandbox.start(&[
            "--report",
            report.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &format!("setsid sh -c 'echo $$ > {pid_file}; exec sleep 777' & sleep 30"),
        ]);
        let escapee = sandbox.wait_for_pids(&[pid_file]);
        running.signal(signal);
        let run = running.finish_within(Duration::from_secs(10));
        let text = std::fs::read_to_string(&report)
            .unwrap_or_else(|_| panic!("{signal}: no report: {}", run.stderr));
        if signal == Signal::SIGALRM {
            assert_eq!(run.code(), Some(124), "{signal}: {}", run.stderr);
            assert!(text.contains("\"outcome\": \"limit\""), "{signal}: {text}");
        } else {
            assert_eq!(
                run.signal(),
                Some(signal as i32),
                "{signal}: {}",
                run.stderr
            );
            assert!(
                text.contains("\"outcome\": \"leash_signaled\""),
                "{signal}: {text}"
            );
        }
        sandbox.assert_no_survivors(&escapee);
    }
}
