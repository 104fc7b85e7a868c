//! `leashctl` and the registry of running sessions: listing them with live figures,
//! freezing, thawing and stopping them (with the supervisor running, stopped or killed),
//! and who may see and do what. Every session runs in the outer cap; each test's registry
//! lives in its sandbox (the system-wide places too, by a hidden switch), so a test sees
//! only its own sessions while others run theirs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common;
use crate::common::{Mechanism, Running, Sandbox, Tracked, mechanisms};

const LEASHCTL: &str = env!("CARGO_BIN_EXE_leashctl");

/// A test's registry: a directory standing for `/` (/run/user/UID for each user, /tmp).
struct Registry {
    sys: PathBuf,
}

impl Registry {
    fn new(sandbox: &Sandbox) -> Registry {
        let sys = sandbox.path("sys");
        fs::create_dir_all(sys.join("run/user")).expect("registry root");
        fs::create_dir_all(sys.join("tmp")).expect("registry tmp");
        // An ordinary user's runtime directory lies below the test's sandbox.
        for dir in [
            sandbox.dir().to_path_buf(),
            sys.clone(),
            sys.join("run"),
            sys.join("run/user"),
        ] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        fs::set_permissions(sys.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod");
        Registry { sys }
    }

    /// The runtime directory of `user` (`None`: the test's own user, root), made as
    /// systemd-logind makes it: theirs, mode 0700.
    fn runtime_dir(&self, user: Option<(u32, u32)>) -> PathBuf {
        let (uid, gid) = user.unwrap_or((0, 0));
        let dir = self.sys.join(format!("run/user/{uid}"));
        fs::create_dir_all(&dir).expect("runtime dir");
        nix::unistd::chown(&dir, Some(uid.into()), Some(gid.into())).expect("chown");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        dir
    }

    /// What leash and leashctl run with, as `user`.
    fn env(&self, user: Option<(u32, u32)>) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("XDG_RUNTIME_DIR", self.runtime_dir(user)),
            ("TMPDIR", self.sys.join("tmp")),
            ("_LEASH_TEST_SYSTEM_ROOT", self.sys.clone()),
        ]
    }

    /// Start `leash ARGS` in `sandbox` (as its user), registered here.
    fn start(&self, sandbox: &Sandbox, args: &[&str]) -> Running {
        let mut command = sandbox.leash(args);
        command.envs(self.env(sandbox.user()));
        sandbox.start_prepared(command, "")
    }

    /// Start `leash --name NAME -- sleep 300` in `sandbox` and wait until it runs; the
    /// session and its command.
    fn start_sleeper(&self, sandbox: &Sandbox, name: &str) -> (Running, Tracked) {
        let line = format!("echo $$ > {name}.pid; exec sleep 300");
        let session = self.start(sandbox, &["--name", name, "--", "sh", "-c", &line]);
        let command = sandbox.wait_for_pids(&[format!("{name}.pid")]).remove(0);
        (session, command)
    }

    /// `leashctl ARGS` as `user`.
    fn ctl(&self, user: Option<(u32, u32)>, args: &[&str]) -> Output {
        let mut command = match user {
            Some((uid, gid)) => {
                let mut command = Command::new("setpriv");
                command.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={gid}"),
                    "--clear-groups",
                    LEASHCTL,
                ]);
                command
            }
            None => Command::new(LEASHCTL),
        };
        command
            .args(args)
            .envs(self.env(user))
            .stdin(Stdio::null())
            .output()
            .expect("run leashctl")
    }

    /// `leashctl ARGS` as root, which must succeed; its stdout.
    fn ctl_ok(&self, args: &[&str]) -> String {
        let output = self.ctl(None, args);
        assert!(
            output.status.success(),
            "leashctl {args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// `leashctl list --json` as `user`, checked against the documented schema.
    fn list(&self, user: Option<(u32, u32)>) -> Vec<Value> {
        let output = self.ctl(user, &["list", "--json"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let rows: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let errors: Vec<String> = schema().iter_errors(&rows).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {rows:#}");
        rows.as_array().expect("an array").clone()
    }

    /// The registry directory of `user`, and the entry of the one session they run.
    fn only_entry(&self, user: Option<(u32, u32)>) -> (PathBuf, PathBuf) {
        let sessions = self.runtime_dir(user).join("leash/sessions");
        let entry = fs::read_dir(&sessions)
            .expect("the user's registry")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .expect("the session's entry");
        (sessions, entry)
    }

    /// The id of the session named `name`, as root sees it.
    /// The ID of the session named `name`: listed as soon as its command runs, so a test
    /// that saw the command start may still be a moment early.
    fn id_of(&self, name: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let rows = self.list(None);
            if let Some(id) = rows
                .iter()
                .find(|row| row["name"] == name)
                .and_then(|row| row["id"].as_str())
            {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "no session {name}: {rows:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("../../docs/leashctl-list.schema.json"))
                .expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("a valid schema")
    })
}

/// What /proc says of the processes below `root` (found through every process's parent,
/// not as leashctl finds them): resident bytes, threads, and CPU ticks (their own and
/// their reaped children's, and `root`'s reaped children's).
fn proc_figures(root: i32) -> (u64, u64, u64) {
    let mut parent_of = BTreeMap::new();
    let mut stats = BTreeMap::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<u64> = stat[stat.rfind(')').expect("stat") + 4..]
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        // Numbered as in proc(5): field n is fields[n - 4].
        parent_of.insert(pid, i32::try_from(fields[0]).unwrap_or(0));
        stats.insert(pid, fields);
    }
    let mut below = BTreeSet::from([root]);
    loop {
        let more: Vec<i32> = parent_of
            .iter()
            .filter(|(pid, parent)| below.contains(parent) && !below.contains(pid))
            .map(|(pid, _)| *pid)
            .collect();
        if more.is_empty() {
            break;
        }
        below.extend(more);
    }
    below.remove(&root);
    let page = 4096;
    let (mut resident, mut threads, mut ticks) = (0, 0, 0);
    ticks += stats.get(&root).map_or(0, |f| f[16 - 4] + f[17 - 4]);
    for pid in &below {
        let f = &stats[pid];
        ticks += f[14 - 4] + f[15 - 4] + f[16 - 4] + f[17 - 4];
        threads += f[20 - 4];
        resident += fs::read_to_string(format!("/proc/{pid}/statm"))
            .ok()
            .and_then(|m| m.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
            * page;
    }
    (resident, threads, ticks)
}

/// `measured` lies between the two readings of /proc, with 10% and 256 KiB of slack: a
/// process that has just started still faults pages in between the readings.
#[allow(clippy::cast_precision_loss)]
fn within_readings(measured: u64, before: u64, after: u64) -> bool {
    let (low, high) = (before.min(after) as f64, before.max(after) as f64);
    let slack = 256.0 * 1024.0;
    let measured = measured as f64;
    low * 0.9 - slack <= measured && measured <= high * 1.1 + slack
}

/// A program that holds `mib` MiB resident, writes its PID to `name`, then sleeps.
fn holding(mib: u32, name: &str) -> String {
    format!(
        "import os, time; x = bytearray({mib} << 20); x[::4096] = b'x' * len(x[::4096]); \
         open('{name}', 'w').write(str(os.getpid())); time.sleep(120)"
    )
}

/// The row's figures are what /proc said `before` and `after` leashctl read them: memory
/// and CPU time between the two (with some slack), tasks exactly.
fn assert_figures_match(row: &Value, before: (u64, u64, u64), after: (u64, u64, u64)) {
    let (threads, resident) = (after.1, (before.0, after.0));
    let usage = &row["usage"];
    assert_eq!(row["state"], "running", "{row:#}");
    let memory = usage["memory_bytes"].as_u64().expect("memory");
    // A memory cgroup counts the page cache too: compare the resident sizes without one.
    let memory_cgroup = row["cgroups"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["controllers"].to_string().contains("memory"))
    });
    if !memory_cgroup {
        assert!(
            within_readings(memory, resident.0, resident.1),
            "memory {memory} vs {resident:?} before and after: {row:#}"
        );
    }
    assert_eq!(usage["tasks"].as_u64(), Some(threads), "{row:#}");
    let cpu = usage["cpu_seconds"].as_f64().expect("cpu");
    #[allow(clippy::cast_precision_loss)]
    let (low, high) = (
        before.2 as f64 / 100.0 * 0.9 - 0.02,
        after.2 as f64 / 100.0 * 1.1 + 0.02,
    );
    assert!(
        low <= cpu && cpu <= high,
        "CPU {cpu}s not in [{low}, {high}]: {row:#}"
    );
}

#[test]
fn list_shows_the_sessions_of_both_users_with_the_figures_proc_has() {
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let holder = holding(40, "a.pid");
    let a = registry.start(
        &sandbox,
        &[
            "--name", "a", "--cgroup", "off", "--", "python3", "-c", &holder,
        ],
    );
    let b = registry.start(
        &sandbox,
        &[
            "--name",
            "b",
            "--wall",
            "5m",
            "--",
            "sh",
            "-c",
            "echo $$ > b.pid; while :; do :; done",
        ],
    );
    let user_sandbox = Sandbox::unprivileged();
    let c = user_sandbox.as_ref().map(|user_sandbox| {
        let holder = holding(30, "c.pid");
        registry.start(
            user_sandbox,
            &["--name", "c", "--mem", "1G", "--", "python3", "-c", &holder],
        )
    });
    sandbox.wait_for_pids(&["a.pid".into(), "b.pid".into()]);
    if let Some(user_sandbox) = &user_sandbox {
        user_sandbox.wait_for_pids(&["c.pid".into()]);
    }
    let before: BTreeMap<i32, (u64, u64, u64)> = [&a, &b]
        .into_iter()
        .chain(c.as_ref())
        .map(|s| (s.pid().as_raw(), proc_figures(s.pid().as_raw())))
        .collect();
    let rows = registry.list(None);
    let after: BTreeMap<i32, (u64, u64, u64)> =
        before.keys().map(|&pid| (pid, proc_figures(pid))).collect();
    let names: BTreeSet<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    let expected: BTreeSet<&str> = if c.is_some() {
        ["a", "b", "c"].into()
    } else {
        ["a", "b"].into()
    };
    assert_eq!(names, expected, "{rows:#?}");
    for row in &rows {
        let supervisor =
            i32::try_from(row["supervisor"]["pid"].as_i64().expect("pid")).expect("pid");
        assert_figures_match(row, before[&supervisor], after[&supervisor]);
    }
    let row_b = rows.iter().find(|r| r["name"] == "b").expect("b");
    assert_eq!(row_b["limits"]["wall_seconds"], 300.0);
    assert_eq!(row_b["user"], "root");
    if let (Some(user_sandbox), Some(c)) = (&user_sandbox, c) {
        let theirs = registry.list(user_sandbox.user());
        let names: Vec<&str> = theirs.iter().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(
            names,
            ["c"],
            "an ordinary user sees only their own sessions"
        );
        assert_eq!(theirs[0]["user"], "leash-test");
        assert!(theirs[0]["usage"]["memory_bytes"].as_u64().unwrap_or(0) > 30 << 20);
        registry.ctl_ok(&["stop", &registry.id_of("c")]);
        assert_eq!(c.finish().signal(), Some(libc::SIGTERM));
    }
    for (session, name) in [(a, "a"), (b, "b")] {
        registry.ctl_ok(&["stop", &registry.id_of(name)]);
        assert_eq!(session.finish().signal(), Some(libc::SIGTERM));
    }
    assert!(
        registry.list(None).is_empty(),
        "entries are removed when sessions end"
    );
    sandbox.assert_no_survivors(&[]);
}

/// A program that holds `mib` MiB, forks three children that share it (copy-on-write:
/// the resident sizes count it four times, the proportional sizes once), writes its PID
/// to `name` once they run, and ends them and itself when the file `go` appears.
fn sharing(mib: u32, name: &str) -> String {
    format!(
        "import os, time\n\
         x = bytearray({mib} << 20); x[::4096] = b'x' * len(x[::4096])\n\
         def wait():\n    while not os.path.exists('go'): time.sleep(0.05)\n\
         kids = []\n\
         for _ in range(3):\n    pid = os.fork()\n    if pid == 0:\n        wait(); os._exit(0)\n    kids.append(pid)\n\
         time.sleep(1)\n\
         open('{name}', 'w').write(str(os.getpid()))\n\
         wait()\n\
         for kid in kids: os.waitpid(kid, 0)\n"
    )
}

#[test]
fn show_and_the_report_give_one_memory_figure() {
    // As root with a cgroup (where one can be made here), and as an ordinary user without:
    // there, leash holds --mem on the resident sizes summed while that sum stays below the
    // limit, and on the proportional sizes above it; two processes of 100 MiB pass 200M.
    for sandbox in Sandbox::for_each_user() {
        let registry = Registry::new(&sandbox);
        let cgroup = if sandbox.is_unprivileged() {
            "off"
        } else {
            "auto"
        };
        let program = sharing(100, "m.pid");
        let session = registry.start(
            &sandbox,
            &[
                "--name", "m", "--mem", "200M", "--cgroup", cgroup, "--report", "r.json", "--",
                "python3", "-c", &program,
            ],
        );
        sandbox.wait_for_pids(&["m.pid".into()]);
        let shown: Value =
            serde_json::from_str(&registry.ctl_ok(&["show", "--json", &registry.id_of("m")]))
                .expect("JSON");
        let memory = shown["session"]["usage"]["memory_bytes"]
            .as_u64()
            .expect("memory");
        fs::write(sandbox.path("go"), "").expect("go");
        let run = session.finish();
        assert_eq!(run.code(), Some(0), "{}: {}", sandbox.who(), run.stderr);
        let report = sandbox.json("r.json");
        let peak = report["usage"]["peak_memory_bytes"].as_u64().expect("peak");
        // One figure, read at two moments of a program that holds its memory steady.
        #[allow(clippy::cast_precision_loss)]
        let apart = (memory as f64 - peak as f64).abs() / peak as f64;
        assert!(
            apart < 0.15,
            "{}: leashctl show {memory}, the report {peak}: {shown:#}",
            sandbox.who()
        );
        // Shared pages once: the four resident sizes would be above 400 MiB.
        assert!(memory < 250 << 20, "{}: {memory}", sandbox.who());
        sandbox.assert_no_survivors(&[]);
    }
}

/// A spinning main process and a spinning setsid grandchild, reporting their PIDs.
const SPINNING_TREE: &str =
    "setsid sh -c 'echo $$ > g.pid; while :; do :; done' & echo $$ > m.pid; while :; do :; done";

/// CPU ticks the processes have used (user and system).
fn ticks(processes: &[Tracked]) -> u64 {
    processes
        .iter()
        .filter_map(|t| fs::read_to_string(format!("/proc/{}/stat", t.pid)).ok())
        .map(|stat| {
            let fields: Vec<u64> = stat[stat.rfind(')').expect("stat") + 4..]
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect();
            fields[14 - 4] + fields[15 - 4]
        })
        .sum()
}

#[test]
fn freeze_stops_all_progress_and_thaw_resumes_it() {
    for mechanism in mechanisms() {
        let sandbox = Sandbox::new();
        let registry = Registry::new(&sandbox);
        let report = sandbox.path("report.json");
        let session = registry.start(
            &sandbox,
            &[
                "--name",
                "f",
                mechanism.flag(),
                "--report",
                report.to_str().expect("path"),
                "--",
                "sh",
                "-c",
                SPINNING_TREE,
            ],
        );
        let tree = sandbox.wait_for_pids(&["m.pid".into(), "g.pid".into()]);
        let id = registry.id_of("f");
        let said = registry.ctl_ok(&["freeze", &id]);
        let how = if mechanism == Mechanism::Cgroup {
            "cgroup"
        } else {
            "SIGSTOP"
        };
        assert!(said.contains(how), "{mechanism:?}: {said}");
        std::thread::sleep(Duration::from_millis(200));
        let frozen_at = ticks(&tree);
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(
            ticks(&tree),
            frozen_at,
            "{mechanism:?}: the frozen tree ran on"
        );
        assert_eq!(registry.list(None)[0]["state"], "frozen");
        registry.ctl_ok(&["thaw", &id]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while ticks(&tree) < frozen_at + 20 {
            assert!(
                Instant::now() < deadline,
                "{mechanism:?}: the thawed tree did not run"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(registry.list(None)[0]["state"], "running");
        registry.ctl_ok(&["stop", &id]);
        assert_eq!(session.finish().signal(), Some(libc::SIGTERM));
        let report: Value =
            serde_json::from_str(&fs::read_to_string(&report).expect("report")).expect("JSON");
        let frozen = report["frozen_seconds"].as_f64().expect("frozen_seconds");
        assert!(
            (0.8..60.0).contains(&frozen),
            "{mechanism:?}: frozen {frozen}s"
        );
        let actions: Vec<&str> = report["control"]
            .as_array()
            .expect("control")
            .iter()
            .filter_map(|c| c["action"].as_str())
            .collect();
        assert_eq!(actions, ["freeze", "thaw", "stop"]);
        assert_eq!(report["session_id"], id.as_str());
        sandbox.assert_no_survivors(&tree);
    }
}

#[test]
fn stop_ends_a_session_with_a_detached_grandchild_and_a_sigterm_ignorer_as_sigterm_would() {
    for mechanism in mechanisms() {
        let sandbox = Sandbox::new();
        let registry = Registry::new(&sandbox);
        let report = sandbox.path("report.json");
        let line = "setsid sh -c 'trap \"\" TERM; echo $$ > g.pid; exec sleep 300' & \
                    trap '' TERM; echo $$ > m.pid; while :; do sleep 0.1; done";
        let session = registry.start(
            &sandbox,
            &[
                "--name",
                "s",
                mechanism.flag(),
                "--kill-after",
                "20s",
                "--report",
                report.to_str().expect("path"),
                "--",
                "sh",
                "-c",
                line,
            ],
        );
        let tree = sandbox.wait_for_pids(&["m.pid".into(), "g.pid".into()]);
        let id = registry.id_of("s");
        // A grace of its own: the session's 20 s would only be waited out.
        let said = registry.ctl_ok(&["stop", "--kill-after", "300ms", &id]);
        assert!(said.contains("stopped session"), "{said}");
        let finished = session.finish();
        assert_eq!(
            finished.signal(),
            Some(libc::SIGTERM),
            "{mechanism:?}: {}",
            finished.stderr
        );
        finished.assert_faster_than(Duration::from_secs(15));
        assert!(
            finished.stderr.contains("stopped by leashctl"),
            "{}",
            finished.stderr
        );
        let report: Value =
            serde_json::from_str(&fs::read_to_string(&report).expect("report")).expect("JSON");
        assert_eq!(report["outcome"], "leash_signaled");
        assert_eq!(report["signal"], "SIGTERM");
        let stop = &report["control"][0];
        assert_eq!(stop["action"], "stop");
        assert_eq!(stop["by_uid"], 0);
        assert_eq!(stop["directly"], false);
        assert!(
            report["escaped_process_group"].as_u64() >= Some(1),
            "{report:#}"
        );
        assert!(registry.list(None).is_empty());
        sandbox.assert_no_survivors(&tree);
    }
}

/// Wait until `pid` is stopped (a signal is delivered when its target next runs).
fn wait_until_stopped(pid: Pid) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.rfind(')').and_then(|at| stat.get(at + 2..at + 3)) == Some("T") {
            return;
        }
        assert!(Instant::now() < deadline, "{pid} never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait until none of `processes` runs (reaped or a zombie); false after 30 s.
fn all_gone(processes: &[Tracked]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while processes.iter().any(Tracked::runs) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn stop_works_with_the_supervisor_stopped_and_through_the_cgroup_with_it_killed() {
    for mechanism in mechanisms() {
        // Stopped: the session is killed through its cgroup or the supervisor's tree.
        let sandbox = Sandbox::new();
        let registry = Registry::new(&sandbox);
        let session = registry.start(
            &sandbox,
            &[
                "--name",
                "t",
                mechanism.flag(),
                "--",
                "sh",
                "-c",
                SPINNING_TREE,
            ],
        );
        let tree = sandbox.wait_for_pids(&["m.pid".into(), "g.pid".into()]);
        session.signal(Signal::SIGSTOP);
        wait_until_stopped(session.pid());
        let id = registry.id_of("t");
        assert_eq!(registry.list(None)[0]["state"], "suspended");
        let said = registry.ctl_ok(&["stop", &id]);
        assert!(
            said.contains("its supervisor is stopped"),
            "{mechanism:?}: {said}"
        );
        assert!(all_gone(&tree), "{mechanism:?}: the session outlived stop");
        session.signal(Signal::SIGCONT);
        // Its main process was killed: leash dies of the same signal.
        assert_eq!(session.finish().signal(), Some(libc::SIGKILL));
        sandbox.assert_no_survivors(&tree);
    }
    if !mechanisms().contains(&Mechanism::Cgroup) {
        return;
    }
    // Killed: only the cgroup still holds the session.
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let session = registry.start(
        &sandbox,
        &[
            "--name",
            "k",
            "--cgroup",
            "require",
            "--",
            "sh",
            "-c",
            SPINNING_TREE,
        ],
    );
    let tree = sandbox.wait_for_pids(&["m.pid".into(), "g.pid".into()]);
    let id = registry.id_of("k");
    session.signal(Signal::SIGKILL);
    session.finish();
    assert_eq!(registry.list(None)[0]["state"], "stale");
    let said = registry.ctl_ok(&["stop", &id]);
    assert!(
        said.contains("through its cgroup") && said.contains("gone"),
        "{said}"
    );
    assert!(all_gone(&tree), "the session outlived stop");
    assert!(registry.list(None).is_empty(), "the stale entry is removed");
    // Orphans of the dead leash: their zombies are their new parent's to reap.
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn stop_says_what_it_cannot_do_without_supervisor_cgroup_or_namespace() {
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let session = registry.start(
        &sandbox,
        &[
            "--name",
            "n",
            "--cgroup",
            "off",
            "--",
            "sh",
            "-c",
            SPINNING_TREE,
        ],
    );
    let tree = sandbox.wait_for_pids(&["m.pid".into(), "g.pid".into()]);
    let id = registry.id_of("n");
    session.signal(Signal::SIGKILL);
    session.finish();
    let output = registry.ctl(None, &["stop", &id]);
    assert_eq!(output.status.code(), Some(3));
    let said = text(&output.stderr);
    assert!(
        said.contains("neither a cgroup nor a PID namespace")
            && said.contains("nothing was stopped"),
        "{said}"
    );
    // The main process dies with leash (its parent-death signal); the detached
    // grandchild is what nothing can find now.
    assert!(tree[1].runs(), "it said it stopped nothing");
    assert_eq!(registry.list(None)[0]["state"], "stale");
    // The next session of the same user cleans the stale entry.
    let next = registry.start(&sandbox, &["--", "true"]);
    assert!(next.finish().status.success());
    assert!(
        registry.list(None).is_empty(),
        "the stale entry is still listed"
    );
    // The sandbox kills them by PID when it is dropped.
    for process in &tree {
        let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
    }
}

#[test]
fn stop_of_a_pid_namespace_whose_supervisor_was_killed_finds_it_ended() {
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let session = registry.start(
        &sandbox,
        &[
            "--name",
            "p",
            "--pid-ns",
            "--cgroup",
            "off",
            "--",
            "sh",
            "-c",
            SPINNING_TREE,
        ],
    );
    // The PIDs the session writes are its namespace's: wait for them, track by marker.
    sandbox.wait_for_file("g.pid");
    let id = registry.id_of("p");
    session.signal(Signal::SIGKILL);
    session.finish();
    let said = registry.ctl_ok(&["stop", &id]);
    assert!(said.contains("ended with its supervisor"), "{said}");
    assert!(registry.list(None).is_empty());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sandbox.survivors().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the namespace outlived its supervisor"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_ordinary_user_can_neither_see_nor_stop_roots_session_nor_forge_one() {
    let Some(user_sandbox) = Sandbox::unprivileged() else {
        return;
    };
    let user = user_sandbox.user();
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (root_session, root_command) = registry.start_sleeper(&sandbox, "r");
    let (own, _) = registry.start_sleeper(&user_sandbox, "u");
    let root_id = registry.id_of("r");
    for action in ["stop", "freeze", "thaw", "show"] {
        let output = registry.ctl(user, &[action, &root_id]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{action}: {}",
            text(&output.stderr)
        );
        assert!(text(&output.stderr).contains("no session"), "{action}");
    }
    assert!(root_command.runs(), "root's session still runs");
    // An entry the user writes into their own registry, naming root's supervisor (as
    // theirs, or as root's), is no session: not for the user, not for root.
    let root_entry = fs::read_dir(registry.runtime_dir(None).join("leash/sessions"))
        .expect("root's registry")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .expect("root's entry");
    let their_dir = registry.runtime_dir(user).join("leash/sessions");
    let (uid, gid) = user.expect("a user");
    for claimed_uid in [uid, 0] {
        let mut forged: Value =
            serde_json::from_slice(&fs::read(root_entry.path()).expect("entry")).expect("JSON");
        forged["uid"] = claimed_uid.into();
        forged["name"] = "forged".into();
        let path = their_dir.join(root_entry.file_name());
        let write = Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={gid}"),
                "--clear-groups",
                "tee",
            ])
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .and_then(|mut tee| {
                std::io::Write::write_all(
                    tee.stdin.as_mut().expect("stdin"),
                    forged.to_string().as_bytes(),
                )?;
                drop(tee.stdin.take());
                tee.wait()
            })
            .expect("write the forged entry");
        assert!(write.success());
        let theirs: Vec<Value> = registry.list(user);
        assert!(theirs.iter().all(|r| r["name"] == "u"), "{theirs:#?}");
        let all: Vec<Value> = registry.list(None);
        assert!(all.iter().all(|r| r["name"] != "forged"), "{all:#?}");
        assert_eq!(all.len(), 2);
    }
    let own_id = registry.list(user)[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let output = registry.ctl(user, &["stop", &own_id]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(own.finish().signal(), Some(libc::SIGTERM));
    registry.ctl_ok(&["stop", &root_id]);
    assert_eq!(root_session.finish().signal(), Some(libc::SIGTERM));
    sandbox.assert_no_survivors(&[root_command]);
    user_sandbox.assert_no_survivors(&[]);
}

#[test]
fn bash_completes_the_ids_of_running_sessions() {
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (session, _) = registry.start_sleeper(&sandbox, "c");
    let id = registry.id_of("c");
    let bin = PathBuf::from(LEASHCTL);
    let script = format!(
        "source {}/completions/leashctl.bash; COMP_WORDS=(leashctl freeze ''); COMP_CWORD=2; \
         COMP_LINE='leashctl freeze '; COMP_POINT=${{#COMP_LINE}}; _leashctl leashctl '' freeze; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .envs(registry.env(None))
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.parent().expect("dir").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("bash");
    assert!(
        text(&output.stdout).lines().any(|l| l == id),
        "{}",
        text(&output.stdout)
    );
    registry.ctl_ok(&["stop", &id]);
    session.finish();
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn under_write_the_session_cannot_remove_its_own_entry() {
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    // Writable: a directory of its own, not the registry (which lies in the sandbox).
    let work = sandbox.path("work");
    fs::create_dir(&work).expect("work dir");
    let dir = work.to_str().expect("path").to_string();
    // leash writes the entry once the command runs: wait for it, then try.
    let line = "entries=\"$XDG_RUNTIME_DIR\"/leash/sessions; \
                until ls \"$entries\"/*.json >/dev/null 2>&1; do sleep 0.01; done; \
                rm -f \"$entries\"/*; echo $? > work/rm.status; echo $$ > work/w.pid; exec sleep 300";
    let session = registry.start(
        &sandbox,
        &["--name", "w", "--write", &dir, "--", "sh", "-c", line],
    );
    sandbox.wait_for_pids(&["work/w.pid".into()]);
    let status = fs::read_to_string(sandbox.path("work/rm.status")).expect("rm's status");
    assert_ne!(status.trim(), "0", "rm removed the entry");
    let id = registry.id_of("w");
    registry.ctl_ok(&["stop", &id]);
    assert_eq!(session.finish().signal(), Some(libc::SIGTERM));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn list_watch_redraws_on_a_terminal_and_quits_on_q() {
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (session, _) = registry.start_sleeper(&sandbox, "watched");
    let tty = sandbox.path("tty");
    let mut watch = Command::new("script")
        .args(["-qec", &format!("{LEASHCTL} list --watch"), "/dev/null"])
        .envs(registry.env(None))
        .stdin(Stdio::piped())
        .stdout(fs::File::create(&tty).expect("tty file"))
        .spawn()
        .expect("script(1)");
    // Two redraws: the table twice, each after a clear of the screen.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fs::read_to_string(&tty)
        .unwrap_or_default()
        .matches("watched")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "no redraw");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::io::Write::write_all(watch.stdin.as_mut().expect("stdin"), b"q").expect("type q");
    let status = common::wait_within(&mut watch, Duration::from_secs(10));
    assert!(status.success());
    let shown = fs::read_to_string(&tty).expect("tty");
    assert!(
        shown.contains("\x1b[?1049h") && shown.contains("\x1b[?1049l"),
        "{shown:?}"
    );
    registry.ctl_ok(&["stop", &registry.id_of("watched")]);
    session.finish();
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn leash_as_timeout_writes_no_entry() {
    // The personality costs what GNU timeout costs: no registry entry (README, Files).
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (plain, _) = registry.start_sleeper(&sandbox, "plain");
    let mut command = sandbox.shell_with_links("echo $$ > t.pid; exec timeout 60 sleep 300");
    command.envs(registry.env(sandbox.user()));
    let personality = sandbox.start_prepared(command, "");
    let timeout = sandbox.wait_for_pids(&["t.pid".into()]).remove(0);
    // Its command started: whatever it registers is written by now.
    let children = format!("/proc/{0}/task/{0}/children", timeout.pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    while fs::read_to_string(&children)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "timeout never started sleep");
        std::thread::sleep(Duration::from_millis(10));
    }
    let names: Vec<Value> = registry
        .list(None)
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [Value::from("plain")]);
    for session in [plain, personality] {
        session.signal(Signal::SIGTERM);
        let _ = session.finish();
    }
    sandbox.assert_no_survivors(&[]);
}

/// `leashctl ARGS` as root in `registry`, given 10 s: its output, and how long it took.
fn ctl_within(registry: &Registry, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(LEASHCTL)
        .args(args)
        .envs(registry.env(None))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run leashctl");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("leashctl {args:?} still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().expect("output"), started.elapsed())
}

#[test]
fn a_hostile_users_planted_registry_leaves_roots_leashctl_answering_and_touching_nothing() {
    // Issue 31, acceptance 2 (items 1, 2 and 6 together): a second user, made for the
    // test, plants a FIFO and a 3 GiB sparse file as entries, symlinks to root's files,
    // a FIFO as their live session's figures, and rewrites their live entry to name
    // root's cgroups. Root's list, show, freeze, thaw and stop each answer within 2 s,
    // and no file or process of root's is touched.
    let Some(user_sandbox) = Sandbox::unprivileged() else {
        return;
    };
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (session, command) = registry.start_sleeper(&user_sandbox, "planted");
    let id = registry.id_of("planted");
    let (sessions, entry) = registry.only_entry(user_sandbox.user());
    let roots_file = sandbox.path("roots-file");
    fs::write(&roots_file, "root's own\n").expect("root's file");
    let victim = roots_cgroup_with_a_process(&sandbox, "victim");
    if let Some((victim, ..)) = &victim {
        let mut forged: Value =
            serde_json::from_str(&fs::read_to_string(&entry).expect("the entry")).expect("JSON");
        forged["cgroups"] = serde_json::json!([{"version": 2, "path": victim, "controllers": []}]);
        fs::write(entry.with_extension("tmp"), forged.to_string()).expect("the forged entry");
    }
    let figures = entry.with_extension("figures");
    let _ = fs::remove_file(&figures);
    common::make_fifo(&figures);
    common::make_fifo(&sessions.join("x.1.1.json"));
    let huge = fs::File::create(sessions.join("y.2.2.json")).expect("a file");
    huge.set_len(3 << 30).expect("a sparse 3 GiB");
    std::os::unix::fs::symlink(&roots_file, sessions.join("z.3.3.json")).expect("a link");
    std::os::unix::fs::symlink(&roots_file, entry.with_extension("events")).expect("a link");
    let (uid, gid) = user_sandbox.user().expect("the test user");
    for planted in fs::read_dir(&sessions).expect("their registry").flatten() {
        let path = planted.path();
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid)).expect("chown");
    }
    if victim.is_some() {
        fs::rename(entry.with_extension("tmp"), &entry).expect("the live entry rewritten");
    }
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["show", &id],
        &["freeze", &id],
        &["thaw", &id],
    ] {
        let (_, took) = ctl_within(&registry, args);
        assert!(took < Duration::from_secs(2), "{args:?} took {took:?}");
    }
    let listed = text(&ctl_within(&registry, &["list", "--ids"]).0.stdout);
    assert_eq!(listed.trim(), id, "only the real session is listed");
    // Its events file is a link to root's file: root wrote no request through it (its
    // freeze was refused in one line). Once the user removes it, root stops the session.
    fs::remove_file(entry.with_extension("events")).expect("the link");
    let (stopped, took) = ctl_within(&registry, &["stop", &id]);
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert_eq!(session.finish().signal(), Some(libc::SIGTERM));
    assert_eq!(fs::read_to_string(&roots_file).unwrap(), "root's own\n");
    if let Some((victim, mut child, process)) = victim {
        let frozen = fs::read_to_string(victim.join("cgroup.freeze")).unwrap_or_default();
        assert_eq!(frozen.trim(), "0", "root's cgroup was frozen");
        assert!(process.runs(), "root's process was killed");
        let _ = child.kill();
        let _ = child.wait();
    }
    user_sandbox.assert_no_survivors(&[command]);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn root_writes_no_request_through_a_users_planted_symlink() {
    // Issue 31, item 2: the user owns the directory of their session's entry, and turned
    // its events file into a link to a file of root's; root's freeze appended to it.
    let Some(user_sandbox) = Sandbox::unprivileged() else {
        return;
    };
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (session, _) = registry.start_sleeper(&user_sandbox, "linked");
    let id = registry.id_of("linked");
    let (_, entry) = registry.only_entry(user_sandbox.user());
    let roots = sandbox.path("roots-file");
    fs::write(&roots, "root's own\n").expect("root's file");
    let events = entry.with_extension("events");
    let _ = fs::remove_file(&events);
    std::os::unix::fs::symlink(&roots, &events).expect("the planted link");
    let frozen = registry.ctl(None, &["freeze", &id]);
    assert_eq!(
        fs::read_to_string(&roots).expect("root's file"),
        "root's own\n",
        "freeze wrote through the link: {}",
        text(&frozen.stderr)
    );
    // Said, in one line, and nothing was frozen without its record.
    assert!(!frozen.status.success(), "{}", text(&frozen.stdout));
    assert_eq!(
        text(&frozen.stderr).lines().count(),
        1,
        "{}",
        text(&frozen.stderr)
    );
    // Without the link, root's request is the user's to read: a file of theirs.
    fs::remove_file(&events).expect("the link");
    registry.ctl_ok(&["freeze", &id]);
    registry.ctl_ok(&["thaw", &id]);
    let (uid, _) = user_sandbox.user().expect("the test user");
    let owner = std::os::unix::fs::MetadataExt::uid(&fs::metadata(&events).expect("events"));
    assert_eq!(
        owner, uid,
        "root's request is in a file of the session's user"
    );
    registry.ctl_ok(&["stop", &id]);
    assert_eq!(session.finish().signal(), Some(libc::SIGTERM));
    user_sandbox.assert_no_survivors(&[]);
}

/// A cgroup v2 directory below the test's outer cap, made by root, holding a process of
/// root's (marked, so the sandbox finds it): the victim of a forged entry. `None` where
/// the cap has no v2 cgroup.
fn roots_cgroup_with_a_process(
    sandbox: &Sandbox,
    name: &str,
) -> Option<(PathBuf, std::process::Child, Tracked)> {
    let cap = sandbox
        .cap_cgroups()
        .iter()
        .find(|dir| dir.join("cgroup.kill").exists())?;
    let victim = cap.join(name);
    fs::create_dir(&victim).expect("root's cgroup");
    let line = format!(
        "echo $$ > {}/cgroup.procs; echo $$ > {name}.pid; exec sleep 300",
        victim.display()
    );
    let mut command = sandbox.capped("sh");
    command.args(["-c", &line]).stdin(Stdio::null());
    let child = command.spawn().expect("root's process");
    let process = sandbox.wait_for_pids(&[format!("{name}.pid")]).remove(0);
    Some((victim, child, process))
}

#[test]
fn root_acts_on_no_cgroup_a_users_entry_names_that_their_session_did_not_make() {
    // Issue 31, item 1: a user rewrote their live session's entry to name root's cgroups;
    // root's freeze froze them and stop (of the stopped supervisor) killed their
    // processes.
    let Some(user_sandbox) = Sandbox::unprivileged() else {
        return;
    };
    let sandbox = Sandbox::new();
    let Some((victim, mut root_child, roots)) = roots_cgroup_with_a_process(&sandbox, "victim")
    else {
        return;
    };
    let registry = Registry::new(&sandbox);
    let (session, command) = registry.start_sleeper(&user_sandbox, "forged");
    let id = registry.id_of("forged");
    let (_, entry) = registry.only_entry(user_sandbox.user());
    // Named as the session's own would be, but root's: the name alone proves nothing.
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    let [_, pid, start, _] = name.splitn(4, '.').collect::<Vec<_>>()[..] else {
        panic!("entry name {name}");
    };
    let (look_alike, mut root_child_too, roots_too) =
        roots_cgroup_with_a_process(&sandbox, &format!("leash-{pid}-{start}"))
            .expect("a second cgroup of root's");
    let mut forged: Value =
        serde_json::from_str(&fs::read_to_string(&entry).expect("the entry")).expect("JSON");
    forged["cgroups"] = serde_json::json!([
        {"version": 2, "path": victim, "controllers": []},
        {"version": 2, "path": look_alike, "controllers": ["pids"]},
    ]);
    // Rewritten as the user would: their file, in their directory.
    let (uid, gid) = user_sandbox.user().expect("the test user");
    let rewritten = entry.with_extension("tmp");
    fs::write(&rewritten, forged.to_string()).expect("the forged entry");
    nix::unistd::chown(&rewritten, Some(uid.into()), Some(gid.into())).expect("chown");
    fs::rename(&rewritten, &entry).expect("rename");
    let frozen = |dir: &PathBuf| fs::read_to_string(dir.join("cgroup.freeze")).unwrap_or_default();
    registry.ctl_ok(&["freeze", &id]);
    assert_eq!(frozen(&victim).trim(), "0", "root's cgroup was frozen");
    assert_eq!(frozen(&look_alike).trim(), "0", "root's cgroup was frozen");
    registry.ctl_ok(&["thaw", &id]);
    // The supervisor stopped: stop acts directly, and must end only the user's session.
    session.signal(Signal::SIGSTOP);
    wait_until_stopped(session.pid());
    registry.ctl_ok(&["stop", &id]);
    assert!(
        roots.runs() && roots_too.runs(),
        "root's processes were killed"
    );
    // Killed (SIGKILL) by then, gone soon after: as the stopped-supervisor test waits.
    assert!(all_gone(&[command]), "the user's session outlived stop");
    session.signal(Signal::SIGCONT);
    let _ = session.finish();
    for child in [&mut root_child, &mut root_child_too] {
        let _ = child.kill();
        let _ = child.wait();
    }
    sandbox.assert_no_survivors(&[]);
    user_sandbox.assert_no_survivors(&[command]);
}

#[test]
fn a_leash_in_another_pid_namespace_leaves_the_live_sessions_listed() {
    // Issue 31, item 7: a leash whose PIDs are another namespace's took every entry for
    // stale (their supervisors' PIDs name nothing there) and deleted them.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let (session, command) = registry.start_sleeper(&sandbox, "outside");
    let id = registry.id_of("outside");
    let mut inside = sandbox.capped("unshare");
    inside
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c"])
        .arg(format!(
            "{} --name inside -- true",
            env!("CARGO_BIN_EXE_leash")
        ))
        .envs(registry.env(None))
        .stdin(Stdio::null());
    let output = inside.output().expect("unshare");
    assert!(output.status.success(), "{}", text(&output.stderr));
    // Seen from there, the outside session is one it cannot reach, not a stale one.
    let rows = registry.list(None);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["state"], "running");
    registry.ctl_ok(&["stop", &id]);
    assert_eq!(session.finish().signal(), Some(libc::SIGTERM));
    sandbox.assert_no_survivors(&[command]);
}

#[test]
fn roots_requests_are_in_the_users_record_and_its_stop_as_asked() {
    // Issue 31, item 8: after root's freeze, thaw and `stop -s INT -k 1s` of a user's
    // session, its report had no control lines and 0 frozen seconds, and the stop was
    // a plain TERM with the default grace.
    let Some(user_sandbox) = Sandbox::unprivileged() else {
        return;
    };
    let registry = Registry::new(&user_sandbox);
    let report = user_sandbox.path("report.json");
    let session = registry.start(
        &user_sandbox,
        &[
            "--name",
            "asked",
            "--report",
            report.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "trap 'echo got INT; exit 3' INT; echo $$ > asked.pid; \
             while :; do sleep 0.1; done",
        ],
    );
    let command = user_sandbox.wait_for_pids(&["asked.pid".into()]);
    let id = registry.id_of("asked");
    registry.ctl_ok(&["freeze", &id]);
    std::thread::sleep(Duration::from_millis(500));
    registry.ctl_ok(&["thaw", &id]);
    registry.ctl_ok(&["stop", "-s", "INT", "-k", "1s", &id]);
    let finished = session.finish();
    assert_eq!(finished.stdout, "got INT\n", "{}", finished.stderr);
    let report = user_sandbox.json("report.json");
    let asked: Vec<&str> = report["control"]
        .as_array()
        .expect("control")
        .iter()
        .map(|event| event["action"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(asked, ["freeze", "thaw", "stop"], "{report:#}");
    let stop = &report["control"][2];
    assert_eq!(
        (
            &stop["signal"],
            &stop["kill_after_seconds"],
            &stop["by_uid"]
        ),
        (&Value::from("INT"), &Value::from(1.0), &Value::from(0)),
        "{report:#}"
    );
    let frozen = report["frozen_seconds"].as_f64().expect("frozen_seconds");
    assert!(frozen >= 0.4, "{report:#}");
    user_sandbox.assert_no_survivors(&command);
}

#[test]
fn list_and_show_escape_what_a_terminal_would_act_on() {
    // Issue 31, item 12: escape sequences in a session's command reached the terminal of
    // whoever listed it (root, for every user's sessions).
    let sandbox = Sandbox::new();
    let registry = Registry::new(&sandbox);
    let session = registry.start(
        &sandbox,
        &[
            "--name",
            "esc",
            "--",
            "sh",
            "-c",
            "echo $$ > esc.pid; exec sleep 300",
            "\u{1b}[2J\u{9b}31m\nfake-row",
        ],
    );
    let command = sandbox.wait_for_pids(&["esc.pid".into()]);
    let id = registry.id_of("esc");
    for args in [&["list"][..], &["show", &id]] {
        let shown = registry.ctl_ok(args);
        assert!(
            !shown.contains(['\u{1b}', '\u{9b}']) && !shown.contains("\nfake-row"),
            "{args:?}: {shown}"
        );
        assert!(
            shown.contains("\\x1b[2J\\u{9b}31m\\nfake-row"),
            "{args:?}: {shown}"
        );
    }
    registry.ctl_ok(&["stop", &id]);
    let _ = session.finish();
    sandbox.assert_no_survivors(&command);
}
