//! Profiles and config files (the profiles issue): five layers, each overriding the one
//! below, and mistakes that name the file, line and key.

use std::process::Output;

use crate::common;
use crate::common::Sandbox;

/// `leash ARGS` with the system config at `system`, the user's config dir at the
/// sandbox, and `env` set.
fn leash_with(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = sandbox.leash(args);
    command
        .env("LEASH_SYSTEM_CONFIG", sandbox.path("system.toml"))
        .env("XDG_CONFIG_HOME", sandbox.dir());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("leash")
}

#[test]
fn each_layer_overrides_the_one_below() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.path("system.toml"),
        "[profile.interpreter]\nmem = \"1GiB\"\nprocs = 200\nnofile = 500\noutput = \"50MiB\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(sandbox.path("leash")).unwrap();
    std::fs::write(
        sandbox.path("leash/config.toml"),
        "# mine\n[profile.interpreter]\nprocs = 150\nnofile = 400\noutput = \"40MiB\"\n",
    )
    .unwrap();
    let output = leash_with(
        &sandbox,
        &[
            ("LEASH_PROFILE", "interpreter"),
            ("LEASH_NOFILE", "300"),
            ("LEASH_OUTPUT", "35MiB"),
        ],
        &["--output", "30MiB", "--print-config"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .to_string()
    };
    let system = sandbox.path("system.toml");
    let user = sandbox.path("leash/config.toml");
    assert_eq!(line("wall"), "wall = 30m  # built-in profile interpreter");
    assert_eq!(line("mem"), format!("mem = 1GiB  # {}:2", system.display()));
    assert_eq!(
        line("procs"),
        format!("procs = 150  # {}:3", user.display())
    );
    assert_eq!(line("nofile"), "nofile = 300  # environment LEASH_NOFILE");
    assert_eq!(line("output"), "output = 30MiB  # command line");
    assert_eq!(line("signal"), "signal = TERM  # default");
}

#[test]
fn a_malformed_file_names_the_file_line_and_key() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.path("bad.toml"),
        "wall = \"5m\"\n\n[profile.x]\nmem = \"lots\"\n",
    )
    .unwrap();
    let bad = sandbox.path("bad.toml");
    let output = leash_with(
        &sandbox,
        &[],
        &[
            "--config",
            bad.to_str().unwrap(),
            "--profile",
            "x",
            "--",
            "touch",
            "ran",
        ],
    );
    assert_eq!(output.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("leash: {}:4: mem: ", bad.display())),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!sandbox.path("ran").exists());

    std::fs::write(sandbox.path("bad.toml"), "wal = \"5m\"\n").unwrap();
    let output = leash_with(
        &sandbox,
        &[],
        &["--config", bad.to_str().unwrap(), "--", "true"],
    );
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("leash: {}:1: unknown key 'wal'\n", bad.display())
    );
}

#[test]
fn the_interpreter_profile_is_built_in_and_explained() {
    let sandbox = Sandbox::new();
    let output = leash_with(
        &sandbox,
        &[],
        &["--profile", "interpreter", "--explain", "--", "true"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    for limit in [
        "wall ",
        "mem ",
        "procs ",
        "disk-write ",
        "output ",
        "idle ",
        "rlimit fsize ",
        "rlimit nofile ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(limit)),
            "no {limit:?} in {text}"
        );
    }
    let unknown = leash_with(&sandbox, &[], &["--profile", "nope", "--", "true"]);
    assert_eq!(unknown.status.code(), Some(125));
}

#[test]
fn only_the_command_line_asks_for_explain() {
    let sandbox = Sandbox::new();
    // From the environment: not a setting, refused before the command runs.
    let output = leash_with(&sandbox, &[("LEASH_EXPLAIN", "1")], &["--", "touch", "ran"]);
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "leash: LEASH_EXPLAIN: only the command line can ask for --explain\n"
    );
    assert!(!sandbox.path("ran").exists(), "the command ran");
    // From a file: an error naming the place.
    std::fs::write(sandbox.path("c.toml"), "explain = true\n").unwrap();
    let file = sandbox.path("c.toml");
    let output = leash_with(
        &sandbox,
        &[],
        &["--config", file.to_str().unwrap(), "--", "true"],
    );
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "leash: {}:1: 'explain' is not a setting: only the command line can ask for --explain\n",
            file.display()
        )
    );
}

#[test]
fn a_config_file_that_is_not_there_is_an_error() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("missing.toml");
    std::os::unix::fs::symlink(sandbox.path("nowhere"), sandbox.path("dangling.toml")).unwrap();
    for path in [missing, sandbox.path("dangling.toml")] {
        let output = leash_with(
            &sandbox,
            &[],
            &["--config", path.to_str().unwrap(), "--", "touch", "ran"],
        );
        assert_eq!(output.status.code(), Some(125), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr,
            format!(
                "leash: --config {}: No such file or directory (os error 2)\n",
                path.display()
            )
        );
        assert!(!sandbox.path("ran").exists());
    }
}

#[test]
fn a_config_file_must_be_a_small_regular_file() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.path("fifo.toml");
    common::make_fifo(&fifo);
    let big = sandbox.path("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(2 << 20))).unwrap();
    let mut cases = vec![(fifo, "not a regular file"), (big, "larger than 1 MiB")];
    // A device that never ends, made in the sandbox (as /dev/zero is).
    let zero = sandbox.path("zero");
    let made = common::make_device(&zero, 1, 5);
    if made {
        cases.push((zero, "not a regular file"));
    }
    for (path, why) in cases {
        let mut command =
            sandbox.leash(&["--config", path.to_str().unwrap(), "--", "touch", "ran"]);
        command.env("LEASH_SYSTEM_CONFIG", sandbox.path("system.toml"));
        // Into a file, and waited for with a bound: a FIFO used to hang leash for good.
        let stderr = sandbox.path("stderr");
        command.stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = command.spawn().expect("leash");
        let status = common::wait_within(&mut child, std::time::Duration::from_secs(20));
        assert_eq!(status.code(), Some(125));
        assert_eq!(
            std::fs::read_to_string(&stderr).unwrap(),
            format!("leash: --config {}: {why}\n", path.display())
        );
        assert!(!sandbox.path("ran").exists());
    }
}

/// Environment variables to set.
type Env<'a> = &'a [(&'a str, &'a str)];

/// leash's status and stderr for `args` with `env` set, and whether the command ran.
fn attempt(sandbox: &Sandbox, env: Env, args: &[&str]) -> (Option<i32>, String, bool) {
    let mut all = args.to_vec();
    if !all.contains(&"--") {
        all.extend(["--", "sh", "-c", "touch ran"]);
    }
    let output = leash_with(sandbox, env, &all);
    let ran = sandbox.path("ran").exists();
    let _ = std::fs::remove_file(sandbox.path("ran"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr, ran)
}

#[test]
fn a_higher_layer_replaces_what_it_clashes_with_below() {
    let sandbox = Sandbox::new();
    // --quiet on the command line replaces LEASH_VERBOSE: no clash, and quiet it is.
    let (code, stderr, ran) = attempt(
        &sandbox,
        &[("LEASH_VERBOSE", "1")],
        &["-q", "--wall", "1s", "--", "sleep", "5"],
    );
    assert_eq!((code, ran), (Some(124), false), "{stderr}");
    assert_eq!(stderr, "");
    // --rlimit nofile= replaces the profile's nofile, and nofile replaces a lower
    // --rlimit nofile=.
    for (env, args, limit) in [
        (
            vec![],
            vec!["--profile", "interpreter", "--rlimit", "nofile=200"],
            "200",
        ),
        (
            vec![("LEASH_RLIMIT", "nofile=300")],
            vec!["--nofile", "100"],
            "100",
        ),
        (
            vec![("LEASH_NOFILE", "300")],
            vec!["--rlimit", "nofile=150"],
            "150",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--", "sh", "-c", "ulimit -n"]);
        let output = leash_with(&sandbox, &env, &all);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert_eq!(stdout.trim(), limit, "{env:?} {args:?}");
    }
}

#[test]
fn a_leash_variable_of_someone_elses_is_ignored_and_named_under_verbose() {
    // Issue 34: any unknown LEASH_ name made leash refuse to run, so a script's own
    // LEASH_BIN broke every session it started.
    let sandbox = Sandbox::new();
    let (code, stderr, ran) = attempt(&sandbox, &[("LEASH_BIN", "/opt/leash")], &[]);
    assert_eq!((code, ran, stderr.as_str()), (Some(0), true, ""));
    let (code, stderr, ran) = attempt(&sandbox, &[("LEASH_BIN", "/opt/leash")], &["-v"]);
    assert_eq!((code, ran), (Some(0), true), "{stderr}");
    assert!(
        stderr.starts_with("leash: LEASH_BIN: not a setting of leash's, ignored\n"),
        "{stderr}"
    );
}

#[test]
fn input_that_would_be_ignored_is_refused_naming_it() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("picks.toml"), "profile = \"interpreter\"\n").expect("a file");
    let refused: [(Env, &[&str], &str); 9] = [
        (
            &[],
            &["--config", "picks.toml"],
            "picks.toml:1: 'profile' at the top level picks no profile",
        ),
        (
            &[("LEASH_WAL", "5s")],
            &[],
            "LEASH_WAL: no such setting; did you mean LEASH_WALL?",
        ),
        (
            &[("LEASH_MEMORY", "1G")],
            &[],
            "LEASH_MEMORY: no such setting; did you mean LEASH_MEM?",
        ),
        (
            &[("LEASH_EXPLAIN", "1")],
            &[],
            "LEASH_EXPLAIN: only the command line can ask for --explain",
        ),
        (
            &[],
            &["--no-wait"],
            "--no-wait does nothing: there is no --slots or --rate",
        ),
        (
            &[],
            &["--slot-timeout", "5s"],
            "--slot-timeout does nothing: there is no --slots",
        ),
        (
            &[],
            &["--env-keep", "HOME"],
            "--env-keep does nothing: without --env-clear",
        ),
        (
            &[],
            &["--warn", "0.5"],
            "--warn does nothing: there is no session limit",
        ),
        (
            &[],
            &["--procs", "99999999"],
            "--procs 99999999: above the kernel's pid_max",
        ),
    ];
    for (env, args, says) in refused {
        let (code, stderr, ran) = attempt(&sandbox, env, args);
        assert_eq!((code, ran), (Some(125), false), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("leash: {says}")) && stderr.lines().count() == 1,
            "{env:?} {args:?}: {stderr}"
        );
    }
    // From a lower layer the same settings are defaults for the sessions that use them.
    let (code, stderr, ran) = attempt(
        &sandbox,
        &[("LEASH_NO_WAIT", "1"), ("LEASH_WARN", "0.5")],
        &[],
    );
    assert_eq!((code, ran), (Some(0), true), "{stderr}");
}

#[test]
fn a_toml_mistake_names_its_line() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("bad.toml"), "wall = \"5m\"\nmem = \n").expect("a file");
    let (code, stderr, ran) = attempt(&sandbox, &[], &["--config", "bad.toml"]);
    assert_eq!((code, ran), (Some(125), false), "{stderr}");
    assert!(stderr.starts_with("leash: bad.toml:2: "), "{stderr}");
}
