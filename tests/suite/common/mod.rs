//! Test harness: run the real leash binary inside an outer cap, find every process a test
//! started, and clean them up by PID.
//!
//! The outer cap holds even if leash is broken: a pids and a memory cgroup made by the test
//! where the machine lets it (cgroup v1 or v2, below the cgroup the test runs in), else tight
//! rlimits. Every process started through the sandbox carries a unique marker in its
//! environment, so survivors are found by marker and by PID, never by name.

pub(crate) mod hostile;
mod watchdog;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The environment variable that marks every process a test started.
pub(crate) const MARKER_VAR: &str = "TEST_SESSION_MARKER";

/// Processes the outer cap allows at once, and memory: enough for every test, far below
/// what would hurt the machine.
const CAP_PIDS: u32 = 1024;
const CAP_MEMORY: u64 = 3 << 30;

/// A directory, a marker and an outer cap for one test.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
    marker: String,
    cgroups: Vec<PathBuf>,
    /// Run leash as this ordinary user (uid, gid) instead of as the test's own user.
    user: Option<(u32, u32)>,
}

/// A process a test program reported, identified by PID and start time (so a reused PID
/// is never mistaken for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tracked {
    pub(crate) pid: i32,
    start_time: u64,
}

impl Tracked {
    /// Whether this very process still exists and runs (a zombie no longer runs; who
    /// reaps it is its parent's business, e.g. init's for an orphan of a dead leash).
    pub(crate) fn runs(&self) -> bool {
        self.exists()
            && fs::read_to_string(format!("/proc/{}/stat", self.pid)).is_ok_and(|stat| {
                stat.rfind(')')
                    .and_then(|at| stat.get(at + 2..at + 3))
                    .is_some_and(|state| state != "Z")
            })
    }

    /// Whether this very process still exists (zombies count: they were not reaped).
    pub(crate) fn exists(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }

    /// Process `pid` as it runs now; `None` if it does not.
    pub(crate) fn of(pid: i32) -> Option<Tracked> {
        start_time(pid).map(|start_time| Tracked { pid, start_time })
    }

    /// The process a test program recorded in `path` as `PID START` (START being field
    /// 22 of its /proc/PID/stat, read while it ran); none if it wrote no such file.
    pub(crate) fn recorded(path: &Path) -> Vec<Tracked> {
        let text = fs::read_to_string(path).unwrap_or_default();
        let mut fields = text.split_whitespace().map(str::parse);
        match (fields.next(), fields.next()) {
            (Some(Ok(pid)), Some(Ok(start_time))) => vec![Tracked {
                pid: i32::try_from(pid).expect("a PID"),
                start_time,
            }],
            _ => Vec::new(),
        }
    }
}

/// The parent of process `pid`, from /proc.
pub(crate) fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// What a finished leash run did.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

impl Finished {
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub(crate) fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// Assert that leash finished within `bound` of its start.
    pub(crate) fn assert_faster_than(&self, bound: Duration) {
        assert!(
            self.elapsed < bound,
            "took {:?}, more than {bound:?}: {}",
            self.elapsed,
            self.stderr
        );
    }
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        watchdog::arm();
        let id = format!(
            "{}{}",
            marker_prefix(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::Builder::new()
            .prefix(&id)
            .tempdir()
            .expect("temp dir");
        let marker = format!("{id}-{}", nanos());
        let cgroups = make_cap_cgroups(&id);
        let user = None;
        Sandbox {
            dir,
            marker,
            cgroups,
            user,
        }
    }

    /// A sandbox whose leash runs as an ordinary user (created if missing), to test the
    /// unprivileged path on a machine where tests run as root. `None` when the tests
    /// already run unprivileged (the ordinary sandbox covers that) or no user can be made.
    pub(crate) fn unprivileged() -> Option<Self> {
        let user = test_user()?;
        let mut sandbox = Sandbox::new();
        nix::unistd::chown(sandbox.dir(), Some(user.uid), Some(user.gid)).ok()?;
        sandbox.user = Some((user.uid.as_raw(), user.gid.as_raw()));
        Some(sandbox)
    }

    /// The ordinary user (uid, gid) leash runs as in this sandbox, if it is not the test's.
    pub(crate) fn user(&self) -> Option<(u32, u32)> {
        self.user
    }

    /// Whether leash runs as an ordinary user in this sandbox.
    pub(crate) fn is_unprivileged(&self) -> bool {
        self.user.is_some() || !nix::unistd::geteuid().is_root()
    }

    /// A sandbox for every kind of user leash runs as here: the test's own, and an
    /// ordinary one where the tests run as root.
    pub(crate) fn for_each_user() -> Vec<Sandbox> {
        std::iter::once(Sandbox::new())
            .chain(Sandbox::unprivileged())
            .collect()
    }

    /// A sandbox whose leash runs as an ordinary user: made for the test where the tests
    /// run as root, else the test's own; `None` if no ordinary user can be made.
    pub(crate) fn ordinary_user() -> Option<Sandbox> {
        Sandbox::unprivileged().or_else(|| (!nix::unistd::geteuid().is_root()).then(Sandbox::new))
    }

    /// Who leash runs as, for messages: `root` or `unprivileged`.
    pub(crate) fn who(&self) -> &'static str {
        if self.is_unprivileged() {
            "unprivileged"
        } else {
            "root"
        }
    }

    /// The sandbox directory: test programs run here and write their PID files here.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A temporary directory for an agent (its TMPDIR) inside the sandbox, made if
    /// missing: what the agent leaves there goes with the case.
    pub(crate) fn agent_tmp(&self) -> PathBuf {
        let dir = self.path("agent-tmp");
        fs::create_dir_all(&dir).expect("the agent's TMPDIR");
        dir
    }

    /// Lower the outer cap's memory limit to `bytes` (for a test of what an outer limit
    /// does to a session); false where the cap holds no memory.
    pub(crate) fn cap_memory(&self, bytes: u64) -> bool {
        self.cgroups.iter().any(|dir| {
            ["memory.limit_in_bytes", "memory.max"].iter().any(|file| {
                dir.join(file).exists() && fs::write(dir.join(file), bytes.to_string()).is_ok()
            })
        })
    }

    /// The outer cap's cgroups (leash's own cgroups in the tests), one per hierarchy.
    pub(crate) fn cap_cgroups(&self) -> &[PathBuf] {
        &self.cgroups
    }

    /// Cgroups below the outer cap's (leash's session cgroups), by path.
    pub(crate) fn cgroups_below_cap(&self) -> Vec<PathBuf> {
        self.cgroups
            .iter()
            .flat_map(|g| subdirectories(g))
            .collect()
    }

    /// `leash ARGS...`, run inside the outer cap, in the sandbox directory, marked.
    pub(crate) fn leash(&self, args: &[&str]) -> Command {
        let mut command = self.capped(env!("CARGO_BIN_EXE_leash"));
        command.args(args);
        command
    }

    /// `program`, run inside the outer cap, in the sandbox directory, marked (add its
    /// arguments to the returned command).
    pub(crate) fn capped(&self, program: &str) -> Command {
        self.capped_address_space(program, Some(8 << 20))
    }

    /// [`Sandbox::capped`] with the address space limited to `kib` (none: unlimited, for a
    /// program whose WebAssembly reserves more than 8 GiB of addresses, Gemini CLI's;
    /// the cap's memory cgroup, where there is one, still holds what it uses).
    pub(crate) fn capped_address_space(&self, program: &str, kib: Option<u64>) -> Command {
        // The wrapper joins the cap cgroups, tightens rlimits, then execs leash, so leash
        // keeps the wrapper's PID and the test sees leash's own wait status.
        let nproc = if self.cgroups.is_empty() {
            format!("ulimit -u {CAP_PIDS}; ")
        } else {
            String::new()
        };
        // Joining the cap needs the test's privilege, so the switch to an ordinary user
        // comes after it: the cap holds the unprivileged leash too.
        let become_user = self.user.map_or_else(String::new, |(uid, gid)| {
            format!("setpriv --reuid={uid} --regid={gid} --clear-groups ")
        });
        let script = format!(
            "for g in $TEST_CAP_CGROUPS; do echo $$ > \"$g/cgroup.procs\" || exit 99; done; \
             {nproc}ulimit -v {}; exec {become_user}\"$@\"",
            kib.map_or_else(|| "unlimited".to_string(), |k| k.to_string())
        );
        // A session of its own (setsid(1) execs in place: the child keeps its PID, as
        // it is no group leader): a signal meant for a group under test (a stray kill(0),
        // a job-control stop) can never reach the test binary or cargo, which share their
        // group, and nothing under test has CI's terminal, if it has one.
        let mut command = Command::new("setsid");
        command
            .args(["sh", "-c"])
            .arg(script)
            .arg("leash-cap")
            .arg(program)
            .current_dir(self.dir())
            .env(MARKER_VAR, &self.marker)
            .env(
                "TEST_CAP_CGROUPS",
                self.cgroups
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .stdin(Stdio::null());
        command
    }

    /// `sh -c LINE`, a command line as a user would type it: inside the outer cap, in the
    /// sandbox directory, marked, with the sandbox's `bin/` (leash itself and the stubs
    /// made by [`Sandbox::stub`]) first on PATH.
    pub(crate) fn shell(&self, line: &str) -> Command {
        let bin = self.bin();
        let path = std::env::var("PATH").unwrap_or_default();
        let mut command = self.capped("sh");
        command
            .args(["-c", line])
            .env("PATH", format!("{}:{path}", bin.display()));
        command
    }

    /// `sh -c LINE` as [`Sandbox::shell`], with links named `timeout` and `prlimit` to
    /// leash first on PATH: what a user who swapped the tools for leash's runs.
    pub(crate) fn shell_with_links(&self, line: &str) -> Command {
        let links = self.path("links");
        if !links.exists() {
            fs::create_dir(&links).expect("the sandbox's links/");
            for name in ["timeout", "prlimit"] {
                std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_leash"), links.join(name))
                    .expect("a link to leash");
            }
        }
        let mut command = self.shell(line);
        let path = std::env::var("PATH").unwrap_or_default();
        command.env(
            "PATH",
            format!("{}:{}:{path}", links.display(), self.bin().display()),
        );
        command
    }

    /// Run [`Sandbox::shell_with_links`]'s `LINE` to its end (up to a minute).
    pub(crate) fn run_with_links(&self, line: &str) -> Finished {
        self.start_command(self.shell_with_links(line), Stdio::null())
            .finish()
    }

    /// An executable shell script `name` in the sandbox's `bin/`, which is first on PATH
    /// for [`Sandbox::shell`].
    pub(crate) fn stub(&self, name: &str, body: &str) {
        shell_script(&self.bin().join(name), body);
    }

    /// The JSON document in the sandbox's file `name` (a report), which must be there.
    pub(crate) fn json(&self, name: &str) -> serde_json::Value {
        let text = fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("{name}: {e} (leash wrote no report?)"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"))
    }

    /// The sandbox's `bin/`, holding `leash` itself.
    fn bin(&self) -> PathBuf {
        let bin = self.path("bin");
        if !bin.exists() {
            fs::create_dir(&bin).expect("the sandbox's bin/");
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_leash"), bin.join("leash"))
                .expect("leash in the sandbox's bin/");
        }
        bin
    }

    /// Start `sh -c LINE` (see [`Sandbox::shell`]) with `input` as its stdin.
    pub(crate) fn start_shell(&self, line: &str, input: &str) -> Running {
        self.start_command(self.shell(line), self.input(input))
    }

    /// Start a command made by [`Sandbox::leash`] or [`Sandbox::shell`] (and changed by
    /// the test: more environment, say) with `input` as its stdin.
    pub(crate) fn start_prepared(&self, command: Command, input: &str) -> Running {
        self.start_command(command, self.input(input))
    }

    /// Run leash to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Finished {
        self.start(args).finish()
    }

    /// Start leash. Its stdout and stderr go to files, not pipes, so that reading them
    /// never waits for a surviving process that still holds them open.
    pub(crate) fn start(&self, args: &[&str]) -> Running {
        self.start_command(self.leash(args), Stdio::null())
    }

    /// A file holding `input`, opened as a stdin.
    fn input(&self, input: &str) -> Stdio {
        let path = self.path("leash.in");
        fs::write(&path, input).expect("stdin file");
        fs::File::open(path).expect("stdin file").into()
    }

    fn start_command(&self, mut command: Command, stdin: Stdio) -> Running {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let out = self.path(&format!("leash-{run}.out"));
        let err = self.path(&format!("leash-{run}.err"));
        let child = command
            .stdin(stdin)
            .stdout(fs::File::create(&out).expect("stdout file"))
            .stderr(fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("start leash");
        Running {
            child,
            started: Instant::now(),
            out,
            err,
        }
    }

    /// Wait until every named PID file exists and holds a PID, and return those processes.
    /// This is the test programs' "ready" signal: no sleeping in hope.
    pub(crate) fn wait_for_pids(&self, names: &[String]) -> Vec<Tracked> {
        let deadline = Instant::now() + Duration::from_secs(30);
        names
            .iter()
            .map(|name| {
                loop {
                    if let Some(pid) = fs::read_to_string(self.path(name))
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                    {
                        // Read the start time while the process certainly still runs.
                        let start_time = start_time(pid)
                            .unwrap_or_else(|| panic!("{name}: process {pid} already gone"));
                        break Tracked { pid, start_time };
                    }
                    assert!(Instant::now() < deadline, "{name} never appeared");
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
            .collect()
    }

    /// The outer cap's own measurement of peak memory (bytes), as a referee independent of
    /// leash's accounting; `None` without a cap cgroup.
    pub(crate) fn referee_peak_memory(&self) -> Option<u64> {
        self.cap_file(&["memory.max_usage_in_bytes", "memory.peak"])
    }

    /// The outer cap's peak count of tasks (processes and threads).
    pub(crate) fn referee_peak_tasks(&self) -> Option<u64> {
        self.cap_file(&["pids.peak"])
    }

    fn cap_file(&self, names: &[&str]) -> Option<u64> {
        self.cgroups.iter().find_map(|g| {
            names
                .iter()
                .find_map(|name| fs::read_to_string(g.join(name)).ok()?.trim().parse().ok())
        })
    }

    /// Wait until the named file exists (a test program's "I got here").
    pub(crate) fn wait_for_file(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.path(name).exists() {
            assert!(Instant::now() < deadline, "{name} never appeared");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every process this sandbox started that still exists: members of the cap cgroups
    /// and any process carrying the marker.
    pub(crate) fn survivors(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self.cgroups.iter().flat_map(|g| members(g)).collect();
        pids.extend(marked_processes(&self.marker));
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// SIGKILL every process of the sandbox whose program is named one of `names` (an
    /// agent's own processes: node, its native binary), as an agent killed mid-command is.
    pub(crate) fn kill_programs(&self, names: &[&str]) {
        for pid in self.survivors() {
            let program = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let name = program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| names.contains(&n.as_str())) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }

    /// Wait up to 10 s for nothing of the sandbox to be left but `spared` (processes the
    /// test knows outlive it), then assert it.
    pub(crate) fn assert_all_gone_soon(&self, tracked: &[Tracked]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let left = || !self.survivors().is_empty() || tracked.iter().any(Tracked::exists);
        while left() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.assert_no_survivors(tracked);
    }

    /// Assert that nothing the test started is left, naming what is.
    pub(crate) fn assert_no_survivors(&self, tracked: &[Tracked]) {
        let alive: Vec<_> = tracked
            .iter()
            .filter(|t| t.exists())
            .map(|t| describe(t.pid))
            .collect();
        assert!(alive.is_empty(), "reported processes survived: {alive:?}");
        let survivors: Vec<_> = self.survivors().into_iter().map(describe).collect();
        assert!(
            survivors.is_empty(),
            "processes of the session survived: {survivors:?}"
        );
    }

    /// Kill every survivor by PID until none is left.
    fn clean_up(&self) {
        for _ in 0..500 {
            let survivors = self.survivors();
            if survivors.is_empty() {
                break;
            }
            for pid in survivors {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.clean_up();
        for cgroup in &self.cgroups {
            remove_cgroup(cgroup);
        }
    }
}

/// The ordinary user the tests run leash as where they run as root: made at first use
/// if missing, and removed when the test binary exits (with what leash left in /tmp under
/// its uid); `None` when the tests run unprivileged or no user can be made.
pub(crate) fn test_user() -> Option<nix::unistd::User> {
    static USER: std::sync::OnceLock<Option<nix::unistd::User>> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        if let Some(user) = nix::unistd::User::from_name(TEST_USER).ok().flatten() {
            return Some(user);
        }
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(TEST_USER)
            .stdin(Stdio::null())
            .status();
        let user = nix::unistd::User::from_name(TEST_USER).ok().flatten();
        if made.is_ok_and(|s| s.success()) && user.is_some() {
            // SAFETY: registers a function that takes and returns nothing, once.
            unsafe { libc::atexit(remove_test_user) };
        }
        user
    })
    .clone()
}

/// The name of the user [`test_user`] makes.
const TEST_USER: &str = "leash-test";

/// Remove the user [`test_user`] made, and leash's runtime directory of that user (the
/// fallback below /tmp). Another test binary running at the same time finds no user and
/// skips its unprivileged cases: never a wrong result.
extern "C" fn remove_test_user() {
    if let Some(user) = nix::unistd::User::from_name(TEST_USER).ok().flatten() {
        let _ = fs::remove_dir_all(format!("/tmp/leash-{}", user.uid));
    }
    let _ = Command::new("userdel")
        .arg(TEST_USER)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Where the tests keep what they install and the files they expect the session not to
/// reach: the build directory's, unless that is below /tmp, which the interpreter
/// profile's private /tmp hides from the session (then /var/tmp, per user).
pub(crate) fn outside_tmp() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if !target.starts_with("/tmp") {
        return target.to_path_buf();
    }
    let shared = PathBuf::from(format!("/var/tmp/leash-tests-{}", nix::unistd::geteuid()));
    std::fs::create_dir_all(&shared).expect("a directory in /var/tmp");
    shared
}

/// `dir` (below [`outside_tmp`]), made by `install` once per build directory: under a
/// lock, as another test run may be installing into it too, and with a marker written
/// last, so that a directory without it is an install that was cut short (made again).
pub(crate) fn installed_once(name: &str, install: impl FnOnce(&Path)) -> PathBuf {
    let dir = outside_tmp().join(name);
    let lock = fs::File::create(dir.with_extension("lock")).expect("the install lock");
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).expect("flock");
    let complete = dir.join("installed");
    if !complete.exists() {
        let _ = fs::remove_dir_all(&dir);
        install(&dir);
        fs::write(&complete, "").expect("the install's marker");
    }
    dir
}

/// The virtualenv holding open-interpreter 0.4.3 and the pinned packages it needs
/// (tests/e2e/requirements.txt, ipykernel and jupyter_client among them): installed once
/// per build directory (about 80 s, PyPI needed), then reused.
pub(crate) fn open_interpreter_venv() -> &'static Path {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| installed_once("open-interpreter-0.4.3", install_open_interpreter))
}

/// A fresh virtualenv at `venv` with the pinned requirements in it.
fn install_open_interpreter(venv: &Path) {
    let started = Instant::now();
    make_venv("python3", venv, &["-r", PINNED]);
    eprintln!(
        "installed open-interpreter 0.4.3 in {:?}",
        started.elapsed()
    );
}

/// The pinned packages of the open-interpreter tier, each at the version it was proven with.
pub(crate) const PINNED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/requirements.txt");

/// A virtualenv at `venv` made by `python`, with `pip install PIP_ARGS...` in it.
pub(crate) fn make_venv(python: &str, venv: &Path, pip_args: &[&str]) {
    let made = Command::new(python).args(["-m", "venv"]).arg(venv).status();
    if !made.is_ok_and(|s| s.success()) {
        lacking(&format!(
            "{python} -m venv failed: this tier needs Python's venv (apt-get install python3-venv)"
        ));
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(pip_args)
        .status();
    if !pip.is_ok_and(|s| s.success()) {
        lacking(&format!(
            "pip install {} failed: this tier installs its pinned packages from PyPI, which \
             must be reachable",
            pip_args.join(" ")
        ));
    }
}

/// End the test saying, in `line` alone, what this machine lacks for it and how to get it
/// (a panic's message and backtrace would bury it).
pub(crate) fn lacking(line: &str) -> ! {
    eprintln!("{line}");
    std::panic::resume_unwind(Box::new(line.to_owned()))
}

/// npm's `package` at `version`, installed once per build directory into a directory
/// named `name` (for `tier`, in what a failure says); the directory (node_modules/ below).
pub(crate) fn npm_package(package: &str, version: &str, name: &str, tier: &str) -> PathBuf {
    installed_once(&format!("{name}-{version}"), |prefix| {
        require("npm", "npm", &format!("{tier} (npm {package})"));
        let started = Instant::now();
        let npm = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(prefix)
            .arg(format!("{package}@{version}"))
            .stdout(Stdio::null())
            .status();
        if !npm.is_ok_and(|s| s.success()) {
            lacking(&format!(
                "npm install {package}@{version} failed: {tier} needs the npm registry reachable"
            ));
        }
        eprintln!("installed {name} {version} in {:?}", started.elapsed());
    })
}

/// bubblewrap's `bwrap`, Debian's package unpacked once per build directory (no root
/// needed to run it: it makes its namespaces as an ordinary user can).
pub(crate) fn bwrap() -> &'static Path {
    static UNPACKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    UNPACKED.get_or_init(|| debian_package("bubblewrap").join("usr/bin/bwrap"))
}

/// Debian's `package`, fetched with `apt-get download` and unpacked (not installed) in a
/// directory of its own, once per build directory.
pub(crate) fn debian_package(package: &str) -> PathBuf {
    installed_once(&format!("debian-{package}"), |dir| {
        fs::create_dir_all(dir).expect("the package's directory");
        let fetched = Command::new("apt-get")
            .args(["download", "-q", package])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let deb = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == "deb"));
        let unpacked = deb.as_ref().is_some_and(|deb| {
            Command::new("dpkg-deb")
                .arg("-x")
                .arg(deb)
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success())
        });
        if !fetched || !unpacked {
            lacking(&format!(
                "apt-get download {package} failed: these tests need Debian's package archive"
            ));
        }
        // Readable and runnable by the ordinary user the tests make.
        let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(dir).status();
    })
}

/// Whether `program` is on PATH; where it is not, the test ends saying to install
/// `package` for `tier`.
pub(crate) fn require(program: &str, package: &str, tier: &str) {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if !on_path {
        lacking(&format!(
            "{program} not found: {tier} needs it (apt-get install {package})"
        ));
    }
}

/// Start a scripted model (`python3 SCRIPT ARGS...`) that prints the port it listens on
/// first: the server, and its port.
pub(crate) fn start_model(script: &str, args: &[&std::ffi::OsStr]) -> (Child, u16) {
    use std::io::BufRead;
    let mut server = Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 for the scripted model");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the model's port");
    (server, line.trim().parse().expect("a port number"))
}

/// The `sh` block that follows `title` in the manual: a recipe, as written.
pub(crate) fn readme_recipe(title: &str) -> String {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/manual.md"))
        .expect("the manual");
    let after = readme.split_once(title).expect(title).1;
    let block = after.split_once("```sh\n").expect("a sh block").1;
    block
        .split_once("```")
        .expect("the block's end")
        .0
        .to_owned()
}

/// A FIFO at `path`.
pub(crate) fn make_fifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

/// A character device node at `path` (`major`, `minor`), as /dev has them: a test's own
/// stand-in for a device, so that the real one is never touched. Root only: `false`
/// where it cannot be made.
pub(crate) fn make_device(path: &Path, major: u32, minor: u32) -> bool {
    Command::new("mknod")
        .arg(path)
        .args(["c", &major.to_string(), &minor.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// An executable shell script at `path` running `body`.
pub(crate) fn shell_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    // A new file: a link already there (leash in the sandbox's bin/) is replaced, never
    // written through (that would overwrite the program it names).
    let _ = fs::remove_file(path);
    fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("a script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod a script");
}

/// Processes in a cgroup and in every cgroup below it (leash's session cgroups).
fn members(cgroup: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    for child in subdirectories(cgroup) {
        pids.extend(members(&child));
    }
    pids
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Remove an empty cgroup and whatever empty cgroups a test left below it.
fn remove_cgroup(cgroup: &Path) {
    for child in subdirectories(cgroup) {
        remove_cgroup(&child);
    }
    let _ = fs::remove_dir(cgroup);
}

/// A leash run in progress.
pub(crate) struct Running {
    child: Child,
    started: Instant,
    out: PathBuf,
    err: PathBuf,
}

impl Running {
    /// leash's PID.
    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid"))
    }

    /// Send leash a signal.
    pub(crate) fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("signal leash");
    }

    /// Wait for leash to end. A leash that hangs fails the test instead of hanging it.
    pub(crate) fn finish(self) -> Finished {
        self.finish_within(Duration::from_secs(60))
    }

    /// Wait up to `bound` for leash to end, else kill it and fail the test.
    pub(crate) fn finish_within(mut self, bound: Duration) -> Finished {
        let left = bound.saturating_sub(self.started.elapsed());
        let status = wait_within(&mut self.child, left);
        Finished {
            status,
            stdout: fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: fs::read_to_string(&self.err).unwrap_or_default(),
            elapsed: self.started.elapsed(),
        }
    }
}

/// Wait up to `bound` for `child` (leash) to end, else kill it and fail the test: a leash
/// that hangs fails the test instead of hanging it.
pub(crate) fn wait_within(child: &mut Child, bound: Duration) -> ExitStatus {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("leash did not finish within {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How leash enforces the session limits in a test run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// A cgroup of the session's own: the kernel holds memory and process limits.
    Cgroup,
    /// No cgroup: leash counts on its own (samples of /proc; for processes, the fork
    /// gate), with rlimits as backstops.
    Sampling,
}

impl Mechanism {
    /// The flag that selects it.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Mechanism::Cgroup => "--cgroup=require",
            Mechanism::Sampling => "--cgroup=off",
        }
    }
}

/// Every mechanism this machine offers to the tests: sampling always, a cgroup where
/// leash can make one that holds memory, processes and CPU time (it says so in
/// `--explain` under `--cgroup require`).
pub(crate) fn mechanisms() -> Vec<Mechanism> {
    static CGROUP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let cgroup = *CGROUP.get_or_init(|| {
        let sandbox = Sandbox::new();
        let probe = [
            "--cgroup=require",
            "--mem=1G",
            "--procs=9",
            "--cpu=1s",
            "--explain",
        ];
        sandbox.run(&probe).code() == Some(0)
    });
    if cgroup {
        vec![Mechanism::Cgroup, Mechanism::Sampling]
    } else {
        vec![Mechanism::Sampling]
    }
}

/// PIDs of processes whose environment holds `MARKER_VAR=marker`.
fn marked_processes(marker: &str) -> Vec<i32> {
    processes_marked(|found| found == marker)
}

/// The start of every marker this test binary hands out.
fn marker_prefix() -> String {
    format!("leash-test-{}-", std::process::id())
}

/// Processes whose marker `wanted` accepts.
fn processes_marked(wanted: impl Fn(&str) -> bool) -> Vec<i32> {
    let prefix = format!("{MARKER_VAR}=");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|b| *b == 0).any(|var| {
                    var.strip_prefix(prefix.as_bytes())
                        .and_then(|marker| std::str::from_utf8(marker).ok())
                        .is_some_and(&wanted)
                })
            })
        })
        .collect()
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn describe(pid: i32) -> String {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    format!(
        "{pid} [{}] {cmdline}",
        stat.split_whitespace().nth(2).unwrap_or("?")
    )
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Create the pids and memory cap cgroups below the cgroups this test runs in: cgroup v1
/// controllers where mounted, else cgroup v2 if it delegates both controllers. Empty if
/// neither is writable (the caller then falls back to rlimits).
fn make_cap_cgroups(name: &str) -> Vec<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let v1_path = |controller: &str| {
        own.lines().find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers.split(',').any(|c| c == controller).then(|| {
                Path::new("/sys/fs/cgroup")
                    .join(controller)
                    .join(path.trim_start_matches('/'))
            })
        })
    };
    let v1 = [
        ("pids", vec![("pids.max", CAP_PIDS.to_string())]),
        (
            "memory",
            vec![("memory.limit_in_bytes", CAP_MEMORY.to_string())],
        ),
    ];
    let mut made = Vec::new();
    for (controller, settings) in v1 {
        let Some(dir) =
            v1_path(controller).and_then(|parent| make_cgroup(&parent.join(name), &settings))
        else {
            for dir in &made {
                let _ = fs::remove_dir(dir);
            }
            return make_v2_cap(&own, name).into_iter().collect();
        };
        made.push(dir);
    }
    // The cgroup v2 hierarchy of a hybrid machine, without controllers: leash makes its
    // session cgroups there too, and they belong below the test's own.
    let unified = Path::new("/sys/fs/cgroup/unified");
    if let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::"))
        && unified.join("cgroup.procs").exists()
        && let Some(dir) = make_cgroup(&unified.join(path.trim_start_matches('/')).join(name), &[])
    {
        made.push(dir);
    }
    made
}

fn make_v2_cap(own: &str, name: &str) -> Option<PathBuf> {
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let parent = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let enabled = fs::read_to_string(parent.join("cgroup.subtree_control")).ok()?;
    if !(enabled.contains("pids") && enabled.contains("memory")) {
        return None;
    }
    make_cgroup(
        &parent.join(name),
        &[
            ("pids.max", CAP_PIDS.to_string()),
            ("memory.max", CAP_MEMORY.to_string()),
        ],
    )
}

fn make_cgroup(dir: &Path, settings: &[(&str, String)]) -> Option<PathBuf> {
    fs::create_dir(dir).ok()?;
    for (file, value) in settings {
        if fs::write(dir.join(file), value).is_err() {
            let _ = fs::remove_dir(dir);
            return None;
        }
    }
    Some(dir.to_path_buf())
}

/// The value and mechanism of the `--explain` row of `limit`, as `value  mechanism`.
pub(crate) fn explained(
    sandbox: &Sandbox,
    env: &[(&str, &str)],
    args: &[&str],
    limit: &str,
) -> String {
    let mut command = sandbox.leash(args);
    command.envs(env.iter().copied());
    let output = command.output().expect("leash");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let row = text
        .lines()
        .find(|line| line.split_whitespace().next() == Some(limit))
        .unwrap_or_else(|| panic!("no {limit} row in {text}"));
    // Columns are padded with spaces; a column's text has single spaces only.
    let columns: Vec<&str> = row
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    columns[1..].join("  ")
}
