//! `--explain` says what would be enforced and how, and runs nothing.

use crate::common;
use crate::common::Sandbox;

/// The line of `--explain`'s output that starts with `start`.
fn row<'a>(explained: &'a str, start: &str) -> &'a str {
    explained
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no {start:?} in {explained}"))
}

#[test]
fn explain_lists_each_limit_with_its_mechanism_and_starts_nothing() {
    let sandbox = Sandbox::new();
    let args = [
        "--explain",
        "--wall",
        "10m",
        "--mem",
        "2GiB",
        "--cpu",
        "5m",
        "--procs",
        "128",
        "--disk-write",
        "1G",
        "--nofile",
        "256",
        "--",
        "touch",
        "started",
    ];
    // Without a cgroup: leash's own sampling (and the fork gate), with rlimit backstops but
    // for memory.
    let run = sandbox.run(&[&["--cgroup=off"], &args[..]].concat());
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let line = |start: &str| row(&run.stdout, start);
    assert!(line("wall ").contains("10m") && line("wall ").contains("timer"));
    assert!(
        line("mem ").contains("2.0 GiB")
            && line("mem ").contains("PSS")
            && line("mem ").contains("faster the closer the limit")
    );
    assert!(line("cpu ").contains("sampling") && line("cpu ").contains("RLIMIT_CPU"));
    assert!(line("procs ").contains("128") && line("procs ").contains("fork gate"));
    assert!(line("disk-write ").contains("1.0 GiB"));
    assert!(
        line("rlimit nofile ").contains("256:256") && line("rlimit nofile ").contains("setrlimit")
    );
    // RLIMIT_DATA refused reservations a program never touches: no backstop for memory.
    assert!(!run.stdout.contains("rlimit data"), "{}", run.stdout);
    assert!(line("stop: ").contains("SIGTERM") && line("stop: ").contains("2s"));
    assert!(
        !sandbox.path("started").exists(),
        "--explain ran the command"
    );

    let tmpfs = line("mem ");
    assert!(
        tmpfs.contains("tmpfs files (/dev/shm) not counted"),
        "{tmpfs}"
    );
    assert!(line("session ").contains("no cgroup"));

    let bad = sandbox.run(&["--explain", "--rlimit", "nofile=99999999999"]);
    assert_eq!(bad.code(), Some(125), "{}", bad.stderr);
}

#[test]
fn explain_names_the_cgroup_files_that_enforce_each_limit() {
    if !common::mechanisms().contains(&common::Mechanism::Cgroup) {
        eprintln!("skipped: no writable cgroup here");
        return;
    }
    let sandbox = Sandbox::new();
    let args = ["--explain", "--mem", "256M", "--procs", "64", "--cpu", "5s"];
    let run = sandbox.run(&args);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let line = |start: &str| row(&run.stdout, start);
    assert!(line("session ").contains("cgroup"), "{}", run.stdout);
    assert!(line("mem ").contains("memory.max") || line("mem ").contains("memory.limit_in_bytes"));
    assert!(line("mem ").contains("counts tmpfs"));
    assert!(line("procs ").contains("pids.max"));
    assert!(line("cpu ").contains("cpu.stat") || line("cpu ").contains("cpuacct.usage"));
    // The kernel holds memory and processes: no per-process backstops for them.
    assert!(!run.stdout.contains("rlimit data"), "{}", run.stdout);
    assert!(!run.stdout.contains("rlimit nproc"), "{}", run.stdout);
}

#[test]
fn without_a_writable_cgroup_auto_falls_back_and_require_refuses() {
    let Some(sandbox) = Sandbox::unprivileged() else {
        eprintln!("skipped: tests already run unprivileged, or no ordinary user could be made");
        return;
    };
    let explained = sandbox.run(&["--explain", "--mem", "256M", "--procs", "64"]);
    assert_eq!(explained.code(), Some(0), "{}", explained.stderr);
    assert!(
        explained.stdout.contains("no cgroup"),
        "{}",
        explained.stdout
    );
    assert!(
        explained.stdout.contains("sampling"),
        "{}",
        explained.stdout
    );

    let required = sandbox.run(&["--cgroup", "require", "--mem", "256M", "--", "touch", "ran"]);
    assert_eq!(required.code(), Some(125), "{}", required.stderr);
    assert_eq!(required.stderr.lines().count(), 1, "{}", required.stderr);
    assert!(
        required
            .stderr
            .starts_with("leash: --cgroup require: cannot have"),
        "{}",
        required.stderr
    );
    assert!(!sandbox.path("ran").exists(), "the command ran");

    let rate = sandbox.run(&["--cpu-rate", "0.5", "--", "touch", "ran"]);
    assert_eq!(rate.code(), Some(125), "{}", rate.stderr);
    assert!(rate.stderr.contains("--cpu-rate"), "{}", rate.stderr);
}

#[test]
fn nested_under_an_outer_leashs_write_rules_explain_says_what_the_session_gets() {
    // Landlock keeps the inner leash from making a cgroup, which access(2) does not see:
    // --explain must name the mechanism the session then really has.
    let sandbox = Sandbox::new();
    let leash = env!("CARGO_BIN_EXE_leash");
    let outer = ["--write", ".", "--", leash];
    let explain = [&outer[..], &["--explain", "--mem", "256MiB"]].concat();
    let explained = sandbox.run(&explain);
    assert_eq!(explained.code(), Some(0), "{}", explained.stderr);
    let run = [
        &outer[..],
        &["--mem", "256MiB", "--report", "inner.json", "--", "true"],
    ]
    .concat();
    let ran = sandbox.run(&run);
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
    let report = sandbox.json("inner.json");
    let limits = report["limits"].as_array().expect("limits");
    let mem = limits
        .iter()
        .find(|l| l["limit"] == "mem")
        .expect("a mem limit");
    let mechanism = mem["mechanism"].as_str().expect("a mechanism");
    let said = row(&explained.stdout, "mem ");
    assert!(
        said.ends_with(mechanism),
        "--explain: {said}\nthe session: {mechanism}"
    );
}
