//! Fuzzing the command line and the config layers (proptest): whatever the arguments and
//! whatever a config file says, parsing returns a value or one line of error, never a
//! panic. CI runs a bounded number of cases; `PROPTEST_CASES=20000 cargo test --lib
//! fuzz` runs more.

use std::ffi::OsString;
use std::fmt::Write as _;

use proptest::prelude::*;

use super::parse;

/// Flags, with and without values: real ones, and near misses.
const FLAGS: [&str; 40] = [
    "--wall",
    "-t",
    "--mem",
    "-m",
    "--cpu",
    "-c",
    "--procs",
    "-p",
    "--disk-write",
    "--output",
    "--idle",
    "--cpu-rate",
    "--cgroup",
    "--signal",
    "-s",
    "--kill-after",
    "-k",
    "--preserve-status",
    "--fsize",
    "--nofile",
    "--stack",
    "--core",
    "--rlimit",
    "--nice",
    "--umask",
    "--env",
    "--env-keep",
    "--env-clear",
    "--warn",
    "--slots",
    "--rate",
    "--network",
    "--write",
    "--read-only",
    "--private-tmp",
    "--profile",
    "--name",
    "-q",
    "-v",
    "--walll",
];

/// Values: ones of the right shape, edge cases and garbage.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1e3".to_string()),
        Just("18446744073709551616".to_string()),
        Just("unlimited".to_string()),
        Just("interpreter".to_string()),
        Just("ports=0,65536".to_string()),
        Just("nofile=1:2".to_string()),
        Just("a:0/0s".to_string()),
        "[0-9]{1,25}(\\.[0-9]{0,5})?(ns|us|ms|s|m|h|d|K|M|G|KiB|GiB|%)?",
        "\\PC{0,12}",
    ]
}

/// A command line: some flags with values, maybe `--`, maybe a command.
fn command_line() -> impl Strategy<Value = Vec<String>> {
    let flag = (
        prop::sample::select(FLAGS.to_vec()),
        prop::option::of(value()),
        any::<bool>(),
    )
        .prop_map(|(flag, value, joined)| match (value, joined) {
            (Some(value), true) => vec![format!("{flag}={value}")],
            (Some(value), false) => vec![flag.to_string(), value],
            (None, _) => vec![flag.to_string()],
        });
    (
        prop::collection::vec(flag, 0..6),
        any::<bool>(),
        prop::option::of("[a-z]{1,8}"),
    )
        .prop_map(|(flags, dashes, command)| {
            let mut args: Vec<String> = vec!["leash".into()];
            args.extend(flags.into_iter().flatten());
            if dashes {
                args.push("--".into());
            }
            args.extend(command);
            args
        })
}

/// Parse `args`; a failure must be one line.
fn parses_or_says_why_in_one_line(args: Vec<String>) -> Result<(), TestCaseError> {
    let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
    if let Err(error) = parse(args.clone()) {
        let text = error.to_string();
        prop_assert!(!text.contains('\n'), "{args:?}: {text}");
        prop_assert!(!text.is_empty(), "{args:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_the_command_line(args in command_line()) {
        parses_or_says_why_in_one_line(args)?;
    }

    #[test]
    fn fuzz_a_config_file(
        lines in prop::collection::vec(
            (prop::sample::select(FLAGS.to_vec()), value(), 0..4u8), 0..6),
        profile in any::<bool>(),
    ) {
        let mut text = String::new();
        if profile {
            text.push_str("[profile.interpreter]\n");
        }
        for (flag, value, shape) in lines {
            let key = flag.trim_start_matches('-');
            let value = match shape {
                0 => format!("{value:?}"),
                1 => format!("[{value:?}]"),
                2 => value.clone(),
                _ => "true".to_string(),
            };
            let _ = writeln!(text, "{key} = {value}");
        }
        let file = tempfile::NamedTempFile::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(file.path(), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = file.path().to_string_lossy().into_owned();
        let mut args = vec!["leash".to_string(), "--config".into(), path];
        if profile {
            args.extend(["--profile".to_string(), "interpreter".into()]);
        }
        args.extend(["--".to_string(), "true".into()]);
        parses_or_says_why_in_one_line(args)?;
    }
}
