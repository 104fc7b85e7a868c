//! The command's status passes through leash as `timeout` defines it (acceptance 1 of the
//! core issue): exit codes, death by signal, 126, 127, and 125 for bad input.

use std::os::unix::fs::PermissionsExt;

use crate::common::Sandbox;

#[test]
fn exit_code_passes_through() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--", "sh", "-c", "exit 42"]);
    assert_eq!(run.code(), Some(42), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let run = sandbox.run(&["true"]);
    assert_eq!(run.code(), Some(0));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn death_by_signal_is_reraised_without_a_core_dump() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["sh", "-c", "kill -SEGV $$"]);
    assert_eq!(
        run.signal(),
        Some(libc::SIGSEGV),
        "status {:?}, stderr {}",
        run.status,
        run.stderr
    );
    assert!(!std::os::unix::process::ExitStatusExt::core_dumped(
        &run.status
    ));
    let run = sandbox.run(&["sh", "-c", "kill -USR1 $$"]);
    assert_eq!(run.signal(), Some(libc::SIGUSR1));
    // leash itself ignores SIGPIPE (as every Rust program does); it must still die of it.
    let run = sandbox.run(&["sh", "-c", "kill -PIPE $$"]);
    assert_eq!(run.signal(), Some(libc::SIGPIPE));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_fifo_named_as_the_command_or_kept_in_a_private_tmp_hangs_nothing() {
    // Issue 31, item 10: leash read a `#!` line of the command before the start, and
    // opened a path kept in a private /tmp to mount over it; a FIFO in either place (below
    // the kept working directory) hung it for good.
    let sandbox = Sandbox::new();
    crate::common::make_fifo(&sandbox.path("fifo"));
    for isolation in [&["--private-tmp", "10M"][..], &["--read", "/usr"]] {
        let mut args = isolation.to_vec();
        args.extend(["--", "./fifo"]);
        let run = sandbox
            .start(&args)
            .finish_within(std::time::Duration::from_secs(20));
        assert_eq!(run.code(), Some(126), "{isolation:?}: {}", run.stderr);
    }
    // A FIFO given to --write below the kept working directory: kept, not opened.
    let fifo = sandbox.path("fifo");
    let run = sandbox
        .start(&[
            "--private-tmp",
            "10M",
            "--write",
            fifo.to_str().unwrap(),
            "--",
            "test",
            "-p",
            fifo.to_str().unwrap(),
        ])
        .finish_within(std::time::Duration::from_secs(20));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

#[test]
fn a_command_in_a_path_directory_it_may_not_search_is_126_as_execvp_says() {
    // Issue 31, item 16: leash said 127 (not found) where execvp, and so GNU timeout,
    // say 126 (EACCES). Root may search any directory: an ordinary user's test.
    let Some(sandbox) = Sandbox::unprivileged() else {
        return;
    };
    let locked = sandbox.path("locked");
    std::fs::create_dir(&locked).unwrap();
    crate::common::shell_script(&locked.join("hidden-cmd"), "touch ran");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    for line in [
        format!("PATH={}:$PATH exec leash -- hidden-cmd", locked.display()),
        format!("PATH={}:$PATH exec timeout 5 hidden-cmd", locked.display()),
    ] {
        let run = sandbox.run_with_links(&line);
        assert_eq!(run.code(), Some(126), "{line}: {}", run.stderr);
    }
    assert!(!sandbox.path("ran").exists());
}

#[test]
fn missing_command_is_127() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--wall", "5s", "no-such-command-anywhere"]);
    assert_eq!(run.code(), Some(127));
    assert_eq!(
        run.stderr,
        "leash: cannot run 'no-such-command-anywhere': command not found\n"
    );
    let run = sandbox.run(&["./no/such/path"]);
    assert_eq!(run.code(), Some(127));
}

#[test]
fn non_executable_file_is_126() {
    let sandbox = Sandbox::new();
    let script = sandbox.path("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\ntouch ran\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = sandbox.run(&[script.to_str().unwrap()]);
    assert_eq!(run.code(), Some(126));
    assert!(run.stderr.contains("Permission denied"), "{}", run.stderr);
    let run = sandbox.run(&["/"]);
    assert_eq!(
        run.code(),
        Some(126),
        "a directory cannot be executed: {}",
        run.stderr
    );
    assert!(!sandbox.path("ran").exists());
    // A directory found on PATH: execvp's EACCES (126), as env(1) says, not "not found".
    std::fs::create_dir(sandbox.path("dir-on-path")).unwrap();
    let run = sandbox
        .start_prepared(sandbox.shell("PATH=.:$PATH exec leash -- dir-on-path"), "")
        .finish();
    assert_eq!(run.code(), Some(126), "{}", run.stderr);
}

#[test]
fn a_caller_that_ignores_sigchld_still_gets_the_commands_status() {
    // With SIGCHLD ignored the kernel would reap the command unseen and leash would wait
    // for it for ever.
    let sandbox = Sandbox::new();
    let run = sandbox
        .start_prepared(
            sandbox.shell("trap '' CHLD; exec leash --wall 30s -- sh -c 'exit 3'"),
            "",
        )
        .finish_within(std::time::Duration::from_secs(20));
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
}

#[test]
fn signal_zero_sends_nothing_before_the_kill() {
    let sandbox = Sandbox::new();
    // TERM would end sleep at once (143 with -p); 0 leaves it to the KILL after the grace.
    let run = sandbox.run(&[
        "--preserve-status",
        "--wall",
        "0.2s",
        "--signal",
        "0",
        "--kill-after",
        "0.3s",
        "sleep",
        "10",
    ]);
    assert_eq!(run.code(), Some(137), "{:?} {}", run.status, run.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn bad_input_is_one_line_125_and_starts_nothing() {
    let sandbox = Sandbox::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--wal", "5"],
            "unexpected argument '--wal' found (a similar argument exists: '--wall')",
        ),
        (&["--wall", "0"], "'--wall <DURATION>': '0' is zero"),
        (&["--wall", "-3"], "'--wall <DURATION>': '-3' is negative"),
        (&["--wall", "5M"], "'M' would mean months"),
        (&["--wall", "ten"], "'--wall <DURATION>'"),
        (&["--kill-after", "soon"], "'--kill-after <DURATION>'"),
        (&["--signal", "NOPE"], "'--signal <SIG>'"),
        (
            &["--fsize", "100Q"],
            "'--fsize <SIZE>': '100Q' has an unknown size unit",
        ),
        (&["--fsize", "1.5"], "fraction of a byte"),
        (
            &["--nofile", "64:32"],
            "soft limit 64 is above hard limit 32",
        ),
        (&["--rlimit", "nofile"], "'--rlimit <NAME=SOFT[:HARD]>'"),
        (&["--mem", "0"], "'--mem <SIZE>': '0' is zero"),
        (&["--wall", "500000000000y"], "too long"),
        (&["--mem", "2GB5"], "'--mem <SIZE>'"),
        (&["--cpu", "0s"], "'--cpu <DURATION>': '0s' is zero"),
        (&["--procs", "many"], "'--procs <N>'"),
        (
            &["--private-tmp", "18446744073709551615"],
            "more than a tmpfs can be given here",
        ),
        (
            &["--name", "a\u{1b}[2Jb"],
            "'a\\x1b[2Jb' holds a control character",
        ),
        (&["--disk-write", "5Q"], "'--disk-write <SIZE>'"),
        (&["--rlimit", "colour=3"], "'colour' is not a resource"),
        (
            &["--fsize", "1M", "--rlimit", "fsize=2M"],
            "--rlimit fsize: already set by --fsize",
        ),
        (&["--rlimit", "nofile=99999999999"], "--rlimit nofile: "),
    ];
    for (args, expected) in cases {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--", "touch", "started"]);
        let run = sandbox.run(&full);
        assert_eq!(run.code(), Some(125), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("leash: ") && run.stderr.contains(expected),
            "{args:?} said {:?}",
            run.stderr
        );
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "{args:?} said {:?}",
            run.stderr
        );
        assert!(
            !sandbox.path("started").exists(),
            "{args:?} started the command"
        );
    }
    let run = sandbox.run(&["--wall", "5"]);
    assert_eq!(run.code(), Some(125));
    assert_eq!(
        run.stderr,
        "leash: the following required arguments were not provided: <COMMAND>...\n"
    );
}

#[test]
fn help_and_version_work_whatever_the_settings_say() {
    // Issue 31, item 16: an unknown LEASH_ variable made --help and --version fail.
    let sandbox = Sandbox::new();
    for flag in ["--help", "--version"] {
        let mut command = sandbox.leash(&[flag]);
        command.env("LEASH_WAL", "5");
        let run = sandbox.start_prepared(command, "").finish();
        assert_eq!(run.code(), Some(0), "{flag}: {}", run.stderr);
        assert!(run.stdout.contains("leash"), "{flag}: {}", run.stdout);
    }
}

#[test]
fn a_relative_or_missing_runtime_directory_is_not_made() {
    // Issue 31, item 16: leash made XDG_RUNTIME_DIR (relative, or missing) itself.
    let sandbox = Sandbox::new();
    let missing = sandbox.path("no-such-runtime-dir");
    for dir in [
        std::ffi::OsStr::new("relative-runtime-dir"),
        missing.as_os_str(),
    ] {
        let mut command = sandbox.leash(&["--name", "x", "--slots", "k:2", "--", "true"]);
        command.env("XDG_RUNTIME_DIR", dir);
        let run = sandbox.start_prepared(command, "").finish();
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
    }
    assert!(!sandbox.path("relative-runtime-dir").exists());
    assert!(!missing.exists());
}

#[test]
fn help_and_version_exit_zero() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["--help"]);
    assert_eq!(help.code(), Some(0));
    assert!(
        help.stdout.contains("--wall <DURATION>") && help.stdout.contains("Examples:"),
        "{}",
        help.stdout
    );
    let version = sandbox.run(&["--version"]);
    assert_eq!(version.code(), Some(0));
    assert!(
        version
            .stdout
            .starts_with(concat!("leash ", env!("CARGO_PKG_VERSION"))),
        "{}",
        version.stdout
    );
}

#[test]
fn the_stop_signal_may_be_a_real_time_one() {
    // The command says which signal reached it, and ends.
    let sandbox = Sandbox::new();
    let script = "import signal, sys, time\n\
                  def said(got, _):\n\
                  \x20   print('got', got - signal.SIGRTMIN if got >= signal.SIGRTMIN else got, flush=True)\n\
                  \x20   sys.exit(0)\n\
                  for n in (signal.SIGTERM, signal.SIGUSR1, *range(signal.SIGRTMIN, signal.SIGRTMIN + 3)):\n\
                  \x20   signal.signal(n, said)\n\
                  print('ready', flush=True)\n\
                  time.sleep(30)\n";
    for (flag, got) in [
        ("RTMIN+2", "got 2"),
        ("SIGRTMIN", "got 0"),
        ("USR1", "got 10"),
    ] {
        let run = sandbox.run(&[
            "--signal", flag, "--wall", "1s", "--", "python3", "-c", script,
        ]);
        assert_eq!(run.code(), Some(124), "{flag}: {}", run.stderr);
        assert_eq!(
            run.stdout,
            format!("ready\n{got}\n"),
            "{flag}: {}",
            run.stderr
        );
    }
    let rtmin = libc::SIGRTMIN().to_string();
    let run = sandbox.run(&["--signal", &rtmin, "--explain"]);
    assert!(
        run.stdout.contains("stop: SIGRTMIN to every process"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_process_that_dies_of_a_real_time_signal_is_reaped_like_any_other() {
    // Issue 31, item 3: a wait status naming a real-time signal read as "no child left".
    let sandbox = Sandbox::new();
    // An orphan dies of RTMIN; the command goes on and ends as it would have.
    let run = sandbox.run(&[
        "--wall",
        "20s",
        "--",
        "sh",
        "-c",
        "(sh -c 'kill -s RTMIN $$' &); sleep 1; echo survived",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("survived\n", "")
    );
    // The main process dies of RTMIN, leaving a detached child: leash dies of RTMIN at
    // once, and its record says so.
    let run = sandbox.run(&[
        "--wall",
        "20s",
        "--report",
        sandbox.path("report.json").to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "(setsid sleep 30 &); kill -s RTMIN $$",
    ]);
    assert_eq!(run.signal(), Some(libc::SIGRTMIN()), "{}", run.stderr);
    run.assert_faster_than(std::time::Duration::from_secs(10));
    let report = sandbox.json("report.json");
    assert_eq!(report["signal"], "SIGRTMIN", "{report}");
    assert_eq!(report["breach"], serde_json::Value::Null, "{report}");
    // The timeout link stops its command with RTMIN+1: 124, and 128 + N when preserved.
    let rtmin1 = libc::SIGRTMIN() + 1;
    let run = sandbox.run_with_links("timeout -s RTMIN+1 0.2 sleep 10");
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    let run = sandbox.run_with_links("timeout --preserve-status -s RTMIN+1 0.2 sleep 10");
    assert_eq!(run.code(), Some(128 + rtmin1), "{}", run.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_value_that_is_not_text_is_refused_naming_its_flag() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::new();
    let not_utf8 = OsStr::from_bytes(b"\xff");
    for joined in [false, true] {
        let mut command = sandbox.leash(&[]);
        if joined {
            command.arg(OsStr::from_bytes(b"--name=\xff"));
        } else {
            command.arg("--name").arg(not_utf8);
        }
        command.args(["--", "touch", "ran"]);
        let output = command.output().expect("leash");
        assert_eq!(output.status.code(), Some(125));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "leash: --name: the value is not valid UTF-8\n"
        );
        assert!(!sandbox.path("ran").exists());
    }
}

#[test]
fn a_leading_duration_is_the_wall_limit_as_for_timeout() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["1s", "sleep", "30"]);
    assert_eq!(run.code(), Some(124), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "leash: wall time limit 1s reached; stopped 1 process\n"
    );
    let run = sandbox.run(&["5s", "--", "echo", "hi"]);
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (Some(0), "hi\n"),
        "{}",
        run.stderr
    );
    // No command: refused, nothing started.
    let run = sandbox.run(&["10s"]);
    assert_eq!(run.code(), Some(125));
    assert!(
        run.stderr
            .starts_with("leash: 10s: a wall limit and no command"),
        "{}",
        run.stderr
    );
    // After --, or with --wall given, it is the command.
    for args in [&["--", "10s"][..], &["--wall", "5s", "10s"]] {
        let run = sandbox.run(args);
        assert_eq!(run.code(), Some(127), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, "leash: cannot run '10s': command not found\n");
    }
}

#[test]
fn a_working_directory_removed_under_the_caller_does_not_stop_leash() {
    // The directory is read only for a private /tmp; a plain session starts as before.
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("gone")).expect("a directory");
    let run = sandbox
        .start_prepared(
            sandbox.shell("cd gone && rmdir ../gone && leash -- echo started"),
            "",
        )
        .finish();
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "started\n");
}

#[test]
fn a_stdout_that_takes_nothing_is_said_in_one_line_and_fails() {
    // `> /dev/full`: every write fails with ENOSPC. leash and leashctl say so and fail, as
    // GNU's tools do, instead of panicking (101, or 134 in a release build) or exiting 0.
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("audit.log"), "").expect("an empty audit log");
    let bin = |name: &str| {
        std::path::Path::new(env!("CARGO_BIN_EXE_leash"))
            .with_file_name(name)
            .display()
            .to_string()
    };
    let prlimit = sandbox.path("prlimit");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_leash"), &prlimit).expect("the link");
    let prlimit = prlimit.display().to_string();
    let cases: [(&[&str], i32); 12] = [
        (&["leash", "--help"], 125),
        (&["leash", "--version"], 125),
        (&["leash", "--explain", "--", "true"], 125),
        (&["leash", "--print-config", "--", "true"], 125),
        (&["leash", "--generate", "man"], 125),
        (&["leashctl", "--help"], 3),
        (&["leashctl", "list"], 3),
        (&["leashctl", "list", "--json"], 3),
        (&["leashctl", "audit", "audit.log"], 3),
        (&["leashctl", "kernel", "list"], 3),
        (&[&prlimit, "--nofile"], 1),
        (&[&prlimit, "--version"], 1),
    ];
    for (line, expected) in cases {
        let program = if line[0].starts_with('/') {
            line[0].to_string()
        } else {
            bin(line[0])
        };
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let run = std::process::Command::new(program)
            .args(&line[1..])
            .current_dir(sandbox.dir())
            .env("XDG_RUNTIME_DIR", sandbox.dir())
            .stdout(full)
            .output()
            .expect("run it");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(expected), "{line:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{line:?}: {stderr}");
        assert!(
            stderr.ends_with("write error: No space left on device\n"),
            "{line:?}: {stderr}"
        );
    }
}
