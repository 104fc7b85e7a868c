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
