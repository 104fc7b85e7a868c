//! `--print-config`: the effective settings, one per line, each with where it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::parser::ValueSource;

use super::{Role, role};
use crate::front::cli::config::Origin;

/// The effective settings (and the layers chosen), one per line: `key = value  # origin`.
/// `origins` says, by key, where each setting that is not a default came from.
pub(crate) fn render(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    origins: &BTreeMap<String, Origin>,
) -> String {
    let mut text = String::new();
    for arg in command.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
            continue;
        };
        if role(long) == Role::Action {
            continue;
        }
        let origin = match matches.value_source(id) {
            Some(ValueSource::DefaultValue) => "default".to_string(),
            Some(_) => origins
                .get(long)
                .map_or_else(|| "command line".into(), ToString::to_string),
            None => continue,
        };
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = if values.is_empty() {
            "true".to_string()
        } else {
            values.join(" ")
        };
        let _ = writeln!(text, "{long} = {value}  # {origin}");
    }
    text
}
