//! End to end with a real Gemini CLI (npm `@google/gemini-cli` 0.61.0), wired per command
//! with `leashctl agent install gemini` alone: a scripted model (tests/e2e/gemini_model.py,
//! the Gemini API streamed on loopback) asks for one shell command after another, and the
//! case checks what the model received back. Each case runs with Gemini CLI's per-call tool
//! sandbox off and on (`security.toolSandboxing`: bubblewrap, Debian's, unpacked).
//!
//! The first run installs the pinned package with npm into the build directory (about 10 s
//! here with the registry reachable); later runs reuse it.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::json;

use crate::common::{self, Finished, Sandbox, hostile};

const VERSION: &str = "0.61.0";
const MIB: u64 = 1 << 20;

/// The command after a breach: it runs, and its output reaches the model.
const SECOND: &str = "echo second-command";

/// What Gemini CLI adds to a tool's result once a hook changed its input (leash's does).
const MODIFIED: &str = "[System] Tool input parameters were modified by a hook before execution.";

/// The `gemini` program, installed once per build directory.
fn gemini() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        common::npm_package(
            "@google/gemini-cli",
            VERSION,
            "gemini-cli",
            "the Gemini CLI tier",
        )
        .join("node_modules/.bin/gemini")
    })
}

/// The scripted model asking for `commands`. One case at a time talks to a model: an agent
/// and its hostile command are load enough for a 2-core machine.
struct Model {
    server: Child,
    port: u16,
    _turn: MutexGuard<'static, ()>,
}

impl Model {
    fn start(sandbox: &Sandbox, commands: &serde_json::Value) -> Model {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/gemini_model.py");
        let outputs = sandbox.path("tool-outputs.jsonl");
        let commands = commands.to_string();
        let (server, port) = common::start_model(script, &[commands.as_ref(), outputs.as_os_str()]);
        Model {
            server,
            port,
            _turn: turn,
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Gemini CLI's own tool sandbox off, and on; every case runs under both.
const SANDBOXED: [bool; 2] = [false, true];

/// The user's settings a case starts with: an API key as the way in, no folder-trust
/// prompt, the tool sandbox as `sandboxed` says.
fn settings(sandbox: &Sandbox, sandboxed: bool) {
    let settings = json!({
        "security": {
            "auth": {"selectedType": "gemini-api-key"},
            "folderTrust": {"enabled": false},
            "toolSandboxing": sandboxed,
        }
    });
    std::fs::create_dir_all(sandbox.path(".gemini")).expect(".gemini/");
    std::fs::write(sandbox.path(".gemini/settings.json"), settings.to_string()).expect("settings");
}

/// leashctl, with leash beside it, where Gemini CLI's tool sandbox shows them: it mounts
/// a /tmp of its own, so a build below /tmp (a clean clone's, in CI) is copied out, once
/// per test run, to a directory of its build directory's.
fn leashctl() -> &'static Path {
    static PLACED: OnceLock<PathBuf> = OnceLock::new();
    PLACED.get_or_init(|| {
        let built = Path::new(env!("CARGO_BIN_EXE_leashctl"));
        if !built.starts_with("/tmp") {
            return built.to_path_buf();
        }
        let mut hasher = std::hash::DefaultHasher::new();
        built.hash(&mut hasher);
        let dir = common::outside_tmp().join(format!("bin-{:016x}", hasher.finish()));
        std::fs::create_dir_all(&dir).expect("a directory outside /tmp");
        for (name, from) in [
            ("leash", env!("CARGO_BIN_EXE_leash")),
            ("leashctl", env!("CARGO_BIN_EXE_leashctl")),
        ] {
            let copy = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::copy(from, &copy).expect("a copy");
            std::fs::rename(&copy, dir.join(name)).expect("the copy in place");
        }
        dir.join("leashctl")
    })
}

/// `leashctl agent install gemini -- OPTIONS`, the sandbox as HOME.
fn wire(sandbox: &Sandbox, options: &[&str]) {
    let installed = Command::new(leashctl())
        .args(["agent", "install", "gemini", "--"])
        .args(options)
        .env("HOME", sandbox.dir())
        .env_remove("GEMINI_CLI_HOME")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("leashctl");
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
}

/// `gemini -p` wired with `options`, its tool sandbox as `sandboxed` says, the model asking
/// for `commands`, under the outer cap; what the model received, one output per command.
fn converse(
    sandbox: &Sandbox,
    sandboxed: bool,
    options: &[&str],
    commands: &serde_json::Value,
) -> (Finished, Vec<String>) {
    settings(sandbox, sandboxed);
    wire(sandbox, options);
    run_gemini(sandbox, sandboxed, commands)
}

/// [`converse`] with Gemini CLI as the sandbox's files have it.
fn run_gemini(
    sandbox: &Sandbox,
    sandboxed: bool,
    commands: &serde_json::Value,
) -> (Finished, Vec<String>) {
    let model = Model::start(sandbox, commands);
    let mut gemini = gemini_command(sandbox, sandboxed, model.port);
    // A model named, so that Gemini CLI asks no router model which one to use.
    gemini.args(["-m", "gemini-2.5-flash", "-p", "run it", "--yolo"]);
    let run = sandbox
        .start_prepared(gemini, "")
        .finish_within(Duration::from_secs(180));
    drop(model);
    let outputs = std::fs::read_to_string(sandbox.path("tool-outputs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON string"))
        .collect();
    (run, outputs)
}

/// `gemini` under the outer cap, talking to the model on `port`, its tool sandbox as
/// `sandboxed` says (add its arguments).
fn gemini_command(sandbox: &Sandbox, sandboxed: bool, port: u16) -> Command {
    // Its WebAssembly reserves more addresses than the cap's usual 8 GiB.
    let mut gemini = sandbox.capped_address_space(gemini().to_str().expect("a UTF-8 path"), None);
    gemini
        .env("HOME", sandbox.dir())
        // Its sandbox's files (bwrap arguments, seccomp filter, shell output): gone with
        // the case, not left in /tmp.
        .env("TMPDIR", sandbox.agent_tmp())
        .env_remove("GEMINI_CLI_HOME")
        .env("GEMINI_API_KEY", "scripted")
        .env("GOOGLE_GEMINI_BASE_URL", format!("http://127.0.0.1:{port}"));
    if sandboxed {
        let bwrap = common::bwrap().parent().expect("bwrap's directory");
        let path = std::env::var("PATH").unwrap_or_default();
        gemini.env("PATH", format!("{}:{path}", bwrap.display()));
    }
    gemini
}

/// What the model received for the `n`th command.
fn said(outputs: &[String], n: usize) -> &str {
    outputs.get(n).map_or("", String::as_str)
}

/// A breach case, with the tool sandbox off and on: `command` stopped by a limit (124),
/// leash's `line` in what the model received, a second command after it runs, Gemini CLI
/// exits 0, nothing survives; `check` looks at what the case left.
fn assert_held(options: &[&str], command: &str, line: &str, check: impl Fn(&Sandbox, bool)) {
    for sandboxed in SANDBOXED {
        let sandbox = Sandbox::new();
        let (run, outputs) = converse(&sandbox, sandboxed, options, &json!([command, SECOND]));
        assert_eq!(run.code(), Some(0), "{sandboxed}: {}", run.stderr);
        let first = said(&outputs, 0);
        assert!(
            first.contains(line) && first.contains("Exit Code: 124"),
            "sandboxed {sandboxed}: the model was not told {line:?}: {outputs:?}"
        );
        assert!(
            said(&outputs, 1).contains("Output: second-command\n"),
            "{sandboxed}: {outputs:?}"
        );
        check(&sandbox, sandboxed);
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_harmless_commands_output_reaches_the_model_with_nothing_from_leash() {
    for sandboxed in SANDBOXED {
        let sandbox = Sandbox::new();
        let (run, outputs) = converse(
            &sandbox,
            sandboxed,
            &[],
            &json!(["echo hello-from-the-tool"]),
        );
        assert_eq!(run.code(), Some(0), "{sandboxed}: {}", run.stderr);
        let said = said(&outputs, 0);
        assert!(
            said.contains("Output: hello-from-the-tool\n") && !said.contains("leash"),
            "{sandboxed}: {outputs:?}"
        );
        // Gemini CLI's own line, for any hook that rewrites a tool's input: the proof that
        // the command went through leash's.
        assert!(said.ends_with(MODIFIED), "{sandboxed}: {said}");
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_spinner_left_behind_is_stopped_and_the_model_told() {
    for sandboxed in SANDBOXED {
        let sandbox = Sandbox::new();
        let spinner = hostile::SPINNER_LEFT_BEHIND;
        let (run, outputs) = converse(&sandbox, sandboxed, &[], &json!([spinner, SECOND]));
        assert_eq!(run.code(), Some(0), "{sandboxed}: {}", run.stderr);
        assert!(
            said(&outputs, 0).contains(
                "Output: started\nleash: the command exited; stopped 1 process it left running\n"
            ),
            "{sandboxed}: {outputs:?}"
        );
        assert!(
            said(&outputs, 1).contains("second-command"),
            "{sandboxed}: {outputs:?}"
        );
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_fork_bomb_is_stopped_by_procs() {
    assert_held(
        &["--procs", "128"],
        hostile::FORK_BOMB,
        "leash: process limit 128",
        |sandbox, sandboxed| {
            // Gemini CLI (node) is under the same outer cap.
            if let Some(peak) = sandbox.referee_peak_tasks() {
                assert!(
                    peak <= 128 + 100,
                    "{sandboxed}: the referee saw {peak} tasks"
                );
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
        |sandbox, sandboxed| {
            // Gemini CLI's own memory (node) is under the same outer cap.
            if let Some(peak) = sandbox.referee_peak_memory() {
                assert!(
                    peak <= 512 * MIB * 5 / 4 + 400 * MIB,
                    "{sandboxed}: the referee saw {} MiB",
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
        |sandbox, sandboxed| {
            let written = std::fs::metadata(sandbox.path("fill")).map_or(0, |m| m.len());
            assert!(
                written <= 256 * MIB * 5 / 4,
                "{sandboxed}: wrote {} MiB",
                written / MIB
            );
        },
    );
}

#[test]
fn a_flood_is_stopped_and_the_reason_survives_gemini_clis_cut() {
    // Gemini CLI keeps the first 8,000 and the last 32,000 characters: leash's line is last.
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
fn the_manuals_recipe_wires_gemini_cli_as_written() {
    let sandbox = Sandbox::new();
    settings(&sandbox, false);
    let leashctl = leashctl().display();
    sandbox.stub("leashctl", &format!("exec '{leashctl}' \"$@\""));
    let title = "**Gemini CLI, each shell command a leash session of its own**";
    let mut recipe = sandbox.shell(&common::readme_recipe(title));
    recipe
        .env("HOME", sandbox.dir())
        .env_remove("GEMINI_CLI_HOME")
        .env_remove("XDG_DATA_HOME");
    let installed = sandbox.start_prepared(recipe, "").finish();
    assert_eq!(installed.code(), Some(0), "{}", installed.stderr);
    let (run, outputs) = run_gemini(&sandbox, false, &json!(["echo the-recipe-ran"]));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        said(&outputs, 0).contains("Output: the-recipe-ran\n"),
        "{outputs:?}"
    );
    assert!(said(&outputs, 0).ends_with(MODIFIED), "{outputs:?}");
    let settings =
        std::fs::read_to_string(sandbox.path(".gemini/settings.json")).expect("settings");
    assert!(
        settings.contains("agent hook gemini -- --mem 8G"),
        "{settings}"
    );
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn nothing_survives_a_gemini_cli_killed_with_a_command_in_the_background() {
    // A command the model sent to the background outlives the shell Gemini CLI ran it in;
    // SIGKILLed, Gemini CLI cannot stop it: leash dies with it (--die-with), what the
    // command detached included.
    for sandboxed in SANDBOXED {
        let sandbox = Sandbox::new();
        settings(&sandbox, sandboxed);
        wire(&sandbox, &[]);
        let command = hostile::DETACHED_RUNNER;
        let model = Model::start(
            &sandbox,
            &json!([{"command": command, "is_background": true}]),
        );
        let mut gemini = gemini_command(&sandbox, sandboxed, model.port);
        gemini.args(["-m", "gemini-2.5-flash", "-p", "run it", "--yolo"]);
        let running = sandbox.start_prepared(gemini, "");
        sandbox.wait_for_file("runner.pid");
        let runner = if sandboxed {
            Vec::new()
        } else {
            common::Tracked::recorded(&sandbox.path("runner.pid"))
        };
        sandbox.kill_programs(&["node"]);
        let run = running.finish_within(Duration::from_secs(30));
        assert_eq!(run.signal(), Some(9), "{sandboxed}: {}", run.stderr);
        drop(model);
        sandbox.assert_all_gone_soon(&runner);
    }
}
