//! End to end with a real OpenAI Codex CLI (npm `@openai/codex` 0.169.0, issue 20): a
//! scripted model (tests/e2e/codex_model.py, the Responses API on loopback) asks Codex's
//! shell tool to run the command a case chooses; Codex runs it in a session of its own
//! (setsid), under leash. Codex's own sandbox is off (`-s danger-full-access`).
//!
//! The first run installs the pinned package with npm into the build directory (or
//! /var/tmp when that is below /tmp), about 10 s here with the registry reachable; later
//! runs reuse it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::common;
use crate::common::{Finished, Sandbox};

const VERSION: &str = "0.169.0";
const MIB: u64 = 1 << 20;

/// The `codex` program, installed once per build directory.
pub(crate) fn codex() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        common::npm_package("@openai/codex", VERSION, "codex", "the Codex tier")
            .join("node_modules/.bin/codex")
    })
}

/// The scripted model, whose first turn runs `command` through Codex's shell tool, and
/// the case's CODEX_HOME (removed with it). One case at a time talks to a model: a Codex
/// and its hostile command are load enough for a 2-core machine, and no case's limit
/// should be reached because of another's.
pub(crate) struct Model {
    server: Child,
    pub(crate) home: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Model {
    /// `command`: one command, or a JSON list of calls (tests/e2e/codex_model.py).
    pub(crate) fn start(sandbox: &Sandbox, command: &str) -> Model {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/codex_model.py");
        let outputs = sandbox.path("tool-outputs.jsonl");
        let (server, port) = common::start_model(script, &[command.as_ref(), outputs.as_os_str()]);
        let home = codex_home(sandbox, port);
        Model {
            server,
            home,
            _turn: turn,
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// A CODEX_HOME for a case whose model listens on `port`: outside /tmp, where Codex
/// refuses to make the helper links its shell tool needs (`codex-linux-sandbox`).
fn codex_home(sandbox: &Sandbox, port: u16) -> PathBuf {
    let name = sandbox.dir().file_name().expect("a name").to_owned();
    let home = common::outside_tmp().join("codex-homes").join(name);
    std::fs::create_dir_all(&home).expect("CODEX_HOME");
    let config = format!(
        "model = \"scripted\"\nmodel_provider = \"scripted\"\n\
         [model_providers.scripted]\nname = \"scripted\"\n\
         base_url = \"http://127.0.0.1:{port}/v1\"\nwire_api = \"responses\"\n"
    );
    std::fs::write(home.join("config.toml"), config).expect("Codex's config");
    home
}

/// Codex's own sandbox off, and on (`workspace-write`: its bundled bubblewrap, the working
/// directory writable, the rest read-only); every case runs under both.
pub(crate) const MODES: [&str; 2] = ["danger-full-access", "workspace-write"];

/// `codex exec` in sandbox mode `mode`, told to run it.
pub(crate) fn codex_exec(mode: &str) -> Vec<String> {
    let program = codex().to_str().expect("a UTF-8 path").to_owned();
    [
        &program,
        "exec",
        "--skip-git-repo-check",
        "-s",
        mode,
        "run it",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Start `WRAPPER... codex exec ...` (the wrapper: leash with flags, or GNU timeout) with
/// the scripted model asking for `command`.
fn start(
    sandbox: &Sandbox,
    mode: &str,
    wrapper: Command,
    command: &str,
) -> (common::Running, Model) {
    let model = Model::start(sandbox, command);
    let mut wrapper = wrapper;
    wrapper
        .args(codex_exec(mode))
        .env("CODEX_HOME", &model.home)
        // Codex runs commands in a login shell: with the machine's HOME that reads the
        // user's profile, whose tools (pyenv's rehash lock, for one) a stopped session can
        // leave in a state that hangs every later login shell.
        .env("HOME", sandbox.dir());
    (sandbox.start_prepared(wrapper, ""), model)
}

/// [`start`], to the end.
fn run(sandbox: &Sandbox, mode: &str, wrapper: Command, command: &str) -> Finished {
    let (running, _model) = start(sandbox, mode, wrapper, command);
    running.finish_within(Duration::from_secs(180))
}

/// `leash FLAGS --` as the wrapper.
fn leash(sandbox: &Sandbox, flags: &[&str]) -> Command {
    let mut args = flags.to_vec();
    args.push("--");
    sandbox.leash(&args)
}

#[test]
fn a_harmless_command_answers_and_exits_0() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let flags = ["--wall", "120s", "--report", "report.json"];
        let run = run(
            &sandbox,
            mode,
            leash(&sandbox, &flags),
            "echo hello-from-the-tool",
        );
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        assert!(
            run.stdout.contains("hello-from-the-tool"),
            "{mode}: {}",
            run.stdout
        );
        assert_eq!(sandbox.json("report.json")["outcome"], "exited");
        sandbox.assert_no_survivors(&[]);
    }
}

/// A command that leaves a spinner behind in a session of its own, and returns once the
/// test has seen the spinner (the file `seen`).
const SPINNER: &str = "setsid sh -c 'echo $$ > spinner.pid; while :; do :; done' \
                       > /dev/null 2>&1 < /dev/null & \
                       while [ ! -e seen ]; do sleep 0.05; done; echo started";

/// Start `wrapper` on [`SPINNER`]: the spinner (tracked while it runs, where its PID is
/// leash's to see: not in Codex's sandbox, a PID namespace), and the run.
fn spin(sandbox: &Sandbox, mode: &str, wrapper: Command) -> (Option<common::Tracked>, Finished) {
    let (running, _model) = start(sandbox, mode, wrapper, SPINNER);
    let spinner = if mode == "danger-full-access" {
        Some(sandbox.wait_for_pids(&["spinner.pid".to_string()])[0])
    } else {
        sandbox.wait_for_file("spinner.pid");
        None
    };
    std::fs::write(sandbox.path("seen"), "").expect("the file the command waits for");
    let finished = running.finish_within(Duration::from_secs(180));
    for file in ["spinner.pid", "seen"] {
        std::fs::remove_file(sandbox.path(file)).expect("the case's files");
    }
    (spinner, finished)
}

#[test]
fn a_spinner_left_behind_is_stopped_where_timeout_leaves_it_running() {
    for mode in MODES {
        let sandbox = Sandbox::new();
        let (spinner, run) = spin(&sandbox, mode, leash(&sandbox, &["--wall", "120s"]));
        assert_eq!(run.code(), Some(0), "{mode}: {}", run.stderr);
        assert!(run.stdout.contains("started"), "{mode}: {}", run.stdout);
        // The outer cap's cgroup holds everything, Codex's PID namespace included.
        sandbox.assert_no_survivors(&spinner.into_iter().collect::<Vec<_>>());
    }
    // GNU timeout around the same, Codex's sandbox off (on, its PID namespace ends the
    // spinner with the command): Codex returns, the spinner spins on (the sandbox's
    // clean-up kills it by PID).
    let sandbox = Sandbox::new();
    let mut timeout = sandbox.capped("/usr/bin/timeout");
    timeout.arg("120");
    let (spinner, run) = spin(&sandbox, MODES[0], timeout);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        spinner.is_some_and(|s| s.runs()),
        "GNU timeout stopped the spinner after all"
    );
}

/// Run `command` under leash with `flags` (and a report) in each of `modes`, and check
/// that the limit `limit` stopped it (124) with nothing left; `check` looks at what the
/// case left in the sandbox (its bound).
fn assert_held(
    modes: &[&str],
    flags: &[&str],
    command: &str,
    limit: &str,
    check: impl Fn(&Sandbox, &str),
) {
    for &mode in modes {
        let sandbox = Sandbox::new();
        let mut flags = flags.to_vec();
        flags.extend(["--wall", "120s", "--report", "report.json"]);
        if limit == "wall" {
            flags.truncate(flags.len() - 4);
            flags.extend(["--report", "report.json"]);
        }
        let run = run(&sandbox, mode, leash(&sandbox, &flags), command);
        assert_eq!(run.code(), Some(124), "{mode}: {}", run.stderr);
        let report = sandbox.json("report.json");
        assert_eq!(report["outcome"], "limit", "{mode}: {report:#}");
        assert_eq!(report["breach"]["limit"], limit, "{mode}: {report:#}");
        check(&sandbox, mode);
        sandbox.assert_no_survivors(&[]);
    }
}

#[test]
fn a_fork_bomb_is_held_by_procs() {
    // Codex itself needs about 45 tasks, mostly threads. The bomb's shell waits: returning
    // at once, it let Codex (and the session) end before the bomb reached the limit, and
    // Codex's sandbox (a PID namespace) ends the bomb with the shell.
    assert_held(
        &MODES,
        &["--procs", "200"],
        "b() { b | b & }; b; sleep 60",
        "procs",
        |sandbox, mode| {
            if let Some(peak) = sandbox.referee_peak_tasks() {
                assert!(peak <= 2 * 200, "{mode}: the referee saw {peak} tasks");
            }
        },
    );
}

#[test]
fn a_memory_bomb_is_held_by_mem() {
    let bomb = "python3 -c 'x = []\nwhile True: x.append(bytearray(1 << 20))'";
    assert_held(
        &MODES,
        &["--mem", "512MiB"],
        bomb,
        "mem",
        |sandbox, mode| {
            if let Some(peak) = sandbox.referee_peak_memory() {
                assert!(
                    peak <= 512 * MIB * 5 / 4,
                    "{mode}: the referee saw {} MiB",
                    peak / MIB
                );
            }
        },
    );
}

#[test]
fn a_disk_filler_is_held_by_disk_write() {
    let filler = "dd if=/dev/zero of=fill bs=1M status=none";
    assert_held(
        &MODES,
        &["--disk-write", "256MiB"],
        filler,
        "disk-write",
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
fn a_command_that_runs_on_is_stopped_by_wall() {
    // Codex waits on the command (and would let the model poll it): the wall ends both.
    assert_held(
        &MODES,
        &["--wall", "8s"],
        "exec sleep 300",
        "wall",
        |_, _| {},
    );
}

#[test]
fn the_readme_recipe_runs_as_written() {
    let sandbox = Sandbox::new();
    let model = Model::start(&sandbox, "echo the-recipe-ran");
    let program = codex().to_str().expect("a UTF-8 path");
    sandbox.stub("codex", &format!("exec '{program}' \"$@\""));
    // As a user would run it: in a repository (Codex wants one).
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(sandbox.dir())
        .status();
    assert!(git.is_ok_and(|s| s.success()), "git init");
    let mut recipe = sandbox.shell(&common::readme_recipe("**Codex CLI**"));
    recipe
        .env("CODEX_HOME", &model.home)
        .env("HOME", sandbox.dir())
        .env("OPENAI_API_KEY", "scripted");
    let run = sandbox
        .start_prepared(recipe, "")
        .finish_within(Duration::from_secs(180));
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stderr, run.stdout);
    assert!(run.stdout.contains("the-recipe-ran"), "{}", run.stdout);
    let report = sandbox.json("codex.json");
    assert_eq!(report["outcome"], "exited", "{report:#}");
    sandbox.assert_no_survivors(&[]);
}
