//! Interactive sessions: a terminal stays a terminal to the command. Run under script(1),
//! which gives leash a pseudo-terminal as its controlling terminal and passes our input
//! to it as typed keys.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::Sandbox;

/// Start `line` in a shell on a fresh pseudo-terminal, inside the sandbox's cap; its
/// terminal output goes to the file `name`.
fn on_terminal(sandbox: &Sandbox, line: &str, name: &str) -> Child {
    sandbox
        .capped("script")
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(sandbox.path(name)).expect("output file"))
        .spawn()
        .expect("script(1) from util-linux")
}

/// Wait until the terminal output contains `text` (the programs' "ready").
fn wait_for_output(sandbox: &Sandbox, name: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(sandbox.path(name))
        .unwrap_or_default()
        .contains(text)
    {
        assert!(
            Instant::now() < deadline,
            "{text:?} never appeared in {name}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn type_keys(child: &mut Child, keys: &str) {
    let stdin = child.stdin.as_mut().expect("piped stdin");
    stdin.write_all(keys.as_bytes()).expect("type");
    stdin.flush().expect("type");
}

fn finish(mut child: Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the terminal session did not end"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

const LEASH: &str = env!("CARGO_BIN_EXE_leash");

/// Run `line` on a terminal, type `keys` once it printed "ready", and return everything
/// the terminal showed.
fn typed_session(sandbox: &Sandbox, line: &str, keys: &str) -> String {
    let mut child = on_terminal(sandbox, line, "tty");
    wait_for_output(sandbox, "tty", "ready");
    type_keys(&mut child, keys);
    finish(child);
    std::fs::read_to_string(sandbox.path("tty")).expect("terminal output")
}

#[test]
fn the_command_reads_the_terminal_in_the_foreground() {
    let sandbox = Sandbox::new();
    let line =
        format!("{LEASH} --wall 20s -- sh -c 'echo ready; read x; echo got $x'; echo leash=$?");
    let output = typed_session(&sandbox, &line, "hello\n");
    // Without the handoff the read stops the command (SIGTTIN) until --wall ends it: 124.
    assert!(
        output.contains("got hello") && output.contains("leash=0"),
        "{output:?}"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn ctrl_c_reaches_the_command() {
    let sandbox = Sandbox::new();
    let line = format!(
        "{LEASH} -- sh -c 'trap \"echo got INT; exit 3\" INT; echo ready; while :; do sleep 0.05; done'; echo leash=$?"
    );
    let output = typed_session(&sandbox, &line, "\x03");
    assert!(
        output.contains("got INT") && output.contains("leash=3"),
        "{output:?}"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn ctrl_z_suspends_the_session_and_fg_resumes_it() {
    ctrl_z_and_fg("");
}

#[test]
fn ctrl_z_and_fg_work_in_a_pid_namespace_too() {
    // The main process is init's child there: init reports its stop to leash.
    ctrl_z_and_fg("--pid-ns");
}

/// Ctrl-Z stops the session under `leash FLAGS` and gives the shell its terminal; `fg`
/// hands it back and the session runs again; Ctrl-C ends it.
fn ctrl_z_and_fg(flags: &str) {
    let sandbox = Sandbox::new();
    let mut child = on_terminal(&sandbox, "bash --norc --noprofile -i", "tty");
    // The shell echoes what is typed, so each marker is typed split by quotes ("") and
    // appears whole only when a program prints it. The loop runs in bash, not dash: dash
    // starts `sleep` with vfork(2), and a Ctrl-Z between the vfork and the exec stops the
    // child and leaves dash waiting for it with every signal blocked, never stopped (so a
    // shell's job never stops either, leash or not).
    let command = format!(
        "{LEASH} {flags} -- bash -c 'echo rea\"\"dy; while :; do echo >> beats; sleep 0.05; done'\n"
    );
    type_keys(&mut child, &command);
    wait_for_output(&sandbox, "tty", "ready");
    type_keys(&mut child, "\x1a");
    wait_for_output(&sandbox, "tty", "Stopped");
    type_keys(&mut child, "echo shell-has-\"\"the-terminal\n");
    wait_for_output(&sandbox, "tty", "shell-has-the-terminal");
    let beats = || {
        std::fs::read_to_string(sandbox.path("beats"))
            .unwrap_or_default()
            .len()
    };
    let while_stopped = beats();
    type_keys(&mut child, "fg\n");
    // The session runs again (its heartbeat file grows), and in the foreground: Ctrl-C
    // reaches it and ends it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while beats() <= while_stopped + 1 {
        assert!(Instant::now() < deadline, "the session did not resume");
        std::thread::sleep(Duration::from_millis(10));
    }
    type_keys(&mut child, "\x03");
    type_keys(&mut child, "echo status=$?; exit\n");
    finish(child);
    let output = std::fs::read_to_string(sandbox.path("tty")).expect("terminal output");
    assert!(output.contains("status=130"), "{output:?}");
    sandbox.assert_no_survivors(&[]);
}

/// A python REPL under leash, on a terminal of 33 rows and 101 columns, with and without
/// the output relay (which gives the session a pseudo-terminal of its own for output).
fn python_repl(relay: bool) {
    let sandbox = Sandbox::new();
    let flags = if relay { "--output 1M" } else { "" };
    let line = format!(
        "stty rows 33 cols 101; {LEASH} {flags} --wall 60s -- python3 -i -q; echo leash=$?"
    );
    let mut child = on_terminal(&sandbox, &line, "tty");
    wait_for_output(&sandbox, "tty", ">>> ");
    // The REPL echoes what is typed: markers are built by the program, not typed whole.
    type_keys(
        &mut child,
        "import os, sys; print('tty', sys.stdin.isatty(), sys.stdout.isatty(), tuple(os.get_terminal_size(1)), 'x'*2)\n",
    );
    wait_for_output(&sandbox, "tty", "xx");
    type_keys(&mut child, "while True: pass\n");
    std::thread::sleep(Duration::from_millis(300));
    type_keys(&mut child, "\x03");
    wait_for_output(&sandbox, "tty", "KeyboardInterrupt");
    type_keys(&mut child, "print('still' + 'here')\n");
    wait_for_output(&sandbox, "tty", "stillhere");
    type_keys(&mut child, "exit()\n");
    finish(child);
    let output = std::fs::read_to_string(sandbox.path("tty")).expect("terminal output");
    assert!(
        output.contains("tty True True (101, 33) xx"),
        "relay {relay}: {output:?}"
    );
    assert!(output.contains("leash=0"), "relay {relay}: {output:?}");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_python_repl_gets_a_terminal_and_ctrl_c() {
    python_repl(false);
}

#[test]
fn a_python_repl_gets_a_terminal_of_the_same_size_through_the_relay() {
    python_repl(true);
}

#[test]
fn a_wall_breach_in_the_repl_restores_the_terminal_and_the_shells_foreground() {
    let sandbox = Sandbox::new();
    // readline puts the terminal in raw mode while the REPL waits for input.
    let line = format!(
        "stty -g > before; {LEASH} --wall 2s -- python3 -i -q; echo leash=$?; \
         stty -g > after; cut -d\" \" -f5,8 /proc/$$/stat > groups; echo do''ne"
    );
    let child = on_terminal(&sandbox, &line, "tty");
    let status = finish(child);
    let output = std::fs::read_to_string(sandbox.path("tty")).unwrap();
    assert!(status.success(), "{output:?}");
    assert!(output.contains("leash=124"), "{output:?}");
    let read = |name: &str| std::fs::read_to_string(sandbox.path(name)).unwrap();
    assert_eq!(
        read("before"),
        read("after"),
        "the terminal modes were not restored"
    );
    let groups: Vec<String> = read("groups")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0], groups[1], "the shell is not in the foreground");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn leash_in_the_background_of_an_interactive_shell_neither_hangs_nor_stops() {
    let sandbox = Sandbox::new();
    let mut child = on_terminal(&sandbox, "bash --norc --noprofile -i", "tty");
    type_keys(
        &mut child,
        &format!("{LEASH} -t 5s -- sleep 1 & wait $!; echo bg-status=$?''; exit\n"),
    );
    let status = finish(child);
    let output = std::fs::read_to_string(sandbox.path("tty")).unwrap();
    assert!(status.success(), "{output:?}");
    assert!(output.contains("bg-status=0"), "{output:?}");
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_relayed_terminal_follows_a_resize() {
    let sandbox = Sandbox::new();
    // The session resizes the real terminal (its stdin); its stdout is leash's
    // pseudo-terminal, which must follow within leash's 100 ms check.
    let program = "import os, subprocess, time\n\
                   before = tuple(os.get_terminal_size(1))\n\
                   subprocess.run('stty cols 120 rows 40', shell=True)\n\
                   time.sleep(0.5)\n\
                   print('sizes', before, tuple(os.get_terminal_size(1)))";
    std::fs::write(sandbox.path("resize.py"), program).unwrap();
    let line = format!("stty rows 33 cols 101; {LEASH} --output 1M -- python3 resize.py");
    let child = on_terminal(&sandbox, &line, "tty");
    assert!(finish(child).success());
    let output = std::fs::read_to_string(sandbox.path("tty")).unwrap();
    assert!(output.contains("sizes (101, 33) (120, 40)"), "{output:?}");
    sandbox.assert_no_survivors(&[]);
}
