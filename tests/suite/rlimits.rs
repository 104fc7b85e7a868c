//! Every rlimit flag reaches the command, in the units the user meant (acceptance 6 of the
//! core issue), checked in the child's own /proc/self/limits.

use crate::common::Sandbox;

/// The soft and hard values of one row of /proc/PID/limits, e.g. "Max open files".
fn limit_row(limits: &str, row: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|l| l.starts_with(row))
        .unwrap_or_else(|| panic!("no row {row} in {limits}"));
    let mut values = line[row.len()..].split_whitespace();
    let mut next = || values.next().expect("a value").to_string();
    (next(), next())
}

fn limits_under(sandbox: &Sandbox, args: &[&str]) -> String {
    let mut full = args.to_vec();
    full.extend(["--", "cat", "/proc/self/limits"]);
    let run = sandbox.run(&full);
    assert_eq!(run.code(), Some(0), "{args:?}: {}", run.stderr);
    run.stdout
}

#[test]
fn every_rlimit_is_visible_in_the_child() {
    let sandbox = Sandbox::new();
    // (flag value, /proc row, soft, hard). Values stay below this machine's hard limits,
    // which an unprivileged leash may not raise.
    let cases = [
        ("as=1G", "Max address space", "1073741824", "1073741824"),
        ("core=1M:2M", "Max core file size", "1048576", "2097152"),
        ("cpu=1m30s", "Max cpu time", "90", "90"),
        ("data=512M", "Max data size", "536870912", "536870912"),
        ("fsize=100MB", "Max file size", "100000000", "100000000"),
        ("locks=100", "Max file locks", "100", "100"),
        ("memlock=64K", "Max locked memory", "65536", "65536"),
        ("msgqueue=100KiB", "Max msgqueue size", "102400", "102400"),
        ("nice=0", "Max nice priority", "0", "0"),
        ("nofile=64:128", "Max open files", "64", "128"),
        ("nproc=500", "Max processes", "500", "500"),
        ("rss=1G", "Max resident set", "1073741824", "1073741824"),
        ("rtprio=0", "Max realtime priority", "0", "0"),
        ("rttime=1.5s", "Max realtime timeout", "1500000", "1500000"),
        ("sigpending=100", "Max pending signals", "100", "100"),
        ("stack=4M", "Max stack size", "4194304", "4194304"),
    ];
    for (value, row, soft, hard) in cases {
        let limits = limits_under(&sandbox, &["--rlimit", value]);
        assert_eq!(
            limit_row(&limits, row),
            (soft.into(), hard.into()),
            "--rlimit {value}"
        );
    }
}

#[test]
fn named_flags_use_sizes_with_binary_units() {
    let sandbox = Sandbox::new();
    let limits = limits_under(
        &sandbox,
        &[
            "--fsize", "100M", "--stack", "8M", "--nofile", "256", "--core", "0",
        ],
    );
    assert_eq!(
        limit_row(&limits, "Max file size"),
        ("104857600".into(), "104857600".into())
    );
    assert_eq!(
        limit_row(&limits, "Max stack size"),
        ("8388608".into(), "8388608".into())
    );
    assert_eq!(
        limit_row(&limits, "Max open files"),
        ("256".into(), "256".into())
    );
    assert_eq!(
        limit_row(&limits, "Max core file size"),
        ("0".into(), "0".into())
    );
}

#[test]
fn core_dumps_are_off_by_default_and_can_be_allowed() {
    let sandbox = Sandbox::new();
    let limits = limits_under(&sandbox, &[]);
    assert_eq!(
        limit_row(&limits, "Max core file size"),
        ("0".into(), "0".into())
    );
    let limits = limits_under(&sandbox, &["--core", "1M:"]);
    assert_eq!(limit_row(&limits, "Max core file size").0, "1048576");
}

#[test]
fn partial_requests_keep_the_other_limit() {
    let sandbox = Sandbox::new();
    let own = std::fs::read_to_string("/proc/self/limits").unwrap();
    let (_, own_hard) = limit_row(&own, "Max open files");
    let limits = limits_under(&sandbox, &["--nofile", "32:"]);
    assert_eq!(
        limit_row(&limits, "Max open files"),
        ("32".into(), own_hard)
    );
}

#[test]
fn an_fsize_limit_really_stops_a_writer() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "--fsize",
        "1M",
        "--",
        "sh",
        "-c",
        "trap '' XFSZ; head -c 3M /dev/zero > big; echo status $?",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("status ") && run.stdout.trim() != "status 0",
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::metadata(sandbox.path("big")).unwrap().len(),
        1 << 20
    );
}

#[test]
fn a_command_that_dies_for_want_of_stack_is_told_why() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--stack", "1K", "--", "true"]);
    assert_eq!(run.signal(), Some(libc::SIGSEGV), "{:?}", run.status);
    assert_eq!(
        run.stderr,
        "leash: the command died of a fault under a stack limit of 1.0 KiB:1.0 KiB: the limit \
         may be below what it needs\n"
    );
    // Without a stack limit of the user's, a fault is the command's own business.
    let run = sandbox.run(&["--", "sh", "-c", "kill -SEGV $$"]);
    assert_eq!(run.signal(), Some(libc::SIGSEGV));
    assert_eq!(run.stderr, "");
}
