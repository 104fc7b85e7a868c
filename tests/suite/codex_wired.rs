//! Codex wired per command (npm `@openai/codex` 0.169.0): `leashctl agent install codex`
//! alone, so that each shell command of Codex is a leash session of its own; the scripted
//! model (tests/e2e/codex_model.py) asks for one command after another, and the case
//! checks what the model received back. Each case runs with Codex's sandbox off and on.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::codex::{MODES, Model, codex_exec};
use crate::common::{self, Finished, Sandbox, hostile};

const MIB: u64 = 1 << 20;

/// The command after a breach: it runs, and its output reaches the model.
const SECOND: &str = "echo second-command";

/// `leashctl agent install codex -- OPTIONS` for the Codex whose home is `home`.
fn wire(sandbox: &Sandbox, home: &Path, options: &[&str]) {
    let installed = Command::new(env!("CARGO_BIN_EXE_leashctl"))
        .args(["agent", "install", "codex", "--"])
        .args(options)
        .env("CODEX_HOME", home)
        .env("HOME", sandbox.dir())
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("leashctl");
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
}

/// `codex exec` in sandbox `mode`, wired with `options`, the model making `calls` (a
/// list for tests/e2e/codex_model.py), under the outer cap; what the model received, one
/// output per call.
fn converse(
    sandbox: &Sandbox,
    mode: &str,
    options: &[&str],
    calls: &serde_json::Value,
) -> (Finished, Vec<String>) {
    let model = Model::start(sandbox, &calls.to_string());
    wire(sandbox, &model.home, options);
    run_codex(sandbox, mode, model)
}

/// [`converse`] with Codex as its home (the model's) has it.
fn run_codex(sandbox: &Sandbox, mode: &str, model: Model) -> (Finished, Vec<String>) {
    let exec = codex_exec(mode);
    let mut codex = sandbox.capped(&exec[0]);
    codex
        .args(&exec[1..])
        .env("CODEX_HOME", &model.home)
        // Codex's login shell would read the machine's profile (see the Codex tier).
        .env("HOME", sandbox.dir());
    let run = sandbox
        .start_prepared(codex, "")
        .finish_within(Duration::from_secs(180));
    drop(model);
    let outputs = std::fs::read_to_string(sandbox.path("tool-outputs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON string"))
        .collect();
    (run, outputs)
}

/// What the model received for the `n`th call.
fn said(outputs: &[String], n: usize) -> &str {
    outputs.get(n).map_or("", String::as_str)
}

/// A breach case, in each mode: `command` stopped by a limit (124), leash's `line` in what
/// the model received, a second command after it runs, Codex exits 0, nothing survives;
/// `check` looks at what the case left (the referee's peaks, a file).
fn assert_held(options: &[&str], command: &str, line: &str, check: impl Fn(&Sandbox, &str)) {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let (run, outputs) = converse(&sandbox, mode, options, &json!([command, SECOND]));
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        let first = said(&outputs, 0);
        assert!(
            first.contains("Process exited with code 124") && first.contains(line),
            "{mode}: the model was not told {line:?}: {outputs:?}"
        );
        assert!(
            said(&outputs, 1).ends_with("Output:\nsecond-command\n"),
            "{mode}: {outputs:?}"
        );
        check(&sandbox, mode);
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_harmless_command_reaches_the_model_as_it_printed_it() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let (run, outputs) = converse(&sandbox, mode, &[], &json!(["echo hello-from-the-tool"]));
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        let said = said(&outputs, 0);
        assert!(
            said.contains("Process exited with code 0\n")
                && said.ends_with("Output:\nhello-from-the-tool\n"),
            "{mode}: {outputs:?}"
        );
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_spinner_left_behind_is_stopped_and_the_model_told() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let spinner = hostile::SPINNER_LEFT_BEHIND;
        let (run, outputs) = converse(&sandbox, mode, &[], &json!([spinner, SECOND]));
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        assert!(
            said(&outputs, 0).ends_with(
                "Output:\nstarted\nleash: the command exited; stopped 1 process it left running\n"
            ),
            "{mode}: {outputs:?}"
        );
        assert!(
            said(&outputs, 1).ends_with("second-command\n"),
            "{mode}: {outputs:?}"
        );
        // In Codex's sandbox the PID written is its namespace's: the outer cap's cgroup
        // holds the spinner if it survived.
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_fork_bomb_is_stopped_by_procs() {
    // The shell waits, so that the bomb runs while its command does.
    assert_held(
        &["--procs", "128"],
        hostile::FORK_BOMB,
        "leash: process limit 128",
        |sandbox, mode| {
            // Codex itself is about 45 tasks, under the same outer cap.
            if let Some(peak) = sandbox.referee_peak_tasks() {
                assert!(peak <= 128 + 100, "{mode}: the referee saw {peak} tasks");
            }
        },
    );
}

#[test]
fn a_memory_bomb_is_stopped_by_mem() {
    assert_held(
        &["--mem", "512MiB"],
        hostile::MEMORY_BOMB,
        "leash: memory limit 512.0 MiB",
        |sandbox, mode| {
            // Codex's own memory is under the same outer cap.
            if let Some(peak) = sandbox.referee_peak_memory() {
                assert!(
                    peak <= 512 * MIB * 5 / 4 + 300 * MIB,
                    "{mode}: the referee saw {} MiB",
                    peak / MIB
                );
            }
        },
    );
}

#[test]
fn a_disk_filler_is_stopped_by_disk_write() {
    assert_held(
        &["--disk-write", "256MiB"],
        hostile::DISK_FILLER,
        "leash: disk write limit 256.0 MiB",
        |sandbox, mode| {
            let written = std::fs::metadata(sandbox.path("fill")).map_or(0, |m| m.len());
            assert!(
                written <= 256 * MIB * 5 / 4,
                "{mode}: wrote {} MiB",
                written / MIB
            );
        },
    );
}

#[test]
fn a_flood_is_stopped_and_the_reason_survives_codexs_truncation() {
    assert_held(
        &["--output", "8MiB"],
        "yes",
        "leash: output limit 8.0 MiB",
        |_, _| {},
    );
}

#[test]
fn a_command_past_its_wall_limit_is_stopped() {
    assert_held(
        &["--wall", "3s"],
        "exec sleep 300",
        "leash: wall time limit 3s reached",
        |_, _| {},
    );
}

#[test]
fn a_command_the_model_polls_keeps_its_limits() {
    // Codex returns after half a second and leaves the command running; the model polls
    // it with write_stdin while it allocates.
    let command = "echo polled; sleep 1; \
                   python3 -c 'x = []\nwhile True: x.append(bytearray(1 << 20))'";
    for mode in MODES {
        let sandbox = Sandbox::new();
        let calls = json!([{"cmd": command, "yield_time_ms": 500}, {"poll": 20000}, SECOND]);
        let (run, outputs) = converse(&sandbox, mode, &["--mem", "256MiB"], &calls);
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        assert!(
            said(&outputs, 0).contains("Process running with session ID"),
            "{mode}: {outputs:?}"
        );
        let polled = said(&outputs, 1);
        assert!(
            polled.contains("Process exited with code 124")
                && polled.contains("leash: memory limit 256.0 MiB"),
            "{mode}: {outputs:?}"
        );
        assert!(
            said(&outputs, 2).ends_with("second-command\n"),
            "{mode}: {outputs:?}"
        );
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_command_left_running_ends_with_codex() {
    // The model answers while the command still runs, which left a process of its own in
    // a session of its own (Codex stops the command's group as it ends, not that): Codex
    // ends, and the whole session with it.
    for mode in MODES {
        let sandbox = Sandbox::new();
        let command = hostile::DETACHED_RUNNER;
        let calls = json!([{"cmd": command, "yield_time_ms": 500}]);
        let (run, outputs) = converse(&sandbox, mode, &[], &calls);
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        assert!(
            said(&outputs, 0).contains("Process running with session ID"),
            "{mode}: {outputs:?}"
        );
        let runner = match mode {
            "danger-full-access" => common::Tracked::recorded(&sandbox.path("runner.pid")),
            _ => Vec::new(),
        };
        // Codex signals leash as it ends; leash's stop sequence (TERM, KILL after 2 s)
        // then runs on for a moment.
        sandbox.assert_all_gone_soon(&runner);
    }
}

#[test]
fn the_manuals_recipe_wires_codex_as_written() {
    let sandbox = Sandbox::new();
    let model = Model::start(&sandbox, &json!(["echo the-recipe-ran"]).to_string());
    let leashctl = env!("CARGO_BIN_EXE_leashctl");
    sandbox.stub("leashctl", &format!("exec '{leashctl}' \"$@\""));
    let title = "**Codex CLI, each shell command a leash session of its own**";
    let mut recipe = sandbox.shell(&common::readme_recipe(title));
    recipe
        .env("CODEX_HOME", &model.home)
        .env("HOME", sandbox.dir())
        .env_remove("XDG_DATA_HOME");
    let installed = sandbox.start_prepared(recipe, "").finish();
    assert_eq!(installed.code(), Some(0), "{}", installed.stderr);
    let hooks = std::fs::read_to_string(model.home.join("hooks.json")).expect("hooks.json");
    assert!(hooks.contains("agent hook codex -- --mem 8G"), "{hooks}");
    let (run, outputs) = run_codex(&sandbox, MODES[0], model);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        said(&outputs, 0).ends_with("Output:\nthe-recipe-ran\n"),
        "{outputs:?}"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn nothing_survives_a_codex_killed_mid_command() {
    // SIGKILLed, Codex cannot stop its commands: each leash dies with it (--die-with, the
    // PID of the process that runs its shell), what the command detached included.
    for mode in MODES {
        let sandbox = Sandbox::new();
        let command = hostile::DETACHED_RUNNER;
        let calls = json!([{"cmd": command, "yield_time_ms": 500}, {"poll": 60000}]);
        let model = Model::start(&sandbox, &calls.to_string());
        wire(&sandbox, &model.home, &[]);
        let exec = codex_exec(mode);
        let mut codex = sandbox.capped(&exec[0]);
        codex
            .args(&exec[1..])
            .env("CODEX_HOME", &model.home)
            .env("HOME", sandbox.dir());
        let running = sandbox.start_prepared(codex, "");
        sandbox.wait_for_file("runner.pid");
        let runner = match mode {
            "danger-full-access" => common::Tracked::recorded(&sandbox.path("runner.pid")),
            _ => Vec::new(),
        };
        // npm's codex: a node script that runs Codex's own binary.
        sandbox.kill_programs(&["node", "codex"]);
        let run = running.finish_within(Duration::from_secs(30));
        assert_eq!(run.signal(), Some(9), "{mode}: {}", run.stderr);
        sandbox.assert_all_gone_soon(&runner);
    }
}
