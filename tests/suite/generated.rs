//! The checked-in man page and completions are what the generator makes now.

use std::process::Command;

#[test]
fn man_page_and_completions_match_the_cli_definition() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (what, file) in [
        ("man", "man/leash.1"),
        ("bash", "completions/leash.bash"),
        ("zsh", "completions/_leash"),
        ("fish", "completions/leash.fish"),
        ("timeout-man", "man/leash-timeout.1"),
        ("timeout-bash", "completions/timeout.bash"),
        ("timeout-zsh", "completions/_timeout"),
        ("timeout-fish", "completions/timeout.fish"),
        ("prlimit-man", "man/leash-prlimit.1"),
        ("prlimit-bash", "completions/prlimit.bash"),
        ("prlimit-zsh", "completions/_prlimit"),
        ("prlimit-fish", "completions/prlimit.fish"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_leash"))
            .args(["--generate", what])
            .output()
            .unwrap();
        assert!(output.status.success(), "--generate {what} failed");
        let checked_in = std::fs::read(format!("{root}/{file}")).unwrap_or_default();
        assert!(
            output.stdout == checked_in,
            "{file} is out of date with the command line: run .ci/generate and commit the result"
        );
    }
}

#[test]
fn the_man_pages_render_without_warnings() {
    let root = env!("CARGO_MANIFEST_DIR");
    for page in ["leash.1", "leash-timeout.1", "leash-prlimit.1"] {
        let output = Command::new("groff")
            .args(["-ww", "-man", "-z", &format!("{root}/man/{page}")])
            .output()
            .expect("groff (Debian's groff-base) renders man pages");
        assert!(output.status.success(), "groff failed on {page}");
        assert!(
            output.stderr.is_empty(),
            "groff warns on {page}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// What bash completes `words` (the last one partial) to, with leash's completion loaded.
fn bash_completes(words: &str) -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!(
        "source {root}/completions/leash.bash; COMP_LINE='leash {words}'; \
         COMP_WORDS=(leash {words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         COMP_POINT=${{#COMP_LINE}}; \
         _leash leash \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .expect("bash");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_flags_and_their_values() {
    assert!(bash_completes("--me").contains(&"--mem".to_string()));
    assert_eq!(bash_completes("--disk"), ["--disk-write"]);
    let modes = bash_completes("--cgroup ''");
    for mode in ["auto", "require", "off"] {
        assert!(modes.contains(&mode.to_string()), "{modes:?}");
    }
}
