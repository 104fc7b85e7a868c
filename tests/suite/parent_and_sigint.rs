//! Stopping options a supervisor above leash needs (a Jupyter kernel launcher, a job
//! runner, a coding agent): `--die-with-parent` stops the whole session when leash's parent
//! dies, `--die-with PID` when any process does, and `--on-sigint forward` passes SIGINT on
//! to a session that handles it, without stopping it.

use std::time::{Duration, Instant};

use crate::common::{Sandbox, Tracked};
use nix::sys::signal::Signal;

#[test]
fn the_session_dies_with_the_parent_of_its_leash() {
    let sandbox = Sandbox::new();
    // A parent shell that starts leash in the background and waits; leash's session leaves
    // a detached spinner.
    let parent = sandbox.start_shell(
        r#"leash --die-with-parent --cgroup off --report r.json -- sh -c 'setsid sh -c "echo \$\$ > spinner.pid; while :; do :; done" & sleep 100' & echo $! > leash.pid; wait"#,
        "",
    );
    let tracked = sandbox.wait_for_pids(&["leash.pid".into(), "spinner.pid".into()]);
    parent.signal(Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tracked.iter().any(Tracked::runs) {
        assert!(
            Instant::now() < deadline,
            "the session outlived leash's parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let said = parent.finish();
    assert!(
        said.stderr.contains("its parent died (--die-with-parent)"),
        "{}",
        said.stderr
    );
    let report = sandbox.json("r.json");
    assert_eq!(report["outcome"], "leash_signaled", "{report:#}");
    assert_eq!(report["signal"], "SIGTERM", "{report:#}");
    // The spinner was leash's to reap; leash itself is a zombie of whoever it was passed
    // on to, until that reaps it.
    sandbox.assert_no_survivors(&tracked[1..]);
}

#[test]
fn the_session_dies_with_the_process_it_names() {
    // An agent several processes up: a shell that runs leash and outlives it unless the
    // session stops, whatever it left detached.
    let sandbox = Sandbox::new();
    let agent = sandbox.start_shell("echo $$ > agent.pid; exec sleep 100", "");
    let agent_pid = sandbox.wait_for_pids(&["agent.pid".into()])[0];
    let line = format!(
        r#"leash --die-with {} --cgroup off -- sh -c 'setsid sh -c "echo \$\$ > spinner.pid; while :; do :; done" & sleep 100'"#,
        agent_pid.pid
    );
    let running = sandbox.start_shell(&line, "");
    let tracked = sandbox.wait_for_pids(&["spinner.pid".into()]);
    agent.signal(Signal::SIGKILL);
    let run = running.finish_within(Duration::from_secs(10));
    assert_eq!(run.code(), Some(143), "{}", run.stderr);
    // (The shell around leash adds its own "Terminated": leash ends as SIGTERM would.)
    let said = format!(
        "leash: process {} ended (--die-with); stopped 3 processes\n",
        agent_pid.pid
    );
    assert!(run.stderr.starts_with(&said), "{}", run.stderr);
    sandbox.assert_no_survivors(&tracked);
    // None to die with (ended, reaped or not): refused, nothing started.
    let gone = sandbox.run(&[
        "--die-with",
        &agent_pid.pid.to_string(),
        "--",
        "touch",
        "ran",
    ]);
    assert_eq!(gone.code(), Some(125), "{}", gone.stderr);
    assert_eq!(
        gone.stderr,
        format!(
            "leash: --die-with: no process {} to die with\n",
            agent_pid.pid
        )
    );
    assert!(!sandbox.path("ran").exists());
}

#[test]
fn sigint_is_forwarded_and_the_session_runs_on() {
    let sandbox = Sandbox::new();
    let program = "import signal, time\n\
                   signal.signal(signal.SIGINT, lambda *a: print('got-int', flush=True))\n\
                   open('ready', 'w').close()\n\
                   time.sleep(1)\n\
                   print('done')";
    let running = sandbox.start(&[
        "--on-sigint",
        "forward",
        "--report",
        "r.json",
        "--",
        "python3",
        "-c",
        program,
    ]);
    sandbox.wait_for_file("ready");
    running.signal(Signal::SIGINT);
    let run = running.finish_within(Duration::from_secs(30));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "got-int\ndone\n", "{}", run.stderr);
    assert_eq!(sandbox.json("r.json")["outcome"], "exited");
    sandbox.assert_no_survivors(&[]);
}
