//! `--explain` says what would be enforced and how, and runs nothing.

mod common;

use common::Sandbox;

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
    let run = sandbox.run(&args);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let line = |start: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} in {}", run.stdout))
    };
    assert!(line("wall ").contains("10m") && line("wall ").contains("timer"));
    assert!(
        line("mem ").contains("2.0 GiB")
            && line("mem ").contains("PSS")
            && line("mem ").contains("RLIMIT_DATA")
    );
    assert!(line("cpu ").contains("sampling") && line("cpu ").contains("RLIMIT_CPU"));
    assert!(line("procs ").contains("128"));
    assert!(line("disk-write ").contains("1.0 GiB"));
    assert!(
        line("rlimit nofile ").contains("256:256") && line("rlimit nofile ").contains("setrlimit")
    );
    assert!(
        line("rlimit data ").contains("2.1 GiB"),
        "the backstop is shown"
    );
    assert!(line("stop: ").contains("SIGTERM") && line("stop: ").contains("2s"));
    assert!(
        !sandbox.path("started").exists(),
        "--explain ran the command"
    );

    let bad = sandbox.run(&["--explain", "--rlimit", "nofile=99999999999"]);
    assert_eq!(bad.code(), Some(125), "{}", bad.stderr);
}
