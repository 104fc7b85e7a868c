//! The session cannot touch its supervisor or anything outside itself (the isolation
//! issue): it cannot stop, kill or ptrace leash, signal the user's other processes, or
//! push keystrokes into a terminal; and where the machine lacks a mechanism, `--explain`
//! and `--verbose` say so.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common;
use crate::common::Sandbox;

#[test]
fn the_session_cannot_stop_leash() {
    for sandbox in Sandbox::for_each_user() {
        let running = sandbox.start(&[
            "--wall",
            "2s",
            "--",
            "sh",
            "-c",
            "echo $$ > main.pid; kill -STOP $PPID; while :; do :; done",
        ]);
        let main = sandbox.wait_for_pids(&["main.pid".into()]);
        let run = running.finish_within(Duration::from_secs(20));
        assert_eq!(run.code(), Some(124), "{}: {}", sandbox.who(), run.stderr);
        // The wall, the grace (the spinner takes TERM at once) and a second of slack.
        run.assert_faster_than(Duration::from_secs(5));
        assert!(
            run.stderr.contains("Operation not permitted"),
            "{}: the kill was not refused: {}",
            sandbox.who(),
            run.stderr
        );
        sandbox.assert_no_survivors(&main);
    }
}

#[test]
fn the_session_cannot_kill_leash() {
    for sandbox in Sandbox::for_each_user() {
        let running = sandbox.start(&[
            "--wall",
            "10s",
            "--",
            "sh",
            "-c",
            "kill -9 $PPID; setsid sh -c 'echo $$ > spinner.pid; while :; do :; done' & \
             sleep 0.5",
        ]);
        let spinner = sandbox.wait_for_pids(&["spinner.pid".into()]);
        let run = running.finish_within(Duration::from_secs(20));
        // leash lived to stop the spinner, and passed the command's own status on.
        assert_eq!(run.signal(), None, "{}: leash was killed", sandbox.who());
        assert_eq!(run.code(), Some(0), "{}: {}", sandbox.who(), run.stderr);
        run.assert_faster_than(Duration::from_secs(5));
        sandbox.assert_no_survivors(&spinner);
    }
}

/// `kill -9 -1` signals every process its user may signal. Run only as the ordinary user
/// the tests make for it, never as root (it would end the machine) and never as the
/// developer's own user (it would end their session if leash were broken).
#[test]
fn kill_minus_one_reaches_only_the_session() {
    let Some(sandbox) = Sandbox::unprivileged() else {
        eprintln!("skipped: needs root, to run as an ordinary user made for the test");
        return;
    };
    let user = common::test_user().expect("the user the sandbox runs as");
    // A process of the same user, outside the session, started before it.
    let mut bystander = Command::new("setpriv")
        .args([
            &format!("--reuid={}", user.uid),
            &format!("--regid={}", user.gid),
            "--clear-groups",
            "sleep",
            "60",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("setpriv");
    std::thread::sleep(Duration::from_millis(200));
    let running = sandbox.start(&[
        "--wall",
        "10s",
        "--",
        "sh",
        "-c",
        "[ \"$(id -u)\" != 0 ] || exit 99; kill -9 -1; \
         setsid sh -c 'echo $$ > spinner.pid; while :; do :; done' & sleep 0.5",
    ]);
    let finished = running.finish_within(Duration::from_secs(20));
    let alive = bystander.try_wait().expect("wait").is_none();
    let _ = bystander.kill();
    let _ = bystander.wait();
    assert_ne!(finished.code(), Some(99), "the session ran as root");
    // The session's shell killed itself with the rest of the session; leash stopped
    // whatever was left (the spinner, if it started) and is still there to say so.
    assert_eq!(
        finished.signal(),
        None,
        "leash was killed: {}",
        finished.stderr
    );
    assert!(alive, "the bystander outside the session was killed");
    sandbox.assert_no_survivors(&[]);
}

/// A Python program in the session: PTRACE_SEIZE of leash (the permission check of
/// PTRACE_ATTACH, without stopping leash if it were to pass) and TIOCSTI on a
/// pseudo-terminal of its own; prints what the kernel said.
const PTRACE_AND_TIOCSTI: &str = r#"
import ctypes, fcntl, os, termios
libc = ctypes.CDLL(None, use_errno=True)
seized = libc.ptrace(0x4206, os.getppid(), 0, 0)
print("ptrace", "refused" if seized != 0 else "allowed", ctypes.get_errno())
master, slave = os.openpty()
try:
    fcntl.ioctl(slave, termios.TIOCSTI, b"x")
    print("tiocsti allowed")
except OSError as e:
    print("tiocsti refused", e.errno)
"#;

#[test]
fn the_session_cannot_ptrace_leash_or_push_keystrokes() {
    for sandbox in Sandbox::for_each_user() {
        let run = sandbox.run(&["--", "python3", "-c", PTRACE_AND_TIOCSTI]);
        assert_eq!(run.code(), Some(0), "{}: {}", sandbox.who(), run.stderr);
        assert!(
            run.stdout.contains("ptrace refused 1"),
            "{}: {}",
            sandbox.who(),
            run.stdout
        );
        assert!(
            run.stdout.contains("tiocsti refused 1"),
            "{}: {}",
            sandbox.who(),
            run.stdout
        );
    }
    // Without leash, this machine lets the same program push keystrokes (so the test
    // above can fail).
    let outside = Command::new("python3")
        .args(["-c", PTRACE_AND_TIOCSTI])
        .output()
        .expect("python3");
    let outside = String::from_utf8_lossy(&outside.stdout);
    assert!(outside.contains("tiocsti allowed"), "{outside}");
}

#[test]
fn without_the_scope_leash_is_still_not_ptraceable() {
    // Only an ordinary user is held back by leash being non-dumpable: root may ptrace
    // anything.
    let Some(sandbox) = Sandbox::ordinary_user() else {
        return;
    };
    let run = sandbox.run(&[
        "--allow-signals-outside",
        "--verbose",
        "--",
        "python3",
        "-c",
        PTRACE_AND_TIOCSTI,
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("ptrace refused 1"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "leash: the session can signal leash and your other processes: \
             turned off by --allow-signals-outside\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn another_identity_with_new_privileges_runs_and_says_what_it_gives_up() {
    // As root only: --user. The command loses CAP_SYS_ADMIN with its identity, and without
    // no_new_privs neither Landlock nor seccomp can then be had: leash says so and runs.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let sandbox = Sandbox::new();
    let flags = ["--user", "nobody", "--allow-new-privs"];
    let run = sandbox.run(&[&flags[..], &["--", "id", "-u"]].concat());
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "65534\n");
    let row = common::explained(
        &sandbox,
        &[],
        &[&flags[..], &["--explain"]].concat(),
        "syscalls",
    );
    assert!(
        row.starts_with("not held  --allow-new-privs, and the command has no CAP_SYS_ADMIN"),
        "{row}"
    );
}

#[test]
fn explain_says_which_protection_holds_and_why_one_does_not() {
    let sandbox = Sandbox::new();
    let signals = common::explained(&sandbox, &[], &["--explain"], "signals");
    assert!(
        signals.contains("contained  Landlock scope (ABI "),
        "{signals}"
    );
    let syscalls = common::explained(&sandbox, &[], &["--explain"], "syscalls");
    assert!(
        syscalls.contains("filtered  seccomp filter: ioctl TIOCSTI"),
        "{syscalls}"
    );
    let opted_out = common::explained(
        &sandbox,
        &[],
        &["--explain", "--allow-signals-outside"],
        "signals",
    );
    assert!(
        opted_out
            .contains("not held  turned off by --allow-signals-outside; leash is non-dumpable"),
        "{opted_out}"
    );
    let missing = [("_LEASH_TEST_MISSING", "landlock,seccomp")];
    for row in ["signals", "abstract-sockets", "syscalls"] {
        let line = common::explained(&sandbox, &missing, &["--explain"], row);
        assert!(
            line.starts_with("not held  pretended missing by _LEASH_TEST_MISSING"),
            "{line}"
        );
    }
}

#[test]
fn sessions_with_the_protections_on_still_run_what_they_ran() {
    // Signals inside the session, sockets, a terminal's ordinary ioctls: all as before.
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "--",
        "python3",
        "-c",
        "import os, signal, socket, subprocess, termios\n\
         child = subprocess.Popen(['sleep', '30'])\n\
         os.kill(child.pid, signal.SIGTERM); print('wait', child.wait())\n\
         a, b = socket.socketpair(); a.send(b'hi'); print(b.recv(2))\n\
         m, s = os.openpty(); print('tcgetattr', len(termios.tcgetattr(s)))\n",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "wait -15\nb'hi'\ntcgetattr 7\n");
}
