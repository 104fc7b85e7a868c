//! Fuzzing leashctl's command line (proptest): whatever the arguments, parsing gives a
//! command or clap's error, never a panic, and every value parser (signals, durations,
//! times, kernel names and budgets) answers in one line. Nothing is run. CI runs a bounded
//! number of cases; `PROPTEST_CASES=20000 cargo test --lib fuzz` runs more.

use clap::Parser;
use proptest::prelude::*;

use super::Leashctl;

/// Subcommands and their flags: real ones, and near misses.
const WORDS: [&str; 34] = [
    "list",
    "show",
    "freeze",
    "thaw",
    "stop",
    "audit",
    "kernel",
    "install",
    "remove",
    "lisst",
    "--json",
    "--watch",
    "--ids",
    "-s",
    "--signal",
    "-k",
    "--kill-after",
    "--since",
    "--until",
    "--name",
    "--outcome",
    "--anomalies",
    "--suggest",
    "--cell-wall",
    "--cell-cpu",
    "--cell-grace",
    "--python",
    "--prefix",
    "--user",
    "--force",
    "--",
    "-",
    "--help",
    "-V",
];

/// Values: ones of the right shape, edge cases and garbage.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("RTMIN+40".to_string()),
        Just("2026-02-30".to_string()),
        Just("9999999999999999999s".to_string()),
        "[a-z0-9]{6}",
        "[0-9]{1,20}(\\.[0-9]{0,4})?(ms|s|m|h|d|days|y)?",
        "\\PC{0,12}",
    ]
}

fn command_line() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(WORDS.to_vec()).prop_map(String::from),
            value()
        ],
        0..8,
    )
    .prop_map(|words| {
        let mut args = vec!["leashctl".to_string()];
        args.extend(words);
        args
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_the_leashctl_command_line(args in command_line()) {
        if let Err(error) = Leashctl::try_parse_from(&args) {
            // clap's own text: its first line says what is wrong.
            let text = error.to_string();
            prop_assert!(!text.is_empty(), "{args:?}");
        }
    }
}
