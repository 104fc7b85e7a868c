//! `--baseline`: a session of a known name that takes three times its usual memory is
//! warned of before any limit (stderr, report, metrics); a usual one is not; too little
//! history says so; the summary is cached beside the log.

use std::time::Duration;

use crate::common::{Finished, Sandbox};

/// A Python program that holds `mib` MiB resident for `seconds`.
fn holding(mib: &str, seconds: f64) -> String {
    format!(
        "import time; x = bytearray({mib} << 20); x[::4096] = b'x' * len(x[::4096]); \
         time.sleep({seconds})"
    )
}

fn run(sandbox: &Sandbox, args: &[&str]) -> Finished {
    sandbox
        .start_prepared(sandbox.leash(args), "")
        .finish_within(Duration::from_secs(60))
}

#[test]
fn an_unusual_session_is_warned_of_and_a_usual_one_is_not() {
    let sandbox = Sandbox::new();
    // The history: 30 sessions of `job` holding 20-40 MiB.
    let history = format!(
        "i=0; while [ $i -lt 30 ]; do m=$((20 + i % 21)); \
         leash --cgroup off --name job --audit-log log.jsonl -- python3 -c \"{}\" || exit 1; \
         i=$((i + 1)); done",
        holding("$m", 0.3)
    );
    let made = sandbox
        .start_prepared(sandbox.shell(&history), "")
        .finish_within(Duration::from_secs(180));
    assert!(made.status.success(), "{}", made.stderr);
    let compared = |mib: u32, report: &'static str| {
        let program = holding(&mib.to_string(), 0.3);
        run(
            &sandbox,
            &[
                "--cgroup",
                "off",
                "--name",
                "job",
                "--baseline",
                "log.jsonl",
                "--mem",
                "1G",
                "--report",
                report,
                "--metrics",
                "metrics.prom",
                "--",
                "python3",
                "-c",
                &program,
            ],
        )
    };
    let usual = compared(25, "usual.json");
    assert_eq!(usual.code(), Some(0), "{}", usual.stderr);
    assert!(!usual.stderr.contains("usually takes"), "{}", usual.stderr);
    assert_eq!(
        sandbox.json("usual.json")["warnings"],
        serde_json::json!([])
    );
    assert!(
        sandbox.path("log.jsonl.baseline.json").exists(),
        "the summary is cached beside the log"
    );
    // Three times the usual memory: warned of, and not stopped (1 GiB is far off).
    let unusual = compared(90, "unusual.json");
    assert_eq!(unusual.code(), Some(0), "{}", unusual.stderr);
    assert!(
        unusual
            .stderr
            .contains("warning: memory above what this name usually takes")
            && unusual.stderr.contains("30 exited sessions in log.jsonl"),
        "{}",
        unusual.stderr
    );
    let warnings = sandbox.json("unusual.json")["warnings"].clone();
    let warnings = warnings.as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["limit"], "mem");
    assert_eq!(warnings[0]["baseline"], true);
    assert!(warnings[0]["fraction"].as_f64().is_some_and(|f| f > 1.0));
    let metrics = std::fs::read_to_string(sandbox.path("metrics.prom")).expect("metrics");
    assert!(
        metrics.contains("leash_baseline_warnings_total{name=\"job\",limit=\"mem\"} 1"),
        "{metrics}"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn too_little_history_is_said_and_a_baseline_needs_a_name() {
    let sandbox = Sandbox::new();
    let made = sandbox
        .start_prepared(
            sandbox.shell(
                "for i in 1 2 3; do leash --cgroup off --name few --audit-log log.jsonl -- true; done",
            ),
            "",
        )
        .finish_within(Duration::from_secs(60));
    assert!(made.status.success(), "{}", made.stderr);
    for (name, log) in [("few", "log.jsonl"), ("few", "no-such.jsonl")] {
        let run = run(&sandbox, &["--name", name, "--baseline", log, "--", "true"]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "--baseline {log}: fewer than 30 exited sessions of few yet"
            )),
            "{}",
            run.stderr
        );
    }
    let unnamed = run(&sandbox, &["--baseline", "log.jsonl", "--", "touch", "ran"]);
    assert_eq!(unnamed.code(), Some(125), "{}", unnamed.stderr);
    assert!(
        unnamed.stderr.contains("--baseline does nothing"),
        "{}",
        unnamed.stderr
    );
    assert!(!sandbox.path("ran").exists());
}
