//! `--pid-ns`: the session in a PID namespace of its own, with leash's init as PID 1 (the
//! isolation issue, acceptance 4 and 5): it sees only itself, its exit status passes
//! through, and nothing of it outlives a SIGKILLed leash, without any cgroup.

use std::time::{Duration, Instant};

use crate::common::Sandbox;
use nix::sys::signal::Signal;

#[test]
fn ps_inside_shows_only_the_session() {
    for sandbox in Sandbox::for_each_user() {
        let run = sandbox.run(&[
            "--pid-ns",
            "--",
            "sh",
            "-c",
            "sleep 30 & ps -e -o pid=,comm=; echo main $$",
        ]);
        assert_eq!(run.code(), Some(0), "{}: {}", sandbox.who(), run.stderr);
        let processes: Vec<&str> = run.stdout.lines().collect();
        // init (leash's, as PID 1), the shell, the sleeper and ps: nothing else.
        assert_eq!(processes.len(), 5, "{}: {}", sandbox.who(), run.stdout);
        assert!(processes[0].trim().starts_with("1 "), "{}", run.stdout);
        assert!(run.stdout.contains("main 2\n"), "{}", run.stdout);
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn the_commands_status_passes_through_the_namespace() {
    let sandbox = Sandbox::new();
    let exited = sandbox.run(&["--pid-ns", "--", "sh", "-c", "exit 3"]);
    assert_eq!(exited.code(), Some(3), "{}", exited.stderr);
    let signaled = sandbox.run(&["--pid-ns", "--", "sh", "-c", "kill -USR1 $$"]);
    assert_eq!(signaled.signal(), Some(Signal::SIGUSR1 as i32));
    let limited = sandbox.run(&["--pid-ns", "--wall", "1s", "--", "sleep", "30"]);
    assert_eq!(limited.code(), Some(124), "{}", limited.stderr);
    // The init is leash's: it is not one of the processes the line counts.
    assert_eq!(
        limited.stderr,
        "leash: wall time limit 1s reached; stopped 1 process\n"
    );
    let missing = sandbox.run(&["--pid-ns", "--", "no-such-command-here"]);
    assert_eq!(missing.code(), Some(127), "{}", missing.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn nothing_outlives_a_sigkilled_leash() {
    for sandbox in Sandbox::for_each_user() {
        let running = sandbox.start(&[
            "--pid-ns",
            "--cgroup",
            "off",
            "--",
            "sh",
            "-c",
            "setsid sh -c 'while :; do :; done' & echo $! > spinner.started; sleep 100",
        ]);
        sandbox.wait_for_file("spinner.started");
        // The spinner as leash's namespace sees it: the only grandchild that spins.
        std::thread::sleep(Duration::from_millis(200));
        let before = sandbox.survivors();
        assert!(before.len() >= 4, "{}: {before:?}", sandbox.who());
        running.signal(Signal::SIGKILL);
        let killed = Instant::now();
        let _ = running.finish_within(Duration::from_secs(10));
        while !sandbox.survivors().is_empty() && killed.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            sandbox.survivors(),
            Vec::<i32>::new(),
            "{}: left after a second",
            sandbox.who()
        );
    }
}

#[test]
fn where_no_namespace_can_be_made_pid_ns_is_refused() {
    // Without privilege and without user namespaces (pretended: this machine has them).
    let Some(sandbox) = Sandbox::ordinary_user() else {
        return;
    };
    let mut command = sandbox.leash(&["--pid-ns", "--", "touch", "ran"]);
    command.env("_LEASH_TEST_MISSING", "userns");
    let output = command.output().expect("leash");
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "leash: --pid-ns: no PID namespace can be made here: pretended missing by \
         _LEASH_TEST_MISSING\n"
    );
    assert!(!sandbox.path("ran").exists());
    let mut explain = sandbox.leash(&["--explain"]);
    explain.env("_LEASH_TEST_MISSING", "userns");
    let text = String::from_utf8_lossy(&explain.output().expect("leash").stdout).into_owned();
    assert!(
        text.contains("--pid-ns is not available here: pretended missing by _LEASH_TEST_MISSING"),
        "{text}"
    );
}

#[test]
fn a_real_kernel_refusal_is_one_line_and_125() {
    // Inside a user namespace of the test's own whose max_user_namespaces is 0, with no
    // capabilities left: the only way to a PID namespace is closed, as on a locked-down
    // machine.
    let sandbox = Sandbox::new();
    let leash = env!("CARGO_BIN_EXE_leash");
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces || exit 77; \
         exec setpriv --inh-caps=-all --bounding-set=-all {leash} --pid-ns -- touch ran"
    );
    let mut command = sandbox.capped("unshare");
    command.args(["--user", "--map-root-user", "sh", "-c", &script]);
    let output = command.output().expect("unshare");
    if output.status.code() == Some(77) {
        eprintln!("skipped: no user namespace of our own here");
        return;
    }
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("leash: --pid-ns: no PID namespace can be made here: ")
            && stderr.contains("user.max_user_namespaces is 0")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(!sandbox.path("ran").exists());
}

#[test]
fn a_command_that_ends_at_once_keeps_its_status() {
    // It may end before leash learns its PID; then init stands for it as leash's child,
    // and init's own exit must not be taken for the command's (it was, one run in twenty).
    let sandbox = Sandbox::new();
    for _ in 0..100 {
        let run = sandbox.run(&["--pid-ns", "--", "sh", "-c", "exit 3"]);
        assert_eq!(run.code(), Some(3), "{}", run.stderr);
    }
    sandbox.assert_no_survivors(&[]);
}
