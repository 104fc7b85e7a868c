//! `leash 10s COMMAND`: the first operand, when it is a duration and `--wall` was not typed,
//! is the wall limit, as `timeout 10s COMMAND` reads it; after `--` it is always the
//! command (`leash -- 10s` runs a program named `10s`).

use std::ffi::OsString;

use super::Cli;
use crate::machine::error::{Error, UsageError};
use crate::machine::units::parse_positive_duration;

/// Take a leading duration operand of `cli.command` as the wall limit. `args` are the
/// arguments clap read and `matches` what it made of them; `wall_typed` says whether the
/// user typed `--wall`.
pub(super) fn take_wall(
    cli: &mut Cli,
    matches: &clap::ArgMatches,
    args: &[OsString],
    wall_typed: bool,
) -> Result<(), Error> {
    let Some(first) = cli
        .command
        .first()
        .and_then(|c| c.to_str())
        .map(String::from)
    else {
        return Ok(());
    };
    // clap's index of the first operand does not count a `--` before it: where the
    // argument at that index is not the operand, a `--` came first.
    let after_dashes = matches
        .index_of("command")
        .is_none_or(|index| args.get(index).is_none_or(|arg| *arg != *first));
    let Ok(wall) = parse_positive_duration(&first) else {
        return Ok(());
    };
    if after_dashes || wall_typed {
        return Ok(());
    }
    cli.wall = Some(wall);
    cli.command.remove(0);
    // `leash 10s -- CMD` reads as meant (`timeout` would look for a program named `--`).
    if cli.command.first().is_some_and(|c| c == "--") {
        cli.command.remove(0);
    }
    if cli.command.is_empty() && !(cli.explain || cli.print_config) {
        return Err(UsageError::WallWithoutCommand {
            first: first.clone(),
        }
        .into());
    }
    Ok(())
}
