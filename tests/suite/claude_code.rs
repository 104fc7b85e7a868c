//! End to end with a real Claude Code (npm `@anthropic-ai/claude-code` 2.1.332, its native
//! binary): a scripted model (tests/e2e/claude_model.py, the Messages API on loopback)
//! asks for one Bash command after another; Claude Code is wired with `leashctl agent
//! install claude-code` alone, so each command is a leash session of its own. Claude
//! Code's own sandbox is off.
//!
//! The first run installs the pinned package with npm into the build directory (about
//! 10 s here with the registry reachable); later runs reuse it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Finished, Sandbox};

const VERSION: &str = "2.1.332";

/// The `claude` program, installed once per build directory.
fn claude() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        common::npm_package(
            "@anthropic-ai/claude-code",
            VERSION,
            "claude-code",
            "the Claude Code tier",
        )
        .join("node_modules/.bin/claude")
    })
}

/// The scripted model, asking for `commands` one per turn. One case at a time talks to a
/// model: an agent and its hostile command are load enough for a 2-core machine.
struct Model {
    server: Child,
    port: u16,
    _turn: MutexGuard<'static, ()>,
}

impl Model {
    /// A model asking for `commands`: a Bash command each, or a tool input as a JSON
    /// object (`{"command": ..., "run_in_background": true}`).
    fn start(sandbox: &Sandbox, commands: &[&str]) -> Model {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/claude_model.py");
        let inputs: Vec<Value> = commands
            .iter()
            .map(|c| {
                if c.starts_with('{') {
                    serde_json::from_str(c).expect("a tool input")
                } else {
                    Value::from(*c)
                }
            })
            .collect();
        let commands = serde_json::to_string(&inputs).expect("JSON");
        let results = sandbox.path("tool-results.jsonl");
        let (server, port) = common::start_model(script, &[commands.as_ref(), results.as_os_str()]);
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

/// `leashctl agent install claude-code -- OPTIONS` with the sandbox as HOME.
fn wire(sandbox: &Sandbox, options: &[&str]) {
    let installed = Command::new(env!("CARGO_BIN_EXE_leashctl"))
        .args(["agent", "install", "claude-code", "--"])
        .args(options)
        .env("HOME", sandbox.dir())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("leashctl");
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
}

/// Claude Code's own sandbox off, and on (bubblewrap and socat from Debian, unpacked:
/// each command in a PID namespace of its own with an outer /proc, / read-only but for
/// the working directory and its TMPDIR); every case runs under both.
const MODES: [Sandboxed; 2] = [Sandboxed::Off, Sandboxed::On];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sandboxed {
    Off,
    On,
}

/// The settings a case starts with.
fn settings(mode: Sandboxed) -> &'static str {
    match mode {
        Sandboxed::Off => "{}\n",
        Sandboxed::On => "{\"sandbox\": {\"enabled\": true, \"autoAllowBashIfSandboxed\": true}}\n",
    }
}

/// PATH and LD_LIBRARY_PATH with Debian's bubblewrap and socat (socat needs libwrap0).
fn with_sandbox_tools(command: &mut Command) {
    let bwrap = common::bwrap()
        .parent()
        .expect("bwrap's directory")
        .to_owned();
    let socat = common::debian_package("socat").join("usr/bin");
    let libwrap = common::debian_package("libwrap0").join("usr/lib/x86_64-linux-gnu");
    let path = std::env::var("PATH").unwrap_or_default();
    command
        .env(
            "PATH",
            format!("{}:{}:{path}", bwrap.display(), socat.display()),
        )
        .env("LD_LIBRARY_PATH", libwrap);
}

/// Start `claude -p` in the sandbox (its HOME), wired with `options` (none: wired
/// already), Claude Code's own sandbox `mode`, the model asking for `commands`.
fn start_claude(
    sandbox: &Sandbox,
    mode: Sandboxed,
    options: Option<&[&str]>,
    commands: &[&str],
) -> (common::Running, Model) {
    if let Some(options) = options {
        std::fs::create_dir_all(sandbox.path(".claude")).expect(".claude/");
        std::fs::write(sandbox.path(".claude/settings.json"), settings(mode)).expect("settings");
        wire(sandbox, options);
    }
    let model = Model::start(sandbox, commands);
    let mut claude = sandbox.capped(claude().to_str().expect("a UTF-8 path"));
    if mode == Sandboxed::On {
        with_sandbox_tools(&mut claude);
    }
    claude
        .args(["-p", "run it", "--dangerously-skip-permissions"])
        .env("HOME", sandbox.dir())
        // Claude Code keeps its temporary files (claude-UID/) there: gone with the case.
        .env("TMPDIR", sandbox.dir())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env(
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{}", model.port),
        )
        .env("ANTHROPIC_API_KEY", "scripted")
        // Claude Code refuses --dangerously-skip-permissions as root, but in a sandbox.
        .env("IS_SANDBOX", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1");
    (sandbox.start_prepared(claude, ""), model)
}

/// [`start_claude`] to the end; what the model received back, one tool result per
/// command.
fn converse(
    sandbox: &Sandbox,
    mode: Sandboxed,
    options: &[&str],
    commands: &[&str],
) -> (Finished, Vec<Value>) {
    let (running, model) = start_claude(sandbox, mode, Some(options), commands);
    let run = running.finish_within(Duration::from_secs(180));
    drop(model);
    let results: Vec<Value> = std::fs::read_to_string(sandbox.path("tool-results.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    // Where its sandbox cannot start, Claude Code says so once and runs without it.
    let unsandboxed = results.iter().any(|r| {
        r["content"]
            .as_str()
            .is_some_and(|c| c.contains("Sandbox is enabled but"))
    });
    assert!(!unsandboxed, "{mode:?}: {results:?}");
    (run, results)
}

/// What the model received for the `n`th command.
fn said(results: &[Value], n: usize) -> &str {
    results
        .get(n)
        .and_then(|r| r["content"].as_str())
        .unwrap_or("")
}

/// Claude Code (in `mode`) exited 0.
fn exited_0(run: &Finished, mode: Sandboxed) {
    assert_eq!(
        run.code(),
        Some(0),
        "{mode:?}: {}\n{}",
        run.stderr,
        run.stdout
    );
}

/// Once the commands have made `files` (they run on), `meanwhile`, then SIGKILL Claude
/// Code and wait for it.
fn killed_once_running<T>(
    sandbox: &Sandbox,
    running: common::Running,
    files: &[&str],
    meanwhile: impl FnOnce() -> T,
) -> (Finished, T) {
    for file in files {
        sandbox.wait_for_file(file);
    }
    let seen = meanwhile();
    running.signal(nix::sys::signal::Signal::SIGKILL);
    (running.finish_within(Duration::from_secs(30)), seen)
}

/// Everything the model's request after the `n`th command carried: the tool result and
/// what came with it (a hook's context).
fn told(results: &[Value], n: usize) -> String {
    let context = results.get(n).map(|r| r["context"].to_string());
    context.unwrap_or_default()
}

/// A breach case, in each mode: `command` stopped by a limit (leash's `line` naming it
/// reaches the model), a second command after it runs, Claude Code exits 0, nothing
/// survives.
fn assert_stopped(options: &[&str], command: &str, line: &str) {
    assert_held(options, command, line, |_, _| {});
}

/// [`assert_stopped`], and `check` on what the case left (the referee's peaks, a file).
fn assert_held(options: &[&str], command: &str, line: &str, check: impl Fn(&Sandbox, Sandboxed)) {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let (run, results) = converse(&sandbox, mode, options, &[command, "echo second-command"]);
        exited_0(&run, mode);
        let first = said(&results, 0);
        assert!(first.starts_with("Exit code 124"), "{mode:?}: {first}");
        let told = told(&results, 0);
        assert!(
            told.contains(line),
            "{mode:?}: the model was not told {line:?}: {told}"
        );
        assert_eq!(said(&results, 1), "second-command", "{mode:?}: {results:?}");
        check(&sandbox, mode);
        sandbox.assert_no_survivors(&[]);
    }
}

/// What Claude Code itself may use beside a command, in the referee's figures (which
/// count the whole outer cap): its native binary's resident memory peaked at about
/// 300 MiB here, its threads at about 30.
const CLAUDE_CODE_MEMORY: u64 = 512 << 20;
const CLAUDE_CODE_TASKS: u64 = 64;

#[test]
fn a_harmless_commands_output_reaches_the_model_as_it_is() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let command = "printf 'out: %s\\n' \"$HOME\" 'two words'; echo to-stderr >&2; exit 3";
        // The second command shows whether Claude Code's sandbox is on: / is read-only.
        let probe = "touch /leash-probe 2>/dev/null || echo read-only";
        let (run, results) = converse(&sandbox, mode, &[], &[command, probe]);
        exited_0(&run, mode);
        let home = sandbox.dir().display();
        // As Claude Code shows any failed command: its status, then its output, and
        // nothing of leash's.
        assert_eq!(
            said(&results, 0),
            format!("Exit code 3\nout: {home}\nout: two words\nto-stderr"),
            "{mode:?}: {results:?}"
        );
        let sandboxed = said(&results, 1) == "read-only";
        let _ = std::fs::remove_file("/leash-probe");
        assert_eq!(sandboxed, mode == Sandboxed::On, "{mode:?}: {results:?}");
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_memory_bomb_is_stopped_and_the_model_told() {
    let bomb = "python3 -c 'x = []\nwhile True: x.append(bytearray(1 << 20))'";
    let limit: u64 = 512 << 20;
    assert_held(
        &["--mem", "512MiB"],
        bomb,
        "leash: memory limit 512.0 MiB",
        |sandbox, mode| {
            if let Some(peak) = sandbox.referee_peak_memory() {
                let bound = limit * 5 / 4 + CLAUDE_CODE_MEMORY;
                assert!(
                    peak <= bound,
                    "{mode:?}: the referee saw {} MiB",
                    peak >> 20
                );
            }
        },
    );
}

#[test]
fn a_fork_bomb_is_stopped_and_the_model_told() {
    let bomb = "b() { b | b & }; b; sleep 60";
    assert_held(
        &["--procs", "128"],
        bomb,
        "leash: process limit 128",
        |sandbox, mode| {
            // With Claude Code's sandbox on, as root, the session has no pids cgroup (the
            // sandbox's /sys/fs/cgroup is read-only) and RLIMIT_NPROC does not hold root:
            // the fork gate holds the bomb there (before it, sampling let it reach ~400).
            if let Some(peak) = sandbox.referee_peak_tasks() {
                let bound = 128 + 8 + CLAUDE_CODE_TASKS;
                assert!(peak <= bound, "{mode:?}: the referee saw {peak} tasks");
            }
        },
    );
}

#[test]
fn a_disk_filler_is_stopped_and_the_model_told() {
    let filler = "dd if=/dev/zero of=fill bs=1M status=none";
    assert_held(
        &["--disk-write", "256MiB"],
        filler,
        "leash: disk write limit 256.0 MiB",
        |sandbox, mode| {
            let written = std::fs::metadata(sandbox.path("fill")).map_or(0, |m| m.len());
            assert!(
                written <= 320 << 20,
                "{mode:?}: wrote {} MiB",
                written >> 20
            );
        },
    );
}

#[test]
fn a_command_past_its_wall_limit_is_stopped_and_the_model_told() {
    assert_stopped(
        &["--wall", "3s"],
        "tail -f /dev/null",
        "leash: wall time limit 3s reached",
    );
}

#[test]
fn a_flood_is_stopped_and_the_model_told_though_its_output_was_cut() {
    // Claude Code keeps the start of a failed command's output (some 30 KB): leash's line
    // after 64 MiB of `y` would not reach the model, the failure hook's context does.
    assert_stopped(&[], "yes", "leash: output limit 64.0 MiB");
}

#[test]
fn a_spinner_left_behind_is_stopped_with_its_command() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let spinner = "setsid sh -c 'echo $$ $(cut -d\" \" -f22 /proc/$$/stat) > spinner.pid; \
                       while :; do :; done' \
                       > /dev/null 2>&1 < /dev/null & \
                       while [ ! -s spinner.pid ]; do sleep 0.05; done; echo started";
        let (run, results) = converse(&sandbox, mode, &[], &[spinner, "echo second-command"]);
        exited_0(&run, mode);
        // The model learns that the spinner is gone.
        assert_eq!(
            said(&results, 0),
            "started\nleash: the command exited; stopped 1 process it left running",
            "{mode:?}: {results:?}"
        );
        assert_eq!(said(&results, 1), "second-command", "{mode:?}: {results:?}");
        // In Claude Code's sandbox the PID written is its namespace's: the outer cap's
        // cgroup still holds the spinner if it survived.
        let spinner = match mode {
            Sandboxed::Off => common::Tracked::recorded(&sandbox.path("spinner.pid")),
            Sandboxed::On => Vec::new(),
        };
        sandbox.assert_no_survivors(&spinner);
    }
}

#[test]
fn a_command_cannot_stop_claude_code() {
    // Without leash, `kill -STOP $PPID` froze Claude Code itself: here $PPID is leash,
    // which the session may not signal.
    for mode in MODES {
        let sandbox = Sandbox::new();
        let commands = [
            "kill -STOP $PPID; echo after-the-stop",
            "echo second-command",
        ];
        let (run, results) = converse(&sandbox, mode, &[], &commands);
        exited_0(&run, mode);
        assert!(
            said(&results, 0).contains("after-the-stop"),
            "{mode:?}: {results:?}"
        );
        assert_eq!(said(&results, 1), "second-command", "{mode:?}: {results:?}");
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_background_server_a_later_command_cannot_stop_is_named_and_gone_at_the_end() {
    // A server started with run_in_background, then stopped by PID from a later command:
    // each command is a session of its own, whose Landlock scope refuses the signal, so
    // the model is told what to do instead. `claude -p` waits for its background
    // commands (without leash, for ever): the server's wall limit ends it, and Claude
    // Code with it.
    for mode in MODES {
        let sandbox = Sandbox::new();
        let server = r#"{"command": "python3 -m http.server 0 & echo $! > server.pid; wait",
                         "run_in_background": true}"#;
        let stop = "while [ ! -s server.pid ]; do sleep 0.1; done; kill $(cat server.pid)";
        let (run, results) = converse(&sandbox, mode, &["--wall", "10s"], &[server, stop]);
        exited_0(&run, mode);
        assert!(
            said(&results, 0).contains("running in background"),
            "{mode:?}: {results:?}"
        );
        let told = told(&results, 1);
        match mode {
            Sandboxed::Off => {
                assert!(told.contains("Operation not permitted"), "{told}");
                assert!(told.contains("TaskStop tool"), "{told}");
            }
            // In Claude Code's sandbox each command has a PID namespace of its own: the
            // server's PID names nothing there.
            Sandboxed::On => assert!(told.contains("No such process"), "{told}"),
        }
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_background_command_that_never_ends_ends_at_its_wall_limit() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let endless = r#"{"command": "tail -f /dev/null", "run_in_background": true}"#;
        let (run, results) = converse(
            &sandbox,
            mode,
            &["--wall", "5s"],
            &[endless, "echo second-command"],
        );
        exited_0(&run, mode);
        assert_eq!(said(&results, 1), "second-command", "{mode:?}: {results:?}");
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn nothing_survives_a_claude_code_killed_mid_command() {
    // Killed by SIGKILL, Claude Code cannot stop its commands: each leash dies with its
    // parent (--die-with-parent) and stops its session, a background one included.
    for mode in MODES {
        let sandbox = Sandbox::new();
        let endless = r#"{"command": "touch background.started; tail -f /dev/null",
                          "run_in_background": true}"#;
        let waiting = "touch waiting; tail -f /dev/null";
        let (running, _model) = start_claude(&sandbox, mode, Some(&[]), &[endless, waiting]);
        let files = ["background.started", "waiting"];
        let (run, ()) = killed_once_running(&sandbox, running, &files, || ());
        assert_eq!(run.signal(), Some(9), "{mode:?}");
        // Each session's stop sequence: SIGTERM, SIGKILL after the 2 s grace. Claude
        // Code's own network bridges (socat, with its sandbox on) outlive it: not leash's.
        let leashs = || {
            let bridge = |pid: &i32| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.starts_with(b"socat\0UNIX-LISTEN:"))
            };
            let left: Vec<i32> = sandbox
                .survivors()
                .into_iter()
                .filter(|p| !bridge(p))
                .collect();
            left
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !leashs().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(leashs().is_empty(), "{mode:?}: survived: {:?}", leashs());
    }
}

#[test]
fn the_manuals_recipe_wires_claude_code_as_written() {
    let sandbox = Sandbox::new();
    let leashctl = env!("CARGO_BIN_EXE_leashctl");
    sandbox.stub("leashctl", &format!("exec '{leashctl}' \"$@\""));
    let mut recipe = sandbox.shell(&common::readme_recipe("**Claude Code**"));
    recipe
        .env("HOME", sandbox.dir())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("XDG_DATA_HOME");
    let installed = sandbox.start_prepared(recipe, "").finish();
    assert_eq!(installed.code(), Some(0), "{}", installed.stderr);
    let (running, model) = start_claude(&sandbox, Sandboxed::Off, None, &["echo the-recipe-ran"]);
    let run = running.finish_within(Duration::from_secs(180));
    drop(model);
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stderr, run.stdout);
    assert!(run.stdout.contains("the-recipe-ran"), "{}", run.stdout);
    let settings =
        std::fs::read_to_string(sandbox.path(".claude/settings.json")).expect("settings");
    let wired: Value = serde_json::from_str(&settings).expect("JSON");
    let program = wired["env"]["CLAUDE_CODE_SHELL"]
        .as_str()
        .expect("the shell");
    let beside = std::path::Path::new(program).with_file_name("agent-shell.json");
    let text = std::fs::read_to_string(beside).expect("the shell's settings");
    let shell: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        shell["options"],
        serde_json::json!(["--mem", "8G"]),
        "{text}"
    );
}

#[test]
fn a_background_command_gets_a_background_jobs_wall_limit() {
    // The shell sees only the script; the PreToolUse hook marks a run_in_background
    // command, and its session gets two hours where a foreground command gets ten
    // minutes (the agent-command profile).
    let sandbox = Sandbox::new();
    let background = r#"{"command": "touch background.started; tail -f /dev/null",
                          "run_in_background": true}"#;
    let foreground = "touch foreground.started; tail -f /dev/null";
    let (running, _model) = start_claude(
        &sandbox,
        Sandboxed::Off,
        Some(&[]),
        &[background, foreground],
    );
    let files = ["background.started", "foreground.started"];
    let (_, listed) = killed_once_running(&sandbox, running, &files, || {
        Command::new(env!("CARGO_BIN_EXE_leashctl"))
            .args(["list", "--json"])
            .output()
            .expect("leashctl list")
    });
    let sessions: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let wall_of = |marker: &str| {
        sessions
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["command"].to_string().contains(marker))
            .map(|s| s["limits"]["wall_seconds"].clone())
    };
    assert_eq!(
        wall_of("touch background.started"),
        Some(7200.0.into()),
        "{sessions:#}"
    );
    assert_eq!(
        wall_of("touch foreground.started"),
        Some(600.0.into()),
        "{sessions:#}"
    );
}
