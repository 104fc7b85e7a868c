//! Concurrency slots and start rates (the profiles issue): shared across leash processes
//! through the runtime directory, freed by a leash that dies.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::Sandbox;
use nix::sys::signal::Signal;

/// `leash ARGS` with the sandbox as the runtime directory.
fn leash(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut command = sandbox.leash(args);
    command.env("XDG_RUNTIME_DIR", sandbox.dir());
    command
}

/// The sleepers' own start and end times, from the files they wrote.
fn intervals(sandbox: &Sandbox) -> Vec<(f64, f64)> {
    let read = |name: String| -> f64 {
        std::fs::read_to_string(sandbox.path(&name))
            .expect("a sleeper's time file")
            .trim()
            .parse()
            .expect("a time")
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(sandbox.dir())
        .expect("the sandbox")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_prefix("start.") {
            found.push((read(name.clone()), read(format!("end.{id}"))));
        }
    }
    found
}

#[test]
fn slots_hold_the_number_of_sessions_at_once() {
    let sandbox = Sandbox::new();
    let work = "date +%s.%N > start.$$; sleep 0.5; date +%s.%N > end.$$";
    let runs: Vec<_> = (0..8)
        .map(|_| {
            leash(&sandbox, &["--slots", "t:2", "--", "sh", "-c", work])
                .spawn()
                .expect("leash")
        })
        .collect();
    for mut run in runs {
        assert!(run.wait().unwrap().success());
    }
    let spans = intervals(&sandbox);
    assert_eq!(spans.len(), 8);
    let most = spans
        .iter()
        .map(|&(start, _)| {
            spans
                .iter()
                .filter(|&&(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap();
    assert!(most <= 2, "{most} sessions ran at once: {spans:?}");
}

#[test]
fn a_killed_holder_frees_its_slot() {
    let sandbox = Sandbox::new();
    let holder = leash(
        &sandbox,
        &[
            "--slots",
            "k:1",
            "--",
            "sh",
            "-c",
            "echo $$ > held; exec sleep 100",
        ],
    )
    .spawn()
    .expect("leash");
    let held = sandbox.wait_for_pids(&["held".into()]);
    let refused = leash(&sandbox, &["--slots", "k:1", "--no-wait", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(75));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "leash: --slots: all 1 slots of 'k' are taken\n"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(holder.id()).unwrap()),
        Signal::SIGKILL,
    )
    .unwrap();
    let mut holder = holder;
    holder.wait().unwrap();
    let next = leash(
        &sandbox,
        &["--slots", "k:1", "--slot-timeout", "5s", "--", "true"],
    )
    .output()
    .unwrap();
    assert_eq!(
        next.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    // The holder's command died with it (PR_SET_PDEATHSIG).
    let deadline = Instant::now() + Duration::from_secs(5);
    while held[0].runs() {
        assert!(Instant::now() < deadline, "the holder's command survived");
        std::thread::sleep(Duration::from_millis(10));
    }
    // (A zombie until init reaps it: leash, its reaper, is gone.)
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn a_rate_spaces_the_starts() {
    let sandbox = Sandbox::new();
    for _ in 0..6 {
        let run = leash(
            &sandbox,
            &[
                "--rate",
                "t:3/2s",
                "--",
                "sh",
                "-c",
                "date +%s.%N >> starts",
            ],
        )
        .output()
        .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let starts: Vec<f64> = std::fs::read_to_string(sandbox.path("starts"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(starts.len(), 6);
    // The first three start at once; the fourth waits for the first to leave the period.
    assert!(starts[2] - starts[0] < 1.0, "{starts:?}");
    assert!(starts[3] - starts[0] >= 1.95, "{starts:?}");
    let refused = leash(&sandbox, &["--rate", "t:3/2s", "--no-wait", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(75));
}

#[test]
fn only_a_busy_slot_is_try_later_and_a_broken_one_is_125() {
    let sandbox = Sandbox::new();
    // A key too long to name a file: refused when the command line is read.
    let long = format!("{}:1", "k".repeat(300));
    let run = sandbox.run(&["--slots", &long, "--no-wait", "--", "touch", "ran"]);
    assert_eq!(run.code(), Some(125), "{}", run.stderr);
    assert!(
        run.stderr.contains("--slots") && run.stderr.contains("at most 200"),
        "{}",
        run.stderr
    );
    // A runtime directory in which leash's cannot be made: a permanent error, not "try
    // later". (One that does not exist is not used at all.)
    let mut command = sandbox.leash(&["--slots", "k:1", "--no-wait", "--", "touch", "ran"]);
    command.env("XDG_RUNTIME_DIR", "/proc");
    let output = command.output().expect("leash");
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("leash: --slots: /proc/leash/slots: "),
        "{stderr}"
    );
    assert!(!sandbox.path("ran").exists());
}

#[test]
fn another_users_runtime_directory_is_refused() {
    // Root's leash, and a runtime directory made by another user: its locks are theirs.
    // (No test user where the tests do not run as root.)
    let Some(other) = common::test_user() else {
        return;
    };
    let sandbox = Sandbox::new();
    let planted = sandbox.path("leash");
    std::fs::create_dir(&planted).unwrap();
    nix::unistd::chown(&planted, Some(other.uid), Some(other.gid)).unwrap();
    let output = leash(&sandbox, &["--slots", "k:1", "--", "touch", "ran"])
        .output()
        .expect("leash");
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "leash: --slots: {}: belongs to another user",
            planted.display()
        )),
        "{stderr}"
    );
    assert!(!sandbox.path("ran").exists());
}

#[test]
fn lock_files_are_private_and_never_followed() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let output = leash(&sandbox, &["--slots", "k:1", "--", "true"])
        .output()
        .expect("leash");
    assert!(output.status.success(), "{output:?}");
    let mode = |path: &str| {
        std::fs::metadata(sandbox.path(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("leash/slots/k.0"), 0o600);
    assert_eq!(mode("leash/slots"), 0o700);
    assert_eq!(mode("leash"), 0o700);
    // A link planted where a rate's file goes is not written through.
    let victim = sandbox.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir_all(sandbox.path("leash/rates")).unwrap();
    std::os::unix::fs::symlink(&victim, sandbox.path("leash/rates/api")).unwrap();
    let output = leash(&sandbox, &["--rate", "api:5/1s", "--", "true"])
        .output()
        .expect("leash");
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}
