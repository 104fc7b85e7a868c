//! Output limits (the interactive-sessions issue): `--output` and `--idle` put leash
//! between the session and its stdout and stderr; everything passes through unchanged,
//! and leash's own messages start on a line of their own.

use std::io::{Read, Seek, SeekFrom, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::Sandbox;

const MIB: u64 = 1 << 20;

#[test]
fn an_output_flood_is_cut_at_the_limit_and_stopped() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--output", "16MiB", "--wall", "60s", "--", "yes"]);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("leash: output limit 16.0 MiB reached"),
        "{}",
        run.stderr
    );
    let passed = run.stdout.len() as u64;
    assert!(
        (16 * MIB - 64 * 1024..=16 * MIB).contains(&passed),
        "passed {passed} bytes"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn output_beyond_the_limit_counts_when_the_command_ends_at_once() {
    // The command writes past the limit and exits: its end and its output reach leash
    // together, and the output still counts (it used to be a plain exit, status 0, about
    // half the time).
    let sandbox = Sandbox::new();
    for _ in 0..20 {
        let run = sandbox.run(&["--output", "10", "--", "sh", "-c", "echo hello world hello"]);
        assert_eq!(run.code(), Some(124), "{}", run.stderr);
        assert_eq!(run.stdout, "hello worl");
        assert!(
            run.stderr.starts_with("leash: output limit 10 B reached"),
            "{}",
            run.stderr
        );
    }
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_silent_session_is_stopped_after_the_idle_limit() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--idle", "1s", "--", "sh", "-c", "echo hi; sleep 30"]);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert_eq!(run.stdout, "hi\n");
    assert!(
        run.stderr
            .starts_with("leash: no output for 1s: idle limit reached"),
        "{}",
        run.stderr
    );
    assert!(
        run.elapsed >= Duration::from_secs(1),
        "stopped early: {:?}",
        run.elapsed
    );
    run.assert_faster_than(Duration::from_secs(4));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn output_keeps_coming_while_the_session_is_not_idle() {
    let sandbox = Sandbox::new();
    let script = "for i in 1 2 3 4 5 6; do echo $i; sleep 0.3; done";
    let run = sandbox.run(&["--idle", "1s", "--", "sh", "-c", script]);
    assert_eq!(run.code(), Some(0), "a false positive: {}", run.stderr);
    assert_eq!(run.stdout, "1\n2\n3\n4\n5\n6\n");
}

/// A Python program writing `mib` MiB of random bytes to stdout, a MiB at a time, and
/// each MiB also to expected.bin to compare with; after each it runs `then` (`i` is the
/// MiB's number).
fn random_writer(mib: u32, then: &str) -> String {
    format!(
        "import os, sys\n\
         with open('expected.bin', 'wb') as copy:\n\
         \x20   for i in range({mib}):\n\
         \x20       chunk = os.urandom(1 << 20)\n\
         \x20       copy.write(chunk)\n\
         \x20       sys.stdout.buffer.write(chunk)\n\
         \x20       {then}\n"
    )
}

#[test]
fn relayed_pipes_are_byte_exact_and_in_order_per_stream() {
    let sandbox = Sandbox::new();
    // 100 MiB of random bytes on stdout and a numbered line on stderr after every MiB.
    let program = random_writer(100, "sys.stderr.write(f'line {i}\\n'); sys.stderr.flush()");
    let mut child = sandbox
        .leash(&["--output", "1GiB", "--", "python3", "-c", &program])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start leash");
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let errors = errors.join().unwrap();
    assert_eq!(status.code(), Some(0), "{errors}");
    let expected = std::fs::read(sandbox.path("expected.bin")).unwrap();
    assert_eq!(stdout.len(), expected.len());
    assert!(
        stdout == expected,
        "stdout differs from what the session wrote"
    );
    let lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    assert_eq!(errors.lines().collect::<Vec<_>>(), lines);
}

#[test]
fn relayed_output_into_a_file_is_byte_exact_and_moves_the_shared_offset() {
    // Into a regular file leash moves the bytes through a staging pipe of its own; the
    // file must still get them in order, from the offset leash was given, and the offset
    // its parent shares must end after them.
    let sandbox = Sandbox::new();
    let program = random_writer(64, "pass");
    let path = sandbox.path("out.bin");
    std::fs::write(&path, b"before\n").unwrap();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::End(0)).unwrap();
    let mut leash = sandbox
        .leash(&["--output", "1GiB", "--", "python3", "-c", &program])
        .stdout(file.try_clone().unwrap())
        .spawn()
        .unwrap();
    let status = common::wait_within(&mut leash, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    file.write_all(b"after\n").unwrap();
    let mut expected = b"before\n".to_vec();
    expected.extend(std::fs::read(sandbox.path("expected.bin")).unwrap());
    expected.extend(b"after\n");
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written.len(), expected.len());
    assert!(
        written == expected,
        "the file differs from what the session wrote"
    );
}

#[test]
fn without_output_limits_the_session_writes_to_leashs_own_files() {
    let sandbox = Sandbox::new();
    let show = "readlink /proc/self/fd/1";
    let direct = sandbox.run(&["--", "sh", "-c", show]);
    assert!(
        std::path::Path::new(direct.stdout.trim_end())
            .extension()
            .is_some_and(|e| e == "out"),
        "{:?}",
        direct.stdout
    );
    let relayed = sandbox.run(&["--output", "1M", "--", "sh", "-c", show]);
    assert!(relayed.stdout.starts_with("pipe:"), "{:?}", relayed.stdout);
}

#[test]
fn leashs_message_starts_on_a_line_of_its_own() {
    let sandbox = Sandbox::new();
    let half = "printf half >&2; sleep 30";
    // Relayed: leash saw the half line pass. Not relayed, but stderr is a file: its last
    // byte tells.
    for (limit, said) in [
        ("--idle", "half\nleash: no output for 1s"),
        ("--wall", "half\nleash: wall time limit 1s reached"),
    ] {
        let run = sandbox.run(&[limit, "1s", "--", "sh", "-c", half]);
        assert!(run.stderr.starts_with(said), "{limit}: {:?}", run.stderr);
    }
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_reader_that_goes_away_ends_the_writer_as_without_leash() {
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let mut child = sandbox
        .leash(&["--output", "1GiB", "--wall", "30s", "--", "yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start leash");
    let mut stdout = child.stdout.take().unwrap();
    let mut some = [0u8; 4096];
    stdout.read_exact(&mut some).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    // `yes` dies of SIGPIPE, as it would writing to the closed pipe itself.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(13),
        "{status:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    sandbox.assert_no_survivors(&[]);
}
