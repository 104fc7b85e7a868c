//! `leashctl kernel` and its launcher, driven by jupyter_client as a frontend drives them
//! (tests/e2e/kernel_client.py, the blocking KernelManager open-interpreter uses): per-cell
//! budgets, limits that stop the kernel, a kernel that cannot start, the frontend's
//! interrupts and restarts, a dying frontend; and the install command's refusals. The
//! interpreter is open-interpreter's virtualenv (ipykernel 6.31, jupyter_client 8.10),
//! installed once for both tiers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common;
use crate::common::{Sandbox, Tracked};
use serde_json::Value;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/kernel_client.py");

fn python() -> PathBuf {
    common::open_interpreter_venv().join("bin/python")
}

/// `leashctl kernel ARGS...` with the sandbox's prefix, inside the outer cap.
fn leashctl(sandbox: &Sandbox, args: &[&str]) -> common::Finished {
    let mut command = sandbox.capped(env!("CARGO_BIN_EXE_leashctl"));
    command.arg("kernel").args(args).env("HOME", sandbox.dir());
    sandbox.start_prepared(command, "").finish()
}

/// Install kernel `name` in the sandbox's prefix with `args` (budgets, then -- and
/// leash's options).
fn install(sandbox: &Sandbox, name: &str, args: &[&str]) {
    install_with(sandbox, &python(), name, args);
}

/// [`install`] for the interpreter `python`.
fn install_with(sandbox: &Sandbox, python: &Path, name: &str, args: &[&str]) {
    let prefix = sandbox.path("prefix");
    let mut all = vec![
        "install",
        "--name",
        name,
        "--prefix",
        prefix.to_str().expect("UTF-8"),
        "--python",
        python.to_str().expect("UTF-8"),
    ];
    all.extend(args);
    let installed = leashctl(sandbox, &all);
    assert_eq!(installed.code(), Some(0), "{}", installed.stderr);
}

/// The frontend, running `cells` in kernel `name` (then shutting it down, or with
/// `--hold` waiting to be killed).
fn frontend(sandbox: &Sandbox, name: &str, cells: &[&str]) -> std::process::Command {
    frontend_with(sandbox, &python(), name, cells)
}

/// [`frontend`] with the interpreter `python`.
fn frontend_with(
    sandbox: &Sandbox,
    python: &Path,
    name: &str,
    cells: &[&str],
) -> std::process::Command {
    let mut command = sandbox.capped(python.to_str().expect("UTF-8"));
    command
        .arg(CLIENT)
        .arg(name)
        .args(cells)
        .env("HOME", sandbox.dir())
        // jupyter_client's connection file goes to TMPDIR: a killed frontend leaves it.
        .env("TMPDIR", sandbox.dir())
        .env("JUPYTER_PATH", sandbox.path("prefix/share/jupyter"));
    command
}

/// What the frontend saw: each cell's reply status, output and error outputs.
struct Chat {
    cells: Vec<Value>,
    shut_down: bool,
    stderr: String,
}

impl Chat {
    fn cell(&self, n: usize) -> &Value {
        self.cells
            .get(n)
            .unwrap_or_else(|| panic!("no cell {n}: {:?}\n{}", self.cells, self.stderr))
    }

    fn errors(&self, n: usize) -> String {
        self.cell(n)["errors"].to_string()
    }

    fn assert_answers(&self, n: usize, stdout: &str) {
        let cell = self.cell(n);
        assert_eq!(cell["status"], "ok", "cell {n}: {cell}\n{}", self.stderr);
        assert_eq!(cell["stdout"], stdout, "cell {n}: {cell}");
    }

    fn assert_failed_with(&self, n: usize, words: &str) {
        let cell = self.cell(n);
        assert_eq!(cell["status"], "error", "cell {n}: {cell}");
        assert!(self.errors(n).contains(words), "cell {n}: {cell}");
    }
}

fn chat(sandbox: &Sandbox, name: &str, cells: &[&str]) -> Chat {
    chat_with(sandbox, &python(), name, cells)
}

/// [`chat`] with the interpreter `python`.
fn chat_with(sandbox: &Sandbox, python: &Path, name: &str, cells: &[&str]) -> Chat {
    let run = sandbox
        .start_prepared(frontend_with(sandbox, python, name, cells), "")
        .finish_within(Duration::from_secs(240));
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    Chat {
        cells: run
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        shut_down: run.stdout.lines().any(|l| l == "shut down"),
        stderr: run.stderr,
    }
}

/// A cell that records the kernel's PID and start time in `file`.
fn note_pid(file: &str) -> String {
    format!(
        "import os\nstart = open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]\n\
         open('{file}', 'w').write(f'{{os.getpid()}} {{start}}')"
    )
}

/// What the test program recorded in the sandbox's `file`.
fn recorded(sandbox: &Sandbox, file: &str) -> Vec<Tracked> {
    Tracked::recorded(&sandbox.path(file))
}

#[test]
fn a_cell_past_its_wall_budget_is_interrupted_and_the_variables_are_kept() {
    let sandbox = Sandbox::new();
    install(
        &sandbox,
        "wall",
        &["--cell-wall", "3s", "--cell-grace", "2s"],
    );
    let started = Instant::now();
    let ignores_interrupts = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n\
                              open('stubborn', 'w').write('')\nwhile True: pass";
    let chat = chat(
        &sandbox,
        "wall",
        &[
            &note_pid("first.pid"),
            "x = 7\nwhile True: pass",
            "print(x * 6)",
            ignores_interrupts,
            "print(6 * 7)",
            "print(x)",
            &note_pid("second.pid"),
        ],
    );
    chat.assert_failed_with(1, "wall-clock budget of 3s (--cell-wall) ran out");
    chat.assert_answers(2, "42\n");
    chat.assert_failed_with(3, "did not stop within 2 s of the interrupt");
    chat.assert_failed_with(3, "variables are gone");
    chat.assert_answers(4, "42\n");
    chat.assert_failed_with(5, "NameError");
    assert!(chat.shut_down, "{}", chat.stderr);
    let spin = chat.cell(1)["seconds"].as_f64().unwrap_or_default();
    assert!(
        (3.0..10.0).contains(&spin),
        "the spinning cell took {spin} s"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    // Both kernels (the first, stopped after the grace; the fresh one, shut down) are gone.
    let (first, second) = (
        recorded(&sandbox, "first.pid"),
        recorded(&sandbox, "second.pid"),
    );
    assert!(!first.is_empty() && !second.is_empty());
    sandbox.assert_no_survivors(&[first, second].concat());
}

#[test]
fn a_memory_bomb_gets_the_limit_as_its_error_and_a_fresh_kernel_answers() {
    let sandbox = Sandbox::new();
    install(&sandbox, "mem", &["--", "--mem", "256MiB"]);
    let chat = chat(
        &sandbox,
        "mem",
        &[
            "x = 1",
            "b = bytearray(1 << 30)",
            "print(6 * 7)",
            "print(x)",
        ],
    );
    chat.assert_failed_with(1, "memory limit 256.0 MiB");
    chat.assert_failed_with(1, "a fresh kernel was started, variables are gone");
    chat.assert_answers(2, "42\n");
    chat.assert_failed_with(3, "NameError");
    assert!(chat.shut_down, "{}", chat.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_cell_past_its_cpu_budget_is_interrupted_with_the_processes_it_started() {
    let sandbox = Sandbox::new();
    install(&sandbox, "cpu", &["--cell-cpu", "2s"]);
    let spinner = "import subprocess\nsubprocess.run(['sh', '-c', \
                   'echo $$ $(cut -d\" \" -f22 /proc/$$/stat) > spinner.pid; while :; do :; done'])";
    let chat = chat(&sandbox, "cpu", &["x = 41", spinner, "print(x + 1)"]);
    chat.assert_failed_with(1, "CPU budget of 2s (--cell-cpu) ran out");
    chat.assert_answers(2, "42\n");
    let spinner = recorded(&sandbox, "spinner.pid");
    assert_eq!(spinner.len(), 1, "the spinner never ran");
    sandbox.assert_no_survivors(&spinner);
}

#[test]
fn a_kernel_that_cannot_start_under_its_limits_says_so_once_and_is_not_restarted() {
    let sandbox = Sandbox::new();
    install(&sandbox, "tiny", &["--", "--mem", "24MiB"]);
    let chat = chat(&sandbox, "tiny", &["print(1)", "print(2)"]);
    chat.assert_failed_with(
        0,
        "the kernel could not start under its limits: memory limit 24.0 MiB",
    );
    chat.assert_failed_with(1, "the kernel could not start under its limits");
    let attempts = chat.stderr.matches("leash: memory limit").count();
    assert_eq!(attempts, 1, "{}", chat.stderr);
    assert!(chat.shut_down, "{}", chat.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn when_the_frontend_is_killed_nothing_is_left_within_a_second() {
    let sandbox = Sandbox::new();
    install(&sandbox, "held", &[]);
    let cell = "import os, subprocess\n\
                p = subprocess.Popen(['setsid', 'sh', '-c', 'while :; do sleep 0.1; done'])\n\
                open('spinner.pid', 'w').write(str(p.pid))\n\
                open('leash.pid', 'w').write(str(os.getppid()))\n\
                open('kernel.pid', 'w').write(str(os.getpid()))";
    let mut command = frontend(&sandbox, "held", &[cell]);
    command.arg("--hold");
    let running = sandbox.start_prepared(command, "");
    let names = ["spinner.pid", "leash.pid", "kernel.pid"].map(String::from);
    let mut tracked = sandbox.wait_for_pids(&names);
    let launcher = common::parent_of(tracked[1].pid).expect("the launcher");
    tracked.push(Tracked::of(launcher).expect("the launcher runs"));
    running.signal(nix::sys::signal::Signal::SIGKILL);
    let killed = Instant::now();
    while tracked.iter().any(Tracked::runs) && killed.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("{:?} after the frontend's SIGKILL", killed.elapsed());
    let left: Vec<_> = tracked.iter().filter(|t| t.runs()).collect();
    assert!(
        left.is_empty(),
        "a second after the frontend's SIGKILL: {left:?}"
    );
    let _ = running.finish();
    // The launcher, orphaned, may linger as a zombie until init reaps it: `runs` above.
    sandbox.assert_no_survivors(&tracked[..3]);
}

#[test]
fn a_launcher_hung_up_on_leaves_no_kernel_directory() {
    // Issue 31, item 16: the launcher left its leash-kernel-* directory after any end
    // but SIGTERM.
    let sandbox = Sandbox::new();
    install(&sandbox, "hup", &[]);
    let cell = "import os, sys\n\
                open('dir.txt', 'w').write(os.path.dirname(sys.argv[sys.argv.index('-f') + 1]))\n\
                open('leash.pid', 'w').write(str(os.getppid()))";
    let mut command = frontend(&sandbox, "hup", &[cell]);
    command.arg("--hold");
    let running = sandbox.start_prepared(command, "");
    let leash = sandbox.wait_for_pids(&["leash.pid".into()]);
    let launcher = common::parent_of(leash[0].pid).expect("the launcher");
    let dir = std::fs::read_to_string(sandbox.path("dir.txt")).expect("the kernel's directory");
    assert!(Path::new(&dir).is_dir(), "{dir}");
    let launcher = Tracked::of(launcher).expect("the launcher runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(launcher.pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .expect("SIGHUP");
    let sent = Instant::now();
    while launcher.runs() && sent.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!launcher.runs(), "the launcher outlived SIGHUP");
    assert!(!Path::new(&dir).exists(), "{dir} was left behind");
    running.signal(nix::sys::signal::Signal::SIGKILL);
    let _ = running.finish();
    sandbox.assert_no_survivors(&leash);
}

#[test]
fn install_refuses_what_it_cannot_honour_with_one_line_each() {
    let sandbox = Sandbox::new();
    let bare = sandbox.path("bare");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .status();
    assert!(made.is_ok_and(|s| s.success()));
    let prefix = sandbox.path("prefix");
    let prefix = prefix.to_str().expect("UTF-8");
    let bare_python = bare.join("bin/python");
    let refusals: [(&[&str], &str); 7] = [
        (
            &["--python", bare_python.to_str().expect("UTF-8")],
            "has no ipykernel",
        ),
        (&["--", "--mem", "12Q"], "--mem"),
        (&["--", "--wall", "10s", "ls"], "no command"),
        (
            &["--", "--idle", "5m"],
            "--idle and --output see no cell's output",
        ),
        (
            &["--", "--report", "r.json"],
            "--report is the launcher's own",
        ),
        (
            &["--name", "python3", "--user"],
            "would replace the python3 kernel",
        ),
        (&["--name", "a b"], "not a kernel name"),
    ];
    let python = python();
    for (args, words) in refusals {
        let mut all = vec!["install"];
        if !args.contains(&"--user") {
            all.extend(["--prefix", prefix]);
        }
        if !args.contains(&"--python") {
            all.extend(["--python", python.to_str().expect("UTF-8")]);
        }
        all.extend(args);
        let refused = leashctl(&sandbox, &all);
        assert_eq!(refused.code(), Some(2), "{args:?}: {}", refused.stderr);
        let lines: Vec<&str> = refused.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert!(lines[0].contains(words), "{args:?}: {}", refused.stderr);
        assert!(lines.len() <= 2, "{args:?}: {}", refused.stderr);
    }
    assert!(!sandbox.path("prefix/share/jupyter/kernels").exists());
}

#[test]
fn the_names_dot_and_dot_dot_are_no_kernels_to_install_or_remove() {
    // `remove .` would delete every kernelspec in the directory, `remove ..` the Jupyter
    // data directory's contents.
    let sandbox = Sandbox::new();
    install(&sandbox, "kept", &[]);
    let foreign = sandbox.path("prefix/share/jupyter/kernels/foreign");
    std::fs::create_dir_all(&foreign).expect("a kernelspec leash did not make");
    std::fs::write(foreign.join("kernel.json"), "{}").expect("its kernel.json");
    let prefix = sandbox.path("prefix");
    let prefix = prefix.to_str().expect("UTF-8");
    let python = python();
    let python = python.to_str().expect("UTF-8");
    for name in [".", "..", "..."] {
        let removed = leashctl(&sandbox, &["remove", name, "--prefix", prefix]);
        let installed = leashctl(
            &sandbox,
            &[
                "install", "--name", name, "--prefix", prefix, "--python", python,
            ],
        );
        for (what, run) in [("remove", removed), ("install", installed)] {
            assert_eq!(run.code(), Some(2), "{what} {name}: {}", run.stderr);
            assert!(
                run.stderr.contains("not a kernel name"),
                "{what} {name}: {}",
                run.stderr
            );
        }
    }
    assert!(
        sandbox
            .path("prefix/share/jupyter/kernels/kept/kernel.json")
            .exists()
    );
    assert!(foreign.join("kernel.json").exists());
}

#[test]
fn a_kernel_is_never_written_through_a_link_nor_where_another_user_can_change_it() {
    // Issue 31, item 4: root's install into a prefix a user could write overwrote any
    // file of root's through a launcher.py link the user planted.
    let sandbox = Sandbox::new();
    let roots = sandbox.path("roots-file");
    std::fs::write(&roots, "root's own\n").expect("root's file");
    install(&sandbox, "linked", &[]);
    let dir = sandbox.path("prefix/share/jupyter/kernels/linked");
    std::fs::remove_file(dir.join("launcher.py")).expect("the launcher");
    std::os::unix::fs::symlink(&roots, dir.join("launcher.py")).expect("a link");
    install(&sandbox, "linked", &["--force"]);
    assert_eq!(std::fs::read_to_string(&roots).unwrap(), "root's own\n");
    let launcher = std::fs::symlink_metadata(dir.join("launcher.py")).expect("launcher");
    assert!(launcher.is_file(), "the link was replaced by the launcher");
    // A prefix another user owns: refused in one line, nothing written.
    let Some(user) = common::test_user() else {
        return;
    };
    let theirs = sandbox.path("theirs");
    std::fs::create_dir(&theirs).expect("their prefix");
    nix::unistd::chown(&theirs, Some(user.uid), Some(user.gid)).expect("chown");
    let python = python();
    let run = leashctl(
        &sandbox,
        &[
            "install",
            "--name",
            "k",
            "--prefix",
            theirs.to_str().unwrap(),
            "--python",
            python.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "leashctl: kernel install: {} may be changed by user {}: a kernel must live \
             where only its user (and root) can change it\n",
            theirs.display(),
            user.uid
        )
    );
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
}

#[test]
fn random_and_unsigned_frames_on_every_port_neither_end_nor_steer_the_kernel() {
    // Issue 31, item 5 and acceptance 3: one frame without the delimiter ended the
    // launcher (and the kernel with its variables); an unsigned interrupt_request
    // interrupted the running cell.
    let sandbox = Sandbox::new();
    install(&sandbox, "noisy", &[]);
    let chat = chat(
        &sandbox,
        "noisy",
        &[
            &note_pid("k1.pid"),
            "#noise 1000\nx = 41\nimport time\ntime.sleep(3)\nx + 1",
            "x",
            &note_pid("k2.pid"),
        ],
    );
    chat.assert_answers(1, "42\n");
    chat.assert_answers(2, "41\n");
    assert!(chat.shut_down, "{}", chat.stderr);
    assert_eq!(
        recorded(&sandbox, "k1.pid"),
        recorded(&sandbox, "k2.pid"),
        "the same kernel answered throughout"
    );
    sandbox.assert_no_survivors(&recorded(&sandbox, "k2.pid"));
}

#[test]
fn install_list_and_remove_leave_nothing_behind() {
    let sandbox = Sandbox::new();
    install(
        &sandbox,
        "mine",
        &["--cell-wall", "10m", "--", "--mem", "4G"],
    );
    let dir = sandbox.path("prefix/share/jupyter/kernels/mine");
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("kernel.json")).expect("kernel.json"),
    )
    .expect("JSON");
    assert_eq!(spec["interrupt_mode"], "message");
    assert_eq!(spec["argv"][0], python().to_str().expect("UTF-8"));
    let prefix = sandbox.path("prefix");
    let prefix = prefix.to_str().expect("UTF-8");
    let again = leashctl(&sandbox, &["install", "--name", "mine", "--prefix", prefix]);
    assert_eq!(again.code(), Some(2), "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let listed = leashctl(&sandbox, &["list", "--prefix", prefix]);
    let row = listed
        .stdout
        .lines()
        .find(|l| l.starts_with("mine "))
        .unwrap_or_default();
    assert!(
        row.contains("10m") && row.contains("--mem 4G"),
        "{}",
        listed.stdout
    );
    assert!(
        row.contains(env!("CARGO_PKG_VERSION")) && !row.contains("stale"),
        "{}",
        listed.stdout
    );
    std::fs::create_dir_all(sandbox.path("prefix/share/jupyter/kernels/other")).expect("dir");
    std::fs::write(
        sandbox.path("prefix/share/jupyter/kernels/other/kernel.json"),
        "{}",
    )
    .expect("spec");
    let foreign = leashctl(&sandbox, &["remove", "other", "--prefix", prefix]);
    assert_eq!(foreign.code(), Some(2), "{}", foreign.stderr);
    assert!(foreign.stderr.contains("not a kernel leashctl installed"));
    let removed = leashctl(&sandbox, &["remove", "mine", "--prefix", prefix]);
    assert_eq!(removed.code(), Some(0), "{}", removed.stderr);
    assert!(!dir.exists());
    let listed = leashctl(&sandbox, &["list", "--prefix", prefix]);
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
}

#[test]
fn a_kernelspec_another_leash_wrote_is_listed_as_stale() {
    let sandbox = Sandbox::new();
    install(&sandbox, "old", &[]);
    install(&sandbox, "edited", &[]);
    let kernels = sandbox.path("prefix/share/jupyter/kernels");
    let spec_file = kernels.join("old/kernel.json");
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(&spec_file).expect("kernel.json"))
            .expect("JSON");
    spec["metadata"]["leash"]["leash_version"] = "0.0.1".into();
    std::fs::write(&spec_file, spec.to_string()).expect("kernel.json written");
    std::fs::write(kernels.join("edited/launcher.py"), "# an older launcher\n").expect("launcher");
    let prefix = sandbox.path("prefix");
    let listed = leashctl(
        &sandbox,
        &["list", "--prefix", prefix.to_str().expect("UTF-8")],
    );
    let row = |name: &str| {
        listed
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row("old").contains("0.0.1 (stale: reinstall)"),
        "{}",
        listed.stdout
    );
    assert!(
        row("edited").contains("(stale launcher: reinstall)"),
        "{}",
        listed.stdout
    );
}

#[test]
fn the_frontends_interrupt_and_restart_reach_the_kernel() {
    let sandbox = Sandbox::new();
    install(&sandbox, "plain", &[]);
    let chat = chat(
        &sandbox,
        "plain",
        &[
            &note_pid("first.pid"),
            "x = 41",
            "#interrupt 1\nimport subprocess\nsubprocess.run(['sleep', '60'])",
            "print(x + 1)",
            "#restart",
            "print('x' in dir())",
            &note_pid("second.pid"),
        ],
    );
    chat.assert_failed_with(2, "KeyboardInterrupt");
    let interrupted = chat.cell(2)["seconds"].as_f64().unwrap_or_default();
    assert!(
        interrupted < 30.0,
        "the interrupted cell took {interrupted} s"
    );
    chat.assert_answers(3, "42\n");
    chat.assert_answers(4, "False\n");
    assert!(chat.shut_down, "{}", chat.stderr);
    let (first, second) = (
        recorded(&sandbox, "first.pid"),
        recorded(&sandbox, "second.pid"),
    );
    assert!(!first.is_empty() && !second.is_empty() && first != second);
    sandbox.assert_no_survivors(&[first, second].concat());
}

#[test]
fn the_readme_line_for_jupyterlab_installs_what_the_readme_says() {
    let sandbox = Sandbox::new();
    let line = common::readme_recipe("**JupyterLab and the notebook:**");
    let leashctl = env!("CARGO_BIN_EXE_leashctl");
    let line = line.replacen("leashctl ", &format!("'{leashctl}' "), 1);
    // The first python3 on PATH is the one with ipykernel, as on a Jupyter machine.
    let bin = python()
        .parent()
        .expect("the virtualenv's bin")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = sandbox.shell(&line);
    command.env("HOME", sandbox.dir()).env("PATH", path);
    command
        .env_remove("JUPYTER_DATA_DIR")
        .env_remove("XDG_DATA_HOME");
    let installed = sandbox.start_prepared(command, "").finish();
    assert_eq!(installed.code(), Some(0), "{}", installed.stderr);
    let spec = sandbox.path(".local/share/jupyter/kernels/leash-python3/kernel.json");
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(spec).expect("kernel.json")).expect("JSON");
    let shown = spec["display_name"].as_str().expect("a display name");
    let readme = include_str!("../../docs/manual.md");
    assert!(readme.contains(&format!("pick \"{shown}\"")), "{shown}");
}

/// A virtualenv of the system's Python with ipykernel (at the versions the
/// open-interpreter tier pins), which an ordinary user can run: open-interpreter's may be
/// made from a Python below root's home. Made once per build directory.
fn python_for_everyone() -> PathBuf {
    let venv = common::installed_once("ipykernel-6.31.0-system-python", |venv| {
        let pins = ["ipykernel", "jupyter_client", "-c", common::PINNED];
        common::make_venv("/usr/bin/python3", venv, &pins);
    });
    venv.join("bin/python")
}

#[test]
fn as_an_ordinary_user_without_a_cgroup_a_memory_bomb_is_contained_and_the_chat_goes_on() {
    let Some(sandbox) = Sandbox::unprivileged() else {
        eprintln!("skipped: tests already run unprivileged, or no ordinary user could be made");
        return;
    };
    let python = python_for_everyone();
    install_with(&sandbox, &python, "mem", &["--", "--mem", "256MiB"]);
    let growing = "a = []\nwhile True: a.append(bytearray(8 << 20))";
    let chat = chat_with(
        &sandbox,
        &python,
        "mem",
        &["x = 6", growing, "print(6 * 7)"],
    );
    // Sampled: leash sees the session pass --mem and stops the kernel, whose launcher
    // tells the cell and starts a fresh one; or, on a loaded machine, the bomb meets the
    // machine's own limits first with a MemoryError in the cell (IPython, short of memory
    // itself, may print the traceback on stderr).
    let cell = chat.cell(1);
    let said = format!("{} {}", cell["errors"], cell["stderr"]);
    assert_eq!(cell["status"], "error", "{cell}");
    assert!(
        said.contains("MemoryError") || said.contains("memory limit 256.0 MiB"),
        "{cell}\n{}",
        chat.stderr
    );
    chat.assert_answers(2, "42\n");
    assert!(chat.shut_down, "{}", chat.stderr);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_launchers_own_unit_tests_pass() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.capped(python().to_str().expect("UTF-8"));
    command
        .args(["-m", "unittest", "-v", "test_launcher"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/launcher"));
    let run = sandbox.start_prepared(command, "").finish();
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    // unittest says how many ran: a file that found none would pass too.
    let ran: usize = run
        .stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .expect("unittest's count");
    assert!(ran >= 9, "{}", run.stderr);
    sandbox.assert_no_survivors(&[]);
}
