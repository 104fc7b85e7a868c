//! Least privilege (the profiles-and-privilege issue): the identity the command runs
//! as, no_new_privs, the descriptors and environment it inherits.

use crate::common::Sandbox;

#[test]
fn as_root_user_runs_the_command_as_that_user_with_only_its_group() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--user", "nobody", "--", "sh", "-c", "id -u; id -g; id -G"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let gid = nobody.gid.as_raw();
    assert_eq!(
        run.stdout,
        format!("{}\n{gid}\n{gid}\n", nobody.uid.as_raw())
    );
}

#[test]
fn without_privilege_user_is_refused_before_anything_starts() {
    let Some(sandbox) = Sandbox::unprivileged() else {
        eprintln!("skipped: tests already run unprivileged, or no ordinary user could be made");
        return;
    };
    let run = sandbox.run(&["--user", "root", "--", "touch", "ran"]);
    assert_eq!(run.code(), Some(125), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "leash: --user: only root can run the command as another user or group\n"
    );
    assert!(!sandbox.path("ran").exists());
}

#[test]
fn no_new_privs_is_set_unless_allowed() {
    let sandbox = Sandbox::new();
    let show = "grep NoNewPrivs /proc/self/status";
    let run = sandbox.run(&["--", "sh", "-c", show]);
    assert_eq!(run.stdout, "NoNewPrivs:\t1\n");
    let run = sandbox.run(&["--allow-new-privs", "--", "sh", "-c", show]);
    assert_eq!(run.stdout, "NoNewPrivs:\t0\n");
}

#[test]
fn inherited_descriptors_are_closed_unless_kept() {
    let sandbox = Sandbox::new();
    let leash = env!("CARGO_BIN_EXE_leash");
    let probe = "[ -e /proc/self/fd/5 ] && echo open || echo closed";
    for (flags, expected) in [("", "closed\n"), ("--keep-fd 5", "open\n")] {
        let output = sandbox
            .capped("sh")
            .args([
                "-c",
                &format!("exec 5>fd5; exec {leash} {flags} -- sh -c '{probe}'"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "{flags:?}"
        );
    }
}

#[test]
fn the_environment_directory_and_umask_are_set() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "--env-clear",
        "--env-keep",
        "PATH",
        "--env",
        "GREETING=hello",
        "--chdir",
        "/",
        "--umask",
        "027",
        "--",
        "sh",
        "-c",
        "echo $GREETING ${HOME:-no-home} $(pwd) $(umask)",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "hello no-home / 0027\n");
}

#[test]
fn a_bad_directory_or_niceness_is_one_line_that_names_it() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("no-such-dir");
    let run = sandbox.run(&["--chdir", missing.to_str().unwrap(), "--", "true"]);
    assert_eq!(run.code(), Some(125));
    assert_eq!(
        run.stderr,
        format!(
            "leash: --chdir {}: cannot change directory: ENOENT: No such file or directory\n",
            missing.display()
        )
    );
    let run = sandbox.run(&["--nice", "", "--", "true"]);
    assert_eq!(run.code(), Some(125));
    assert_eq!(
        run.stderr,
        "leash: invalid value '' for '--nice <N>': '' is not a whole number (like 10, or -5)\n"
    );
}
