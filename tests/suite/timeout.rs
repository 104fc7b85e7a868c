//! leash as `timeout` (a link named so, first on PATH): every check of GNU coreutils'
//! own `tests/timeout/` suite (timeout.sh, timeout-parameters.sh,
//! timeout-large-parameters.sh, timeout-blocked.pl, timeout-group.sh, init-parent.sh),
//! restated from what each one checks, and what leash adds: nothing left running.

use std::time::Duration;

use crate::common;
use crate::common::{Finished, Sandbox};
use nix::sys::signal::Signal;

/// `sh -c LINE` with the `timeout` link first on PATH, to its end.
fn run(sandbox: &Sandbox, line: &str) -> Finished {
    sandbox.run_with_links(line)
}

/// Assert that `line` exits with `code`, naming the line and what it said.
fn assert_status(sandbox: &Sandbox, line: &str, code: i32) {
    let run = run(sandbox, line);
    assert_eq!(
        run.code(),
        Some(code),
        "{line}: {:?} {}",
        run.status,
        run.stderr
    );
}

// timeout.sh

#[test]
fn a_command_that_ends_in_time_passes_its_status_through() {
    let sandbox = Sandbox::new();
    for (line, code) in [
        ("timeout 10 true", 0),
        ("timeout 1d true", 0),
        ("timeout 0 true", 0),
        ("timeout 10 sh -c 'exit 2'", 2),
    ] {
        assert_status(&sandbox, line, code);
    }
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_command_that_times_out_is_124_or_its_own_status_with_preserve() {
    let sandbox = Sandbox::new();
    let timed_out = run(&sandbox, "timeout .1 sleep 10");
    assert_eq!(timed_out.code(), Some(124), "{}", timed_out.stderr);
    assert!(
        timed_out.elapsed < Duration::from_secs(8),
        "{:?}",
        timed_out.elapsed
    );
    // 128 + TERM.
    assert_status(&sandbox, "timeout --preserve-status .1 sleep 10", 143);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn kill_after_a_signal_that_does_nothing_is_137_with_or_without_foreground() {
    let sandbox = Sandbox::new();
    // Signal 0 sends nothing: the command runs on until -k's KILL, 128 + 9.
    assert_status(&sandbox, "timeout -s0 -k1 .1 sleep 10", 137);
    assert_status(&sandbox, "timeout --foreground -s0 -k1 .1 sleep 10", 137);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_caller_that_ignores_sigchld_does_not_confuse_it() {
    let sandbox = Sandbox::new();
    assert_status(&sandbox, "trap '' CHLD; exec timeout 10 sh -c 'exit 3'", 3);
    assert_status(&sandbox, "trap '' CHLD; exec timeout .1 sleep 10", 124);
}

#[test]
fn a_child_it_did_not_start_does_not_end_its_wait() {
    // Bug#9098: timeout exec'd by a shell that has a child of its own already.
    let sandbox = Sandbox::new();
    let run = run(
        &sandbox,
        "out=$(setsid sleep .1 & exec timeout .5 sh -c 'sleep 2; echo foo'); echo \"$?:$out\"",
    );
    assert_eq!(run.stdout, "124:\n", "{}", run.stderr);
}

#[test]
fn verbose_names_each_signal_it_sends() {
    let sandbox = Sandbox::new();
    for option in ["-v", "--verbose"] {
        let run = run(&sandbox, &format!("timeout {option} -s0 -k .1 .1 sleep 10"));
        assert_eq!(run.code(), Some(137));
        assert_eq!(
            run.stderr,
            "timeout: sending signal 0 to command 'sleep'\n\
             timeout: sending signal KILL to command 'sleep'\n"
        );
    }
    let run = run(&sandbox, "timeout -v .1 sleep 10");
    assert_eq!(
        run.stderr,
        "timeout: sending signal TERM to command 'sleep'\n"
    );
    let quiet = self::run(&sandbox, "timeout .1 sleep 10");
    assert_eq!(quiet.stderr, "", "no message unless asked");
}

#[test]
fn a_broken_pipe_on_its_own_stderr_does_not_kill_it() {
    let sandbox = Sandbox::new();
    let run = run(
        &sandbox,
        "{ timeout -v .1 sleep 10 2>&1; echo $? > status; } | :; cat status",
    );
    assert_eq!(run.stdout, "124\n", "{}", run.stderr);
}

#[test]
fn signals_the_caller_ignored_stay_ignored_for_the_command() {
    let sandbox = Sandbox::new();
    // yes sees EPIPE instead of dying of SIGPIPE, and says so.
    let run = run(
        &sandbox,
        "(trap '' PIPE && timeout 10 yes | :) 2>&1 | grep -c 'Broken pipe'",
    );
    assert_eq!(run.stdout, "1\n", "{}", run.stderr);
    // And a signal the caller did not ignore is the default again, SIGPIPE included
    // (which the Rust runtime ignores in leash itself).
    let run = self::run(&sandbox, "timeout 10 yes | head -c 1");
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (Some(0), "y"),
        "{}",
        run.stderr
    );
    let run = self::run(
        &sandbox,
        "trap '' HUP; timeout 10 sh -c 'grep ^SigIgn /proc/self/status'",
    );
    let ignored = run
        .stdout
        .trim()
        .rsplit('\t')
        .next()
        .unwrap_or_default()
        .to_string();
    let mask = u64::from_str_radix(&ignored, 16).unwrap_or(0);
    assert_ne!(
        mask & (1 << (libc::SIGHUP - 1)),
        0,
        "HUP not ignored: {}",
        run.stdout
    );
    assert_eq!(
        mask & (1 << (libc::SIGPIPE - 1)),
        0,
        "PIPE ignored: {}",
        run.stdout
    );
}

// timeout-parameters.sh and timeout-large-parameters.sh

#[test]
fn bad_durations_signals_and_options_are_125() {
    let sandbox = Sandbox::new();
    for line in [
        "timeout invalid sleep 0",
        "timeout ' -0.1' sleep 0",
        "timeout ' -1e-10000' sleep 0",
        "timeout --kill-after=invalid 1 sleep 0",
        "timeout 42D sleep 0",
        "timeout --signal=invalid 1 sleep 0",
        "timeout -- -1.18973149535723176502e+4932 sleep 0",
        "timeout 10",
        "timeout",
        "timeout --bogus 1 true",
    ] {
        let run = run(&sandbox, line);
        assert_eq!(run.code(), Some(125), "{line}: {}", run.stderr);
        assert!(
            run.stderr
                .ends_with("Try 'timeout --help' for more information.\n"),
            "{line}: {}",
            run.stderr
        );
    }
    let run = run(&sandbox, "timeout 42D sleep 0");
    assert!(
        run.stderr
            .starts_with("timeout: invalid time interval '42D'\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_old_signal_names_gnu_takes_are_taken() {
    // Issue 31, item 16: CLD, IOT and POLL (GNU's names for CHLD, ABRT, IO) were refused.
    let sandbox = Sandbox::new();
    for (line, code) in [
        ("timeout -s CLD 0.1 sleep 0.3", 124),
        ("timeout -s IOT -k 5 0.1 sleep 5", 124),
        (
            "timeout -s SIGPOLL --preserve-status 0.1 sleep 5",
            128 + libc::SIGIO,
        ),
    ] {
        assert_status(&sandbox, line, code);
    }
}

#[test]
fn durations_read_as_c_reads_floating_point_numbers() {
    let sandbox = Sandbox::new();
    for line in [
        "timeout 10.34 sleep 0",
        "timeout 9.999999999 sleep 0",
        "timeout 4294967296 sleep 0",
        "timeout 9223372036854775808d sleep 0",
        "timeout 2.34e+5d sleep 0",
        "timeout 1.18973149535723176502e+4932 sleep 0",
        "timeout 0x1p-1 sleep 0",
    ] {
        assert_status(&sandbox, line, 0);
    }
    // A duration beyond any clock is no limit, not a timer that fires at once.
    assert_status(&sandbox, "timeout 9223372036854775808 sleep 1", 0);
    // Below the least double: rounded up to a nanosecond, so over at once.
    assert_status(&sandbox, "timeout 1e-10000 sleep 10", 124);
}

#[test]
fn a_command_that_cannot_run_is_126_and_a_missing_one_127() {
    let sandbox = Sandbox::new();
    let run = run(&sandbox, "timeout 10 .");
    assert_eq!(run.code(), Some(126), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "timeout: failed to run command '.': Permission denied\n"
    );
    let run = self::run(&sandbox, "timeout 10 no_such");
    assert_eq!(run.code(), Some(127));
    assert_eq!(
        run.stderr,
        "timeout: failed to run command 'no_such': No such file or directory\n"
    );
}

// timeout-blocked.pl

#[test]
fn a_blocked_sigalrm_in_the_caller_does_not_stop_the_timeout() {
    let sandbox = Sandbox::new();
    assert_status(
        &sandbox,
        "exec python3 -c 'import os, signal; \
         signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM}); \
         os.execvp(\"timeout\", [\"timeout\", \".1\", \"sleep\", \"10\"])'",
        124,
    );
}

// timeout-group.sh

/// The script GNU's group test times out: it says it runs, then waits up to `$1` seconds
/// for USR1, noting it in `sig.received`.
fn write_waiting_command(sandbox: &Sandbox) {
    common::shell_script(
        &sandbox.path("timeout.cmd"),
        "trap 'touch sig.received; exit' USR1\n\
         touch timeout.running\n\
         count=$1\n\
         until test -e sig.received || test $count = 0; do\n\
           sleep 1\n\
           count=$(expr $count - 1)\n\
         done\n",
    );
}

#[test]
fn in_the_foreground_the_command_gets_the_signals_of_its_callers_group() {
    let sandbox = Sandbox::new();
    write_waiting_command(&sandbox);
    // A group of its own, ignoring USR1 (so its wait is not cut short), whose timeout
    // runs --foreground: a USR1 to the group reaches the command directly.
    common::shell_script(
        &sandbox.path("group.sh"),
        "trap '' USR1\n\
         env --default-signal=USR1 timeout -v --foreground 25 ./timeout.cmd 20 &\n\
         wait\n",
    );
    let run = run(
        &sandbox,
        "setsid ./group.sh & pid=$!; \
         until test -e timeout.running; do sleep .05; done; \
         python3 -c \"import os, signal; os.killpg($pid, signal.SIGUSR1)\"; \
         wait; test -e sig.received && echo received",
    );
    assert_eq!(run.stdout, "received\n", "{}", run.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_killed_timeout_leaves_its_command_the_signal() {
    let sandbox = Sandbox::new();
    write_waiting_command(&sandbox);
    let run = run(
        &sandbox,
        "timeout -sUSR1 25 ./timeout.cmd 20 & pid=$!; \
         until test -e timeout.running; do sleep .05; done; \
         kill -KILL $pid; wait; \
         for i in $(seq 100); do test -e sig.received && break; sleep .1; done; \
         test -e sig.received && echo received",
    );
    assert_eq!(run.stdout, "received\n", "{}", run.stderr);
}

#[test]
fn cascaded_timeouts_each_signal_their_own_command() {
    let sandbox = Sandbox::new();
    write_waiting_command(&sandbox);
    // The outer timeout's ALRM reaches the inner one (its command), whose own timeout
    // then sends USR1 to the script: not straight to the script, which would die of ALRM.
    let run = run(
        &sandbox,
        "timeout -sALRM 30 timeout -sUSR1 25 ./timeout.cmd 20 & pid=$!; \
         until test -e timeout.running; do sleep .05; done; \
         kill -ALRM $pid; wait $pid; echo $?; test -e sig.received && echo received",
    );
    assert_eq!(run.stdout, "124\nreceived\n", "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    sandbox.assert_no_survivors(&[]);
}

// init-parent.sh

#[test]
fn as_the_first_process_of_a_pid_namespace_it_still_works() {
    let sandbox = Sandbox::new();
    let newpids = "unshare --pid --fork --map-root-user";
    if !run(&sandbox, &format!("{newpids} true")).status.success() {
        eprintln!("skipped: {newpids} is unavailable here");
        return;
    }
    assert_status(&sandbox, &format!("{newpids} timeout 10 sleep .5"), 0);
    assert_status(&sandbox, &format!("{newpids} timeout .1 sleep 10"), 124);
}

// The rest of coreutils' tests where they concern timeout, and what leash adds.

#[test]
fn what_the_command_left_behind_does_not_outlive_it() {
    let sandbox = Sandbox::new();
    // GNU timeout signals its process group: a setsid'd loop would spin on.
    let mut start = sandbox.shell_with_links(
        "timeout 3 sh -c 'setsid sh -c \"echo \\$\\$ > loop.pid; while :; do :; done\" & sleep 100'",
    );
    start.stdin(std::process::Stdio::null());
    let running = sandbox.start_prepared(start, "");
    let tracked = sandbox.wait_for_pids(&["loop.pid".to_string()]);
    let run = running.finish_within(Duration::from_secs(30));
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    sandbox.assert_no_survivors(&tracked);
}

#[test]
fn a_death_by_signal_passes_through_and_forwarded_signals_do_not_time_out() {
    let sandbox = Sandbox::new();
    let run = run(&sandbox, "timeout 10 sh -c 'kill -USR2 $$'; echo $?");
    assert_eq!(run.stdout, "140\n", "{}", run.stderr);
    // A TERM to timeout goes to the command, which handles it: its own status, no 124.
    let running = sandbox.start_prepared(
        sandbox.shell_with_links(
            "exec timeout 30 sh -c 'trap \"exit 7\" TERM; echo $$ > ready; while :; do sleep .1; done'",
        ),
        "",
    );
    sandbox.wait_for_file("ready");
    running.signal(Signal::SIGTERM);
    let run = running.finish_within(Duration::from_secs(20));
    assert_eq!(run.code(), Some(7), "{}", run.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn sigalrm_to_the_wrapper_times_out_at_once() {
    let sandbox = Sandbox::new();
    let running = sandbox.start_prepared(
        sandbox.shell_with_links("exec timeout 100 sh -c 'echo $$ > ready; exec sleep 100'"),
        "",
    );
    sandbox.wait_for_file("ready");
    running.signal(Signal::SIGALRM);
    let run = running.finish_within(Duration::from_secs(20));
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn help_and_version_say_what_they_are() {
    let sandbox = Sandbox::new();
    let help = run(&sandbox, "timeout --help");
    assert_eq!(help.code(), Some(0));
    assert!(
        help.stdout
            .starts_with("Usage: timeout [OPTION]... DURATION COMMAND [ARG]...\n")
    );
    assert!(help.stdout.contains("--kill-after=DURATION"));
    let version = run(&sandbox, "timeout --version");
    assert!(
        version.stdout.starts_with("timeout (leash) "),
        "{}",
        version.stdout
    );
    // Options end at the first operand, as GNU's do: `--` here is the command.
    assert_status(&sandbox, "timeout 10 -- true", 127);
    assert_status(&sandbox, "timeout -- 10 true", 0);
}

#[test]
fn the_command_may_do_what_it_may_under_gnu_timeout() {
    let sandbox = Sandbox::new();
    // Inherited descriptors stay open (a `3>`, a make jobserver's).
    let run = run(&sandbox, "timeout 10 sh -c 'echo kept >&3' 3> fd3; cat fd3");
    assert_eq!(run.stdout, "kept\n", "{}", run.stderr);
    // No no_new_privs: `timeout 60 sudo ...` must work.
    let run = self::run(&sandbox, "timeout 10 grep NoNewPrivs /proc/self/status");
    assert_eq!(
        run.stdout.split_whitespace().last(),
        Some("0"),
        "{}",
        run.stdout
    );
    // Its OOM score is its caller's (leash itself makes its sessions the OOM killer's pick).
    let run = self::run(
        &sandbox,
        "echo 7 > /proc/self/oom_score_adj; timeout 10 cat /proc/self/oom_score_adj",
    );
    assert_eq!(run.stdout, "7\n", "{}", run.stderr);
    // It may signal its parent, the wrapper, which passes USR1 back to it: it dies of it,
    // and so does the wrapper (128 + 10), as under GNU timeout.
    let run = self::run(
        &sandbox,
        "timeout 10 sh -c 'kill -USR1 $PPID; sleep 5'; echo $?",
    );
    assert_eq!(run.stdout, "138\n", "{}", run.stderr);
}

#[test]
fn an_ordinary_user_gets_the_same() {
    let Some(sandbox) = Sandbox::unprivileged() else {
        eprintln!("skipped: the tests already run unprivileged, or no user can be made");
        return;
    };
    for (line, code) in [
        ("timeout .1 sleep 10", 124),
        ("timeout -s0 -k .2 .1 sleep 10", 137),
        ("timeout 10 sh -c 'exit 4'", 4),
        ("timeout --preserve-status .1 sleep 10", 143),
    ] {
        assert_status(&sandbox, line, code);
    }
    let running = sandbox.start_prepared(
        sandbox.shell_with_links(
            "timeout 2 sh -c 'setsid sh -c \"echo \\$\\$ > loop.pid; while :; do :; done\" & sleep 100'",
        ),
        "",
    );
    let tracked = sandbox.wait_for_pids(&["loop.pid".to_string()]);
    let run = running.finish_within(Duration::from_secs(30));
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    sandbox.assert_no_survivors(&tracked);
}
