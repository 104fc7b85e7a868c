//! Reports, the audit log and metrics (the reports issue): every outcome leaves a record
//! that says what really happened, valid against the documented schema.

use std::time::Duration;

use crate::common;
use crate::common::{Sandbox, Tracked};
use nix::sys::signal::Signal;
use serde_json::Value;

/// The report schema, compiled once.
fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../../docs/report.schema.json");
        let schema: Value = serde_json::from_str(text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("a valid schema")
    })
}

/// Parse a report and check it against the schema.
fn valid(text: &str) -> Value {
    let report: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let errors: Vec<String> = schema()
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?} in {report:#}");
    report
}

/// Run leash with `--report` and return its status and the report.
fn reported(sandbox: &Sandbox, args: &[&str]) -> (common::Finished, Value) {
    let path = sandbox.path("report.json");
    let _ = std::fs::remove_file(&path);
    let mut all = vec!["--report", path.to_str().expect("a UTF-8 temp path")];
    all.extend_from_slice(args);
    let run = sandbox.run(&all);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no report: {}", run.stderr));
    (run, valid(&text))
}

#[test]
fn an_ordinary_exit_is_reported_with_its_status_and_usage() {
    let sandbox = Sandbox::new();
    let (run, report) = reported(&sandbox, &["--name", "ok", "--", "sh", "-c", "exit 0"]);
    assert_eq!(run.code(), Some(0));
    assert_eq!(report["outcome"], "exited");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["name"], "ok");
    assert_eq!(report["command"], serde_json::json!(["sh", "-c", "exit 0"]));
    assert_eq!(report["breach"], Value::Null);
    assert_eq!(report["stopped_processes"], 0);
    // Too short for a sample to see it: what was seen, or null; never a zero.
    for peak in ["peak_tasks", "peak_memory_bytes"] {
        let value = &report["usage"][peak];
        assert!(
            value.is_null() || value.as_u64() > Some(0),
            "{peak}: {value}"
        );
    }
    let (run, report) = reported(&sandbox, &["--", "sh", "-c", "exit 3"]);
    assert_eq!(run.code(), Some(3));
    assert_eq!(report["outcome"], "exited");
    assert_eq!(report["exit_code"], 3);
    assert!(report["wall_seconds"].as_f64().unwrap() < run.elapsed.as_secs_f64() + 0.01);
}

#[test]
fn death_by_the_commands_own_signal_is_reported() {
    let sandbox = Sandbox::new();
    let (run, report) = reported(&sandbox, &["--", "sh", "-c", "kill -USR1 $$"]);
    assert_eq!(run.signal(), Some(Signal::SIGUSR1 as i32));
    assert_eq!(report["outcome"], "signaled");
    assert_eq!(report["signal"], "SIGUSR1");
    assert_eq!(report["exit_code"], Value::Null);
}

#[test]
fn each_limit_is_reported_with_its_value_and_what_was_seen() {
    let sandbox = Sandbox::new();
    let spin = "while :; do :; done";
    let bomb = "x = []\nwhile True: x.append(bytearray(1 << 20))";
    let forks =
        "import os, time\nwhile True:\n    try: os.fork()\n    except OSError: time.sleep(0.01)";
    let cases: [(&[&str], &str, f64); 6] = [
        (&["--wall", "1s", "--", "sh", "-c", "sleep 30"], "wall", 1.0),
        (&["--cpu", "1s", "--", "sh", "-c", spin], "cpu", 1.0),
        (
            &["--mem", "64MiB", "--", "python3", "-c", bomb],
            "mem",
            64.0 * 1024.0 * 1024.0,
        ),
        (
            &["--procs", "16", "--", "python3", "-c", forks],
            "procs",
            16.0,
        ),
        (
            &["--output", "1MiB", "--", "yes"],
            "output",
            1024.0 * 1024.0,
        ),
        (&["--idle", "1s", "--", "sleep", "30"], "idle", 1.0),
    ];
    for (args, limit, value) in cases {
        let (run, report) = reported(&sandbox, args);
        assert_eq!(run.code(), Some(124), "{limit}: {}", run.stderr);
        assert_eq!(report["outcome"], "limit", "{limit}");
        assert_eq!(report["exit_code"], 124);
        let breach = &report["breach"];
        assert_eq!(breach["limit"], limit, "{breach}");
        assert_eq!(breach["value"].as_f64(), Some(value), "{breach}");
        let at = breach["at_seconds"].as_f64().unwrap();
        assert!(
            at > 0.0 && at <= report["wall_seconds"].as_f64().unwrap(),
            "{report:#}"
        );
        let said = run
            .stderr
            .lines()
            .find(|l| l.starts_with("leash: "))
            .unwrap();
        assert!(
            said.contains(breach["message"].as_str().unwrap()),
            "{said} / {breach}"
        );
        if limit == "cpu" {
            // What leash saw, and what the session used in all, both past the limit.
            assert!(breach["observed"].as_f64().unwrap() >= 1.0, "{breach}");
            let usage = &report["usage"];
            let cpu = usage["cpu_user_seconds"].as_f64().unwrap()
                + usage["cpu_system_seconds"].as_f64().unwrap();
            assert!(cpu >= 1.0, "{usage}");
        }
        if limit == "output" {
            assert_eq!(report["usage"]["output_bytes"], 1024 * 1024);
        }
        let row = report["limits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["limit"] == limit)
            .unwrap_or_else(|| panic!("no {limit} in {report:#}"));
        assert_eq!(row["amount"].as_f64(), Some(value));
        assert!(!row["mechanism"].as_str().unwrap().is_empty());
    }
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_signalled_leash_still_writes_its_report() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("report.json");
    let script = "setsid sh -c 'echo $$ > escaped.pid; exec sleep 100' & echo $$ > main.pid; wait";
    let running = sandbox.start(&["--report", path.to_str().unwrap(), "--", "sh", "-c", script]);
    let pids: Vec<Tracked> = sandbox.wait_for_pids(&["main.pid".into(), "escaped.pid".into()]);
    running.signal(Signal::SIGTERM);
    let run = running.finish();
    assert_eq!(run.signal(), Some(Signal::SIGTERM as i32));
    let report = valid(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(report["outcome"], "leash_signaled");
    assert_eq!(report["signal"], "SIGTERM");
    assert!(
        report["stopped_processes"].as_u64().unwrap() >= 2,
        "{report:#}"
    );
    assert_eq!(report["escaped_process_group"], 1, "{report:#}");
    sandbox.assert_no_survivors(&pids);
}

#[test]
fn a_command_that_cannot_be_started_is_reported_as_an_error() {
    let sandbox = Sandbox::new();
    let (run, report) = reported(&sandbox, &["--", "no-such-command-anywhere"]);
    assert_eq!(run.code(), Some(127));
    assert_eq!(report["outcome"], "error");
    assert_eq!(report["exit_code"], 127);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("command not found"),
        "{report:#}"
    );
}

#[test]
fn an_error_report_names_the_kind_of_failure_for_programs() {
    let cases: [(&[&str], &str); 4] = [
        (&["--", "no-such-command-anywhere"], "command.not_found"),
        (&["--wall", "0", "--", "true"], "usage.command_line"),
        (
            &["--procs", "4194305", "--", "true"],
            "usage.procs_above_pid_max",
        ),
        (
            &["--cgroup", "off", "--cpu-rate", "0.5", "--", "true"],
            "cgroup.cpu_rate_without_cgroup",
        ),
    ];
    for (args, kind) in cases {
        let sandbox = Sandbox::new();
        let run = sandbox.run(&[&["--report", "r.json"], args].concat());
        assert_ne!(run.code(), Some(0), "{args:?}");
        let report = valid(&std::fs::read_to_string(sandbox.path("r.json")).expect("a report"));
        assert_eq!(report["outcome"], "error", "{args:?}: {report:#}");
        assert_eq!(report["error_kind"], kind, "{args:?}: {report:#}");
        // The same failure, said to a person: the report's error is stderr's line.
        let said = run.stderr.trim_end().trim_start_matches("leash: ");
        assert_eq!(report["error"], said, "{args:?}");
    }
}

#[test]
fn warnings_come_before_the_stop() {
    let sandbox = Sandbox::new();
    let (run, report) = reported(
        &sandbox,
        &["--warn", "0.5", "--wall", "2s", "--", "sleep", "30"],
    );
    assert_eq!(run.code(), Some(124));
    let warning = &report["warnings"][0];
    assert_eq!(warning["limit"], "wall", "{report:#}");
    let at = warning["at_seconds"].as_f64().unwrap();
    assert!((1.0..2.0).contains(&at), "{warning}");
    assert!(
        run.stderr.starts_with("leash: warning: wall time at "),
        "{}",
        run.stderr
    );
}

#[test]
fn concurrent_sessions_append_whole_lines_to_one_audit_log() {
    let sandbox = Sandbox::new();
    let log = sandbox.path("audit.log");
    std::fs::write(&log, "").unwrap();
    let runs: Vec<_> = (0..16)
        .map(|i| {
            let name = format!("run-{i}");
            sandbox.start(&[
                "--audit-log",
                log.to_str().unwrap(),
                "--name",
                &name,
                "--",
                "sh",
                "-c",
                "exit 0",
            ])
        })
        .collect();
    for run in runs {
        assert_eq!(run.finish().code(), Some(0));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .map(|line| valid(line)["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..16).map(|i| format!("run-{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn metrics_parse_and_counters_add_up() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("leash.prom");
    let metrics = path.to_str().unwrap();
    for args in [
        &["--", "true"][..],
        &["--wall", "0.2", "--", "sleep", "5"][..],
    ] {
        let mut all = vec!["--metrics", metrics, "--name", "ci"];
        all.extend_from_slice(args);
        sandbox.run(&all);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let value = |name: &str, label: (&str, &str)| {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .unwrap_or_else(|| panic!("no {name} {label:?} in {text}"));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        }
    };
    // Whole numbers, compared as the text leash wrote.
    let count = |name: &str, label: (&str, &str)| value(name, label).to_string();
    assert_eq!(count("leash_sessions_total", ("outcome", "exited")), "1");
    assert_eq!(count("leash_sessions_total", ("outcome", "limit")), "1");
    assert_eq!(count("leash_limit_breaches_total", ("limit", "wall")), "1");
    assert_eq!(count("leash_session_exit_code", ("name", "ci")), "124");
    let duration = value("leash_session_duration_seconds", ("name", "ci"));
    assert!((0.2..5.0).contains(&duration), "{duration}");
    assert!(Duration::from_secs_f64(duration) < Duration::from_secs(5));
    // Nothing but the metrics file is left beside it (no lock file, no temporary).
    let mut left: Vec<String> = std::fs::read_dir(sandbox.dir())
        .expect("the sandbox")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains("prom"))
        .collect();
    left.sort();
    assert_eq!(left, ["leash.prom"], "{left:?}");
}

#[test]
fn a_report_path_that_is_not_a_file_is_written_in_place_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let sandbox = Sandbox::new();
    // A device like /dev/null, made in the sandbox (the real one is never touched).
    let device = sandbox.path("null");
    let made = common::make_device(&device, 1, 3);
    if made {
        let run = sandbox.run(&["--report", device.to_str().unwrap(), "--", "true"]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        let kind = std::fs::symlink_metadata(&device).unwrap().file_type();
        assert!(kind.is_char_device(), "the device was replaced: {kind:?}");
    }
    // A FIFO with a reader: the report goes through it.
    let fifo = sandbox.path("fifo");
    common::make_fifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = sandbox.run(&["--report", fifo.to_str().unwrap(), "--", "true"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(valid(&reader.join().unwrap())["outcome"], "exited");
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
}

#[test]
fn a_symlinked_report_replaces_its_target_and_keeps_the_link() {
    let sandbox = Sandbox::new();
    let target = sandbox.path("target.json");
    std::fs::write(&target, "old").unwrap();
    let link = sandbox.path("report.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = sandbox.run(&["--report", link.to_str().unwrap(), "--", "true"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        valid(&std::fs::read_to_string(&target).unwrap())["outcome"],
        "exited"
    );
    // A link to nothing is refused before the start, and said so.
    let dangling = sandbox.path("dangling.json");
    std::os::unix::fs::symlink(sandbox.path("nowhere/at/all"), &dangling).unwrap();
    let run = sandbox.run(&["--report", dangling.to_str().unwrap(), "--", "touch", "ran"]);
    assert_eq!(run.code(), Some(125), "{}", run.stderr);
    assert!(
        run.stderr.contains("a symbolic link to nothing"),
        "{}",
        run.stderr
    );
    assert!(!sandbox.path("nowhere").exists() && !sandbox.path("ran").exists());
}

#[test]
fn no_file_planted_beside_the_report_is_written_through() {
    // Another user plants symlinks at the names leash used to write the report through
    // (FILE.tmp.PID) for the PIDs to come; none of them may be followed.
    let sandbox = Sandbox::new();
    let victim = sandbox.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    let next = std::process::Command::new("true").spawn().unwrap().id();
    for pid in next..next + 400 {
        let planted = sandbox.path(&format!("report.json.tmp.{pid}"));
        std::os::unix::fs::symlink(&victim, planted).unwrap();
    }
    let report = sandbox.path("report.json");
    let run = sandbox.run(&["--report", report.to_str().unwrap(), "--", "true"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(
        valid(&std::fs::read_to_string(&report).unwrap())["outcome"],
        "exited"
    );
    // And no temporary file of leash's is left beside it.
    let left: Vec<String> = std::fs::read_dir(sandbox.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".report.json."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_fifo_or_a_full_device_never_hangs_leash_and_a_lost_record_is_its_failure() {
    // Issue 31, items 10 and 15: a FIFO no process reads hung leash for good (SIGTERM
    // too: leash blocks it), and a record lost to /dev/full left the status 0.
    let sandbox = Sandbox::new();
    let fifo = sandbox.path("fifo");
    common::make_fifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    for flag in ["--report", "--audit-log"] {
        let run = sandbox
            .start(&[flag, fifo, "--", "touch", "ran"])
            .finish_within(Duration::from_secs(20));
        assert_eq!(run.code(), Some(125), "{flag}: {}", run.stderr);
        assert_eq!(
            run.stderr,
            format!("leash: {flag} {fifo}: a FIFO that no process reads\n")
        );
        assert!(
            sandbox.path("ran").exists(),
            "{flag}: the command ran first"
        );
        std::fs::remove_file(sandbox.path("ran")).unwrap();
    }
    // Read back before the start: refused at once, nothing run.
    for (args, said) in [
        (
            &["--metrics", fifo][..],
            format!("leash: --metrics {fifo}: not a regular file\n"),
        ),
        (
            &["--name", "n", "--baseline", fifo],
            format!("leash: --baseline {fifo}: {fifo}: cannot read it: not a regular file\n"),
        ),
    ] {
        let mut args = args.to_vec();
        args.extend(["--", "touch", "ran"]);
        let run = sandbox.start(&args).finish_within(Duration::from_secs(20));
        assert_eq!(run.code(), Some(125), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, said);
        assert!(!sandbox.path("ran").exists(), "{args:?}: the command ran");
    }
    if std::path::Path::new("/dev/full").exists() {
        let run = sandbox.run(&["--report", "/dev/full", "--", "true"]);
        assert_eq!(run.code(), Some(125), "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with("leash: --report /dev/full: No space left on device"),
            "{}",
            run.stderr
        );
    }
}

/// Run `script` with sh in a mount namespace of its own, under the outer cap: its stdout
/// and stderr, or `None` (said) where it exits 77, as it does when it cannot mount.
fn in_a_mount_namespace(sandbox: &Sandbox, script: &str) -> Option<(String, String)> {
    let mut command = sandbox.capped("unshare");
    command.args(["--mount", "sh", "-c", script]);
    let output = command.output().expect("unshare");
    if output.status.code() == Some(77) {
        eprintln!("skipped: no tmpfs of our own here");
        return None;
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Some((text(&output.stdout), text(&output.stderr)))
}

#[test]
fn a_full_disk_leaves_no_half_line_in_the_audit_log() {
    // A small tmpfs of the test's own, in a mount namespace of its own (root only).
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let sandbox = Sandbox::new();
    let disk = sandbox.path("disk");
    std::fs::create_dir(&disk).unwrap();
    let log = disk.join("audit.log");
    let leash = env!("CARGO_BIN_EXE_leash");
    // A first, valid line that leaves 100 bytes of its last page: the next line needs a
    // page the full disk does not have, so only its first 100 bytes could be written.
    let pad = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(4096 - 100 - 11));
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs {disk} || exit 77; \
         printf '%s' '{pad}' > {log}; \
         {leash} --audit-log {log} -- sh -c 'dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null'; \
         echo \"full=$?\"; \
         rm {disk}/filler; \
         {leash} --audit-log {log} -- true; echo \"room=$?\"; \
         cat {log}",
        disk = disk.display(),
        log = log.display(),
    );
    let Some((stdout, stderr)) = in_a_mount_namespace(&sandbox, &script) else {
        return;
    };
    // The disk fills during the session (the check before the start passed): the lost
    // line is said, and leash fails (125) as it could not do what it was asked.
    assert!(
        stdout.contains("full=125\n") && stdout.contains("room=0\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("--audit-log") && stderr.contains("No space left"),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("full=") && !l.starts_with("room="))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for line in &lines {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert_eq!(valid(lines[1])["outcome"], "exited");
}

#[test]
fn a_destination_that_cannot_be_written_is_refused_before_the_start() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("dir")).expect("a directory");
    for (flag, path, why) in [
        ("--report", "dir", "is a directory"),
        ("--report", "no/such/r.json", "no directory no/such"),
        ("--audit-log", "no/such/a.log", "no directory no/such"),
        ("--metrics", "dir", "is a directory"),
    ] {
        let run = sandbox.run(&[flag, path, "--", "touch", "ran"]);
        assert_eq!(run.code(), Some(125), "{flag} {path}: {}", run.stderr);
        assert_eq!(run.stderr, format!("leash: {flag} {path}: {why}\n"));
        assert!(
            !sandbox.path("ran").exists(),
            "{flag} {path}: the command ran"
        );
    }
    // A read-only and a full file system, in a mount namespace of the test's own.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let leash = env!("CARGO_BIN_EXE_leash");
    let script = format!(
        "mkdir ro full && mount -t tmpfs -o ro tmpfs ro && mount -t tmpfs -o size=8k tmpfs full \
         || exit 77; dd if=/dev/zero of=full/filler bs=4k 2>/dev/null; \
         {leash} --report ro/r.json -- touch ran; echo \"ro=$?\"; \
         {leash} --audit-log full/a.log -- touch ran; echo \"full=$?\""
    );
    let Some((stdout, stderr)) = in_a_mount_namespace(&sandbox, &script) else {
        return;
    };
    assert_eq!(stdout, "ro=125\nfull=125\n", "{stderr}");
    assert_eq!(
        stderr,
        "leash: --report ro/r.json: cannot create a file in ro: Read-only file system\n\
         leash: --audit-log full/a.log: no space left on its file system\n"
    );
    assert!(!sandbox.path("ran").exists(), "the command ran");
}

#[test]
fn a_command_line_that_does_not_parse_still_leaves_its_record() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--report", "r.json", "--wall", "0", "--", "true"]);
    assert_eq!(run.code(), Some(125), "{}", run.stderr);
    let report = valid(&std::fs::read_to_string(sandbox.path("r.json")).expect("a report"));
    assert_eq!(report["outcome"], "error", "{report:#}");
    assert_eq!(report["exit_code"], 125, "{report:#}");
    assert_eq!(report["command"], serde_json::json!(["true"]), "{report:#}");
    let error = report["error"].as_str().expect("an error");
    assert!(error.contains("'--wall <DURATION>'"), "{error}");
}

#[test]
fn a_signal_while_waiting_for_a_slot_leaves_a_record_and_kills_leash_with_it() {
    let sandbox = Sandbox::new();
    let runtime = sandbox.dir().to_str().expect("a UTF-8 path");
    let mut holder = sandbox.leash(&["--slots", "test:1", "--", "sleep", "30"]);
    holder.env("XDG_RUNTIME_DIR", runtime);
    let holder = sandbox.start_prepared(holder, "");
    let mut waiter = sandbox.leash(&[
        "--slots", "test:1", "--report", "r.json", "--", "touch", "ran",
    ]);
    waiter.env("XDG_RUNTIME_DIR", runtime);
    // The holder has its slot once its command runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sandbox.survivors().iter().any(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "sleep\n")
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the holder never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let waiter = sandbox.start_prepared(waiter, "");
    std::thread::sleep(std::time::Duration::from_millis(500));
    waiter.signal(nix::sys::signal::Signal::SIGTERM);
    let ended = waiter.finish_within(std::time::Duration::from_secs(10));
    assert_eq!(ended.signal(), Some(libc::SIGTERM), "{}", ended.stderr);
    let report = valid(&std::fs::read_to_string(sandbox.path("r.json")).expect("a report"));
    assert_eq!(report["outcome"], "error", "{report:#}");
    assert_eq!(report["signal"], "SIGTERM", "{report:#}");
    assert!(!sandbox.path("ran").exists(), "the waiting command ran");
    holder.signal(nix::sys::signal::Signal::SIGTERM);
    let _ = holder.finish_within(std::time::Duration::from_secs(10));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn report_dash_goes_to_stdout_after_the_commands_output() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "--report",
        "-",
        "--",
        "sh",
        "-c",
        "echo hello; echo oops >&2",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "oops\n");
    let report = run
        .stdout
        .strip_prefix("hello\n")
        .expect("the command's output first");
    assert_eq!(valid(report)["outcome"], "exited");
}
