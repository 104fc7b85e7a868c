//! `leashctl audit` over an audit log of 1,003 sessions made by running leash (several
//! names, outcomes and sizes, three large ones): the counts and percentiles it prints
//! against the same computed here from the log, its filters, gzip and stdin, and a
//! malformed line skipped with its number; and the anomalies it finds: the large ones.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::Sandbox;
use serde_json::Value;

/// The sessions: 503 of `build` (output of many sizes, three of 20-60 MB), 400 of `test`
/// (exit 0 or 1), 40 of `agent` stopped by --wall and 40 dead of SIGTERM, 20 unnamed.
const SESSIONS: &str = r#"
L="leash --cgroup off --audit-log audit.jsonl"
i=0; while [ $i -lt 500 ]; do
  $L --name build --output 1GiB -- head -c $((i * 37 % 5000)) /dev/zero > /dev/null; i=$((i + 1)); done
i=0; while [ $i -lt 400 ]; do $L --name test -- sh -c "exit $((i % 3 == 0))"; i=$((i + 1)); done
i=0; while [ $i -lt 40 ]; do $L --name agent --wall 0.05s -- sleep 5 2> /dev/null; i=$((i + 1)); done
i=0; while [ $i -lt 40 ]; do $L --name agent -- sh -c 'kill -TERM $$'; i=$((i + 1)); done
i=0; while [ $i -lt 20 ]; do $L -- true; i=$((i + 1)); done
for n in 1 2 3; do $L --name build --output 1GiB -- head -c $((n * 20000000)) /dev/zero > /dev/null; done
wc -l < audit.jsonl
"#;

/// A sandbox holding `audit.jsonl`, the log [`SESSIONS`] makes.
fn with_the_log() -> Sandbox {
    let sandbox = Sandbox::new();
    let made = sandbox
        .start_prepared(sandbox.shell(SESSIONS), "")
        .finish_within(Duration::from_secs(240));
    assert_eq!(made.stdout.trim(), "1003", "{}", made.stderr);
    sandbox
}

/// `leashctl ARGS` with `input` on stdin.
fn leashctl(sandbox: &Sandbox, args: &[&str], input: Option<&std::path::Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leashctl"));
    command.args(args).current_dir(sandbox.dir());
    command.stdin(input.map_or_else(Stdio::null, |path| {
        std::fs::File::open(path).expect("the input").into()
    }));
    command.output().expect("leashctl")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The value of rank ⌈q·n⌉ of `values`, sorted.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn nearest_rank(values: &[f64], q: f64) -> f64 {
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Each figure's values per name (and under "all"), read from the log here.
fn figures_of(log: &str) -> BTreeMap<String, BTreeMap<&'static str, Vec<f64>>> {
    let mut figures: BTreeMap<String, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    for line in log.lines() {
        let record: Value = serde_json::from_str(line).expect("a record");
        let usage = &record["usage"];
        let cpu = match (
            usage["cpu_user_seconds"].as_f64(),
            usage["cpu_system_seconds"].as_f64(),
        ) {
            (None, None) => None,
            (user, system) => Some(user.unwrap_or(0.0) + system.unwrap_or(0.0)),
        };
        let values = [
            ("wall_seconds", record["wall_seconds"].as_f64()),
            ("cpu_seconds", cpu),
            ("peak_memory_bytes", usage["peak_memory_bytes"].as_f64()),
            ("peak_tasks", usage["peak_tasks"].as_f64()),
            ("written_bytes", usage["written_bytes"].as_f64()),
            ("output_bytes", usage["output_bytes"].as_f64()),
        ];
        let name = record["name"].as_str().unwrap_or("(none)").to_string();
        for group in [name, "all".to_string()] {
            let group = figures.entry(group).or_default();
            for (figure, value) in values {
                group.entry(figure).or_default().extend(value);
            }
        }
    }
    figures
}

/// The summary's figures for one group equal those computed from the log.
fn assert_figures(group: &Value, expected: &BTreeMap<&'static str, Vec<f64>>) {
    for (figure, values) in expected {
        let mut values = values.clone();
        values.sort_by(f64::total_cmp);
        let shown = &group["figures"][*figure];
        assert_eq!(
            shown["count"].as_u64(),
            Some(values.len() as u64),
            "{figure}"
        );
        if values.is_empty() {
            continue;
        }
        for (q, key) in [(0.5, "median"), (0.95, "p95"), (0.99, "p99"), (1.0, "max")] {
            assert_eq!(
                shown[key].as_f64(),
                Some(nearest_rank(&values, q)),
                "{} {figure} {key}",
                group["name"]
            );
        }
        assert_eq!(shown["exact"], true);
    }
}

#[test]
fn the_summary_is_what_the_log_says_and_its_filters_choose() {
    let sandbox = with_the_log();
    let log = std::fs::read_to_string(sandbox.path("audit.jsonl")).expect("the log");
    let summary = json_of(&leashctl(
        &sandbox,
        &["audit", "--json", "audit.jsonl"],
        None,
    ));
    let expected = figures_of(&log);
    assert_eq!(summary["all"]["sessions"], 1003);
    assert_figures(&summary["all"], &expected["all"]);
    let names = summary["names"].as_array().expect("names");
    assert_eq!(names.len(), 4, "{names:#?}");
    for group in names {
        let name = group["name"].as_str().unwrap_or("(none)");
        assert_figures(group, &expected[name]);
    }
    let outcomes = |name: &str| {
        names
            .iter()
            .find(|g| g["name"].as_str() == Some(name))
            .map(|g| g["outcomes"].clone())
            .expect(name)
    };
    assert_eq!(outcomes("build"), serde_json::json!({"exited": 503}));
    assert_eq!(outcomes("test"), serde_json::json!({"exited": 400}));
    assert_eq!(
        outcomes("agent"),
        serde_json::json!({"limit wall": 40, "signaled": 40})
    );
    // Filters.
    let count = |args: &[&str]| {
        let mut all = vec!["audit", "--json"];
        all.extend(args);
        all.push("audit.jsonl");
        json_of(&leashctl(&sandbox, &all, None))["all"]["sessions"].clone()
    };
    assert_eq!(count(&["--name", "agent", "--outcome", "limit"]), 40);
    assert_eq!(count(&["--name", "build", "--name", "test"]), 903);
    assert_eq!(count(&["--outcome", "signaled"]), 40);
    assert_eq!(count(&["--since", "1970-01-01"]), 1003);
    assert_eq!(count(&["--since", "2999-01-01T00:00:00Z"]), 0);
    assert_eq!(count(&["--until", "2000-01-01"]), 0);
    assert_eq!(
        count(&["--until", "1h"]),
        0,
        "an hour ago, before the log began"
    );
    // Anomalies: exactly the three planted outputs (the last three lines), nothing of the
    // normal variation (outputs of 0-5,000 bytes, --wall stops, exit statuses).
    let found = json_of(&leashctl(
        &sandbox,
        &["audit", "--anomalies", "--json", "audit.jsonl"],
        None,
    ));
    let flagged: Vec<(u64, String, f64)> = found["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .map(|a| {
            (
                a["line"].as_u64().unwrap_or(0),
                a["figure"].as_str().unwrap_or("").to_string(),
                a["value"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let output = |line, bytes| (line, "output_bytes".to_string(), bytes);
    assert_eq!(
        flagged,
        [output(1001, 20e6), output(1002, 40e6), output(1003, 60e6)],
        "{found:#}"
    );
}

#[test]
fn gzip_stdin_and_malformed_lines() {
    let sandbox = Sandbox::new();
    let made = sandbox
        .start_prepared(
            sandbox.shell(
                "for i in 1 2 3 4 5; do leash --cgroup off --name n --audit-log a.jsonl -- true; done; \
                 gzip -c a.jsonl > a.jsonl.gz; cp a.jsonl broken.jsonl; \
                 printf 'not a record\\n{\"name\": \"n\", \"outcome\": \"exited\"' >> broken.jsonl",
            ),
            "",
        )
        .finish_within(Duration::from_secs(60));
    assert!(made.status.success(), "{}", made.stderr);
    let plain = json_of(&leashctl(&sandbox, &["audit", "--json", "a.jsonl"], None));
    assert_eq!(plain["all"]["sessions"], 5);
    let gzip = leashctl(&sandbox, &["audit", "--json", "a.jsonl.gz"], None);
    assert_eq!(json_of(&gzip), plain);
    let stdin = leashctl(
        &sandbox,
        &["audit", "--json", "-"],
        Some(&sandbox.path("a.jsonl.gz")),
    );
    assert_eq!(json_of(&stdin), plain);
    let broken = leashctl(&sandbox, &["audit", "--json", "broken.jsonl"], None);
    let said = String::from_utf8_lossy(&broken.stderr).into_owned();
    assert!(
        said.contains("broken.jsonl:6: skipped") && said.contains("broken.jsonl:7: skipped"),
        "{said}"
    );
    let broken = json_of(&broken);
    assert_eq!(broken["skipped_lines"], 2);
    assert_eq!(broken["all"], plain["all"]);
    // For a person, not on a terminal: the table without the histogram's blocks.
    let text = leashctl(&sandbox, &["audit", "a.jsonl"], None);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("name n: 5 sessions: 5 exited\n"), "{text}");
    assert!(text.contains("\n  wall "), "{text}");
    assert!(!text.contains('█'), "{text}");
    let twice = leashctl(&sandbox, &["audit", "--anomalies", "-"], None);
    assert_eq!(
        twice.status.code(),
        Some(2),
        "--anomalies cannot read stdin twice"
    );
    let missing = leashctl(&sandbox, &["audit", "no-such.jsonl"], None);
    assert_eq!(missing.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .starts_with("leashctl: no-such.jsonl: cannot read it"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

/// A suggested limit's value in the figure's unit: `"12s"`, `"64MiB"`, `32`.
#[allow(clippy::cast_precision_loss)]
fn limit_value(value: &toml::Value) -> f64 {
    match value {
        toml::Value::Integer(n) => *n as f64,
        toml::Value::String(s) if s.ends_with("MiB") => {
            s.trim_end_matches("MiB").parse::<f64>().expect("MiB") * 1_048_576.0
        }
        toml::Value::String(s) => s.trim_end_matches('s').parse().expect("seconds"),
        other => panic!("not a limit: {other}"),
    }
}

#[test]
fn suggested_limits_let_the_normal_sessions_through_and_stop_the_runaways() {
    let sandbox = with_the_log();
    let suggested = leashctl(&sandbox, &["audit", "--suggest", "audit.jsonl"], None);
    assert!(suggested.status.success(), "{suggested:?}");
    let text = String::from_utf8(suggested.stdout).expect("UTF-8");
    std::fs::write(sandbox.path("suggested.toml"), &text).expect("the config file");
    let config: toml::Table = text.parse().expect("TOML");
    let profiles = config["profile"].as_table().expect("profiles");
    assert!(text.contains("# agent: 0 exited sessions"), "{text}");
    assert!(text.contains("stopped before: 40 by wall"), "{text}");
    // Every exited session of the log but the three planted ones fits its name's limits;
    // the planted ones exceed the output limit.
    let figure_of_key = [
        ("wall", "wall_seconds"),
        ("cpu", "cpu_seconds"),
        ("mem", "peak_memory_bytes"),
        ("procs", "peak_tasks"),
        ("disk-write", "written_bytes"),
        ("output", "output_bytes"),
    ];
    let log = std::fs::read_to_string(sandbox.path("audit.jsonl")).expect("the log");
    for (number, line) in log.lines().enumerate() {
        let record: Value = serde_json::from_str(line).expect("a record");
        let Some(profile) = record["name"].as_str().and_then(|n| profiles.get(n)) else {
            continue;
        };
        if record["outcome"] != "exited" {
            continue;
        }
        let planted = number >= 1000;
        for (key, figure) in figure_of_key {
            let value = if figure == "wall_seconds" {
                record[figure].as_f64()
            } else if figure == "cpu_seconds" {
                let usage = &record["usage"];
                Some(
                    usage["cpu_user_seconds"].as_f64().unwrap_or(0.0)
                        + usage["cpu_system_seconds"].as_f64().unwrap_or(0.0),
                )
            } else {
                record["usage"][figure].as_f64()
            };
            let (Some(value), Some(limit)) = (value, profile.get(key).map(limit_value)) else {
                continue;
            };
            if planted && key == "output" {
                assert!(
                    value > limit,
                    "line {}: {key} {value} passes {limit}",
                    number + 1
                );
            } else {
                assert!(
                    value <= limit,
                    "line {}: {key} {value} over {limit}",
                    number + 1
                );
            }
        }
    }
    // The block is a config file leash takes: a planted-size output is stopped at its
    // limit, a usual one passes.
    let run = |bytes: &str| {
        sandbox
            .start_prepared(
                sandbox.shell(&format!(
                    "leash --config suggested.toml --profile build -- head -c {bytes} /dev/zero > /dev/null"
                )),
                "",
            )
            .finish_within(Duration::from_secs(60))
    };
    let runaway = run("20000000");
    assert_eq!(runaway.code(), Some(124), "{}", runaway.stderr);
    assert!(
        runaway.stderr.contains("output limit"),
        "{}",
        runaway.stderr
    );
    let usual = run("4000");
    assert_eq!(usual.code(), Some(0), "{}", usual.stderr);
    sandbox.assert_no_survivors(&[]);
}

/// A log line of an exited session of `name`, with the fields a summary reads.
fn exited(name: &str, started_at: &str) -> String {
    let line = serde_json::json!({
        "name": name, "started_at": started_at,
        "outcome": "exited", "wall_seconds": 1.0, "breach": null,
        "usage": {"cpu_user_seconds": 0.5, "cpu_system_seconds": 0.1,
                  "peak_memory_bytes": 1_000_000, "peak_tasks": 2,
                  "written_bytes": 0, "output_bytes": null},
    });
    format!("{line}\n")
}

#[test]
fn names_reach_neither_a_terminal_nor_the_suggested_config_as_anything_but_names() {
    // Issue 31, item 12: a name with a newline put a working [profile.evil] into
    // --suggest's config, a DEL made it invalid TOML, an escape sequence reached the
    // terminal of whoever ran audit. Names come from logs anyone may have written.
    let sandbox = Sandbox::new();
    let names = [
        "evil\n[profile.evil]\nwall = \"1s\"\n#",
        "del\u{7f}",
        "esc\u{1b}[2J\u{9b}31m",
        "plain",
    ];
    let mut log = String::new();
    for name in names {
        for n in 0..40 {
            log.push_str(&exited(name, &format!("2026-12-01T00:00:{n:02}Z")));
        }
    }
    std::fs::write(sandbox.path("names.jsonl"), log).expect("the log");
    let suggested = leashctl(&sandbox, &["audit", "--suggest", "names.jsonl"], None);
    assert!(suggested.status.success(), "{suggested:?}");
    let text = String::from_utf8(suggested.stdout).expect("UTF-8");
    let config: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let profiles: Vec<&String> = config["profile"]
        .as_table()
        .expect("profiles")
        .keys()
        .collect();
    let mut expected: Vec<&str> = names.to_vec();
    expected.sort_unstable();
    assert_eq!(profiles, expected, "{text}");
    for args in [
        &["audit", "names.jsonl"][..],
        &["audit", "--anomalies", "names.jsonl"],
    ] {
        let shown = leashctl(&sandbox, args, None);
        assert!(shown.status.success(), "{shown:?}");
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(
            !shown.contains(['\u{1b}', '\u{7f}', '\u{9b}']) && !shown.contains("\n[profile"),
            "{args:?}: {shown}"
        );
    }
}

#[test]
fn an_endless_line_many_names_a_cut_gzip_and_glued_records_are_read_within_bounds() {
    // Issue 31, item 14: a small gzip of one endless line took over 1 GB, 50,000 names
    // took seconds per thousand (a search through the names per line), a truncated gzip
    // gave no summary at all, two records glued on one line counted as sessions.
    let sandbox = Sandbox::new();
    let made = sandbox
        .start_prepared(
            sandbox.shell(
                "head -c 150000000 /dev/zero | tr '\\0' x | gzip -1 -c > endless.gz; \
                 for i in 1 2 3; do leash --cgroup off --name n --audit-log a.jsonl -- true; done; \
                 head -n 1 a.jsonl | tr -d '\\n' > glued.jsonl; head -n 1 a.jsonl >> glued.jsonl; \
                 cat a.jsonl >> glued.jsonl",
            ),
            "",
        )
        .finish_within(Duration::from_secs(120));
    assert!(made.status.success(), "{}", made.stderr);
    // Under leash's own memory limit: a reader that holds the line is stopped at 128 MiB.
    let capped = sandbox.run(&[
        "--mem",
        "128M",
        "--",
        env!("CARGO_BIN_EXE_leashctl"),
        "audit",
        "--json",
        "endless.gz",
    ]);
    assert_eq!(capped.code(), Some(0), "{}", capped.stderr);
    let endless: Value = serde_json::from_str(&capped.stdout).expect("JSON");
    assert_eq!(endless["skipped_lines"], 1, "{endless}");
    assert!(
        capped
            .stderr
            .contains("endless.gz:1: skipped, longer than any record")
    );
    let glued = json_of(&leashctl(
        &sandbox,
        &["audit", "--json", "glued.jsonl"],
        None,
    ));
    assert_eq!(
        (&glued["all"]["sessions"], &glued["skipped_lines"]),
        (&3.into(), &1.into())
    );
    // 50,000 names, a session each; and the same log gzipped and cut in half.
    let log: String = (0..50_000)
        .map(|n| exited(&format!("name-{n}"), "2026-12-01T00:00:00Z"))
        .collect();
    std::fs::write(sandbox.path("names.jsonl"), log).expect("the log");
    let started = std::time::Instant::now();
    let names = leashctl(&sandbox, &["audit", "names.jsonl"], None);
    // A search through the names per line took 45 s in a debug build; this takes 2 (the
    // bound is generous, for a loaded machine).
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let names = String::from_utf8_lossy(&names.stdout);
    assert!(
        names.contains("\nname name-49999: 1 session: 1 exited\n"),
        "{names:.300}"
    );
    let cut = sandbox
        .start_prepared(
            sandbox.shell("gzip -c names.jsonl > full.gz && head -c 60000 full.gz > cut.gz"),
            "",
        )
        .finish();
    assert!(cut.status.success(), "{}", cut.stderr);
    let cut = leashctl(&sandbox, &["audit", "--json", "cut.gz"], None);
    let said = String::from_utf8_lossy(&cut.stderr).into_owned();
    assert!(
        said.starts_with("leashctl: cut.gz: cut short after line "),
        "{said}"
    );
    let sessions = json_of(&cut)["all"]["sessions"].as_u64().expect("sessions");
    assert!((1..50_000).contains(&sessions), "{sessions}");
}
