//! The README's commands run as written: a stale example fails here.

mod common;

use std::time::Duration;

use common::Sandbox;

const README: &str = include_str!("../README.md");

/// Run `leash ARGS` as the README writes the arguments (shell-quoted), in the sandbox.
fn run_as_written(sandbox: &Sandbox, args: &str) -> std::process::Output {
    let leash = env!("CARGO_BIN_EXE_leash");
    sandbox
        .capped("sh")
        .args(["-c", &format!("exec {leash} {args}")])
        .output()
        .expect("sh")
}

#[test]
fn the_fresh_machine_example_stops_the_detached_spinner() {
    let line = README
        .lines()
        .find(|l| l.contains("cargo run --release -- "))
        .expect("the fresh-machine command");
    let args = line
        .split("cargo run --release -- ")
        .nth(1)
        .and_then(|rest| rest.split("; echo").next())
        .expect("leash's arguments in the fresh-machine command");
    let sandbox = Sandbox::new();
    let started = std::time::Instant::now();
    let output = run_as_written(&sandbox, args);
    assert_eq!(output.status.code(), Some(124), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_comparison_with_timeout_shows_what_leash_prints() {
    // The console example: the command after `$ leash ` and the line leash prints.
    let mut lines = README.lines().skip_while(|l| !l.starts_with("$ leash "));
    let command = lines.next().expect("a `$ leash` example");
    let args = command
        .trim_start_matches("$ leash ")
        .split("; echo $?")
        .next()
        .unwrap_or_default();
    let said = lines.next().expect("what leash prints");
    let sandbox = Sandbox::new();
    let output = run_as_written(&sandbox, args);
    assert_eq!(output.status.code(), Some(124), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr).trim_end(), said);
    sandbox.assert_no_survivors(&[]);
}

#[test]
fn the_readme_shows_the_built_in_profile_as_it_is() {
    let profile = leash::config::BUILT_IN.trim_matches('\n');
    assert!(
        README.contains(&format!("```toml\n{profile}\n```")),
        "the README's copy of the interpreter profile differs from src/config.rs"
    );
}
