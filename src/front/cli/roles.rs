//! What each flag of the command line is for: a setting the config layers may set, a
//! layer to read, or an action only the command line asks for; and whether the user typed
//! a flag, or a layer put it there.

use std::collections::BTreeMap;

use clap::parser::ValueSource;

use crate::front::cli::config::Origin;

/// What a flag of the command line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A setting of the session: config files, profiles and `LEASH_` variables may set it,
    /// and `--print-config` shows it.
    Setting,
    /// Which layers to read (`--config`, `--profile`): shown, never set by a layer.
    Layer,
    /// Something to do instead of running a session, or the command itself: only the
    /// command line may ask for it, and it is not shown.
    Action,
}

/// The flags that are not settings, by long name; every other flag is a setting.
const NOT_SETTINGS: [(&str, Role); 7] = [
    ("config", Role::Layer),
    ("profile", Role::Layer),
    ("explain", Role::Action),
    ("print-config", Role::Action),
    ("generate", Role::Action),
    ("help", Role::Action),
    ("version", Role::Action),
];

/// The role of the flag `--long`.
pub(crate) fn role(long: &str) -> Role {
    NOT_SETTINGS
        .iter()
        .find(|(name, _)| *name == long)
        .map_or(Role::Setting, |(_, role)| *role)
}

/// Whether a config layer may set `--long`.
pub(crate) fn is_setting(long: &str) -> bool {
    role(long) == Role::Setting
}

/// Whether the user typed `--long` on the command line (not a config layer, not a default).
pub(crate) fn typed(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    origins: &BTreeMap<String, Origin>,
    long: &str,
) -> bool {
    let from_a_layer = origins.get(long).is_some_and(|o| *o != Origin::Flag);
    let given = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .is_some_and(|a| {
            matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        });
    given && !from_a_layer
}

/// `--help` or `--version`, if `args` ask for one of them (read without the layers):
/// actions that need no setting.
pub(crate) fn help_or_version(
    command: &mut clap::Command,
    args: Vec<std::ffi::OsString>,
) -> Option<crate::machine::error::Error> {
    use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
    match command.try_get_matches_from_mut(args) {
        Err(asked) if matches!(asked.kind(), DisplayHelp | DisplayVersion) => {
            Some(crate::machine::error::Error::Clap(asked))
        }
        _ => None,
    }
}
