//! `audit --suggest`: for each name, the limits that would have let 99.9% of its past
//! exited sessions through with headroom (its anomalies left out, so that the limits stop
//! what they were), and how many sessions each limit stopped before; as config-file
//! profiles ready to paste.

use std::fmt::Write;
use std::path::Path;

use super::anomalies::Fences;
use crate::front::ctl::CtlError;
use crate::session::history::Distribution;
use crate::session::history::{Line, Summary, position};

/// The share of the basis a suggested limit lets through.
const THROUGH: f64 = 0.999;

/// How far above that a limit is set.
const HEADROOM: f64 = 1.5;

/// For each figure: the config key of its limit, the smallest limit suggested, and how a
/// value is written (seconds, MiB, a count).
const LIMITS: [(&str, f64, SuggestUnit); 6] = [
    ("wall", 10.0, SuggestUnit::Seconds),
    ("cpu", 10.0, SuggestUnit::Seconds),
    ("mem", 64.0 * MIB, SuggestUnit::Mebibytes),
    ("procs", 32.0, SuggestUnit::Count),
    ("disk-write", 64.0 * MIB, SuggestUnit::Mebibytes),
    ("output", 16.0 * MIB, SuggestUnit::Mebibytes),
];

const MIB: f64 = 1_048_576.0;

#[derive(Clone, Copy)]
enum SuggestUnit {
    Seconds,
    Mebibytes,
    Count,
}

/// One name's basis: its exited sessions that are no anomaly.
#[derive(Default)]
struct Basis {
    sessions: u64,
    left_out: u64,
    figures: [Distribution; 6],
}

/// The profiles suggested from the history in `summary`, over the sessions `rescan` hands
/// over again.
pub(crate) fn suggest(
    summary: &mut Summary,
    rescan: impl FnOnce(&mut dyn FnMut(&Path, u64, &Line)) -> Result<(), CtlError>,
) -> Result<String, CtlError> {
    let fences = Fences::of(summary);
    let mut per_name: Vec<(Option<String>, Basis)> = summary
        .names
        .iter()
        .map(|(name, _)| (name.clone(), Basis::default()))
        .collect();
    rescan(&mut |_, _, line| {
        let name = line.name.as_deref();
        let Some((_, basis)) = position(&per_name, name).map(|at| &mut per_name[at]) else {
            return;
        };
        if line.outcome != "exited" {
            return;
        }
        if fences.flags(line) {
            basis.left_out += 1;
            return;
        }
        basis.sessions += 1;
        for (figure, value) in basis.figures.iter_mut().zip(line.figures()) {
            if let Some(value) = value {
                figure.add(value);
            }
        }
    })?;
    let mut out = format!(
        "# leashctl audit --suggest: per name, limits that let {}% of its exited sessions\n\
         # through with {}% headroom (sessions --anomalies flags left out). Paste into a\n\
         # config file (~/.config/leash/config.toml) and run leash --profile NAME.\n",
        THROUGH * 100.0,
        (HEADROOM - 1.0) * 100.0
    );
    for ((name, basis), (_, group)) in per_name.iter_mut().zip(&summary.names) {
        let stops: Vec<String> = group
            .outcomes
            .iter()
            .filter_map(|(outcome, n)| Some(format!("{n} by {}", outcome.strip_prefix("limit ")?)))
            .collect();
        write_profile(&mut out, name.as_deref(), basis, &stops);
    }
    Ok(out)
}

fn write_profile(out: &mut String, name: Option<&str>, basis: &mut Basis, stops: &[String]) {
    let stops = if stops.is_empty() {
        "none".to_string()
    } else {
        stops.join(", ")
    };
    let Some(name) = name else {
        let _ = writeln!(out, "\n# Sessions without --name: no profile to suggest.");
        return;
    };
    // The name in a comment, escaped (a newline in it would end the comment and start
    // config of its own), and as a TOML key quoted by the TOML writer.
    let _ = writeln!(
        out,
        "\n# {}: {} exited sessions as the basis ({} anomalies left out); stopped before: {stops}",
        crate::machine::printable::printable(name),
        basis.sessions,
        basis.left_out
    );
    if basis.sessions == 0 {
        let _ = writeln!(out, "# (no exited session: no limits to suggest)");
        return;
    }
    let quoted = toml_key(name);
    let _ = writeln!(out, "[profile.{quoted}]");
    for ((key, least, unit), distribution) in LIMITS.iter().zip(basis.figures.iter_mut()) {
        let Some(through) = distribution.quantile(THROUGH) else {
            continue;
        };
        let limit = (through * HEADROOM).max(*least);
        let _ = writeln!(out, "{key} = {}", written(limit, *unit));
    }
}

/// `name` as a TOML quoted key on one line: a basic string in which every character a
/// terminal or a TOML reader would act on (controls, DEL, bidirectional overrides) is an
/// escape.
fn toml_key(name: &str) -> String {
    let mut key = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => key.push_str("\\\""),
            '\\' => key.push_str("\\\\"),
            c if crate::machine::printable::acts(c) => {
                let _ = write!(key, "\\u{:04X}", u32::from(c));
            }
            c => key.push(c),
        }
    }
    key.push('"');
    key
}

/// `limit` as a config value, rounded up: `"12s"`, `"256MiB"`, `64`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn written(limit: f64, unit: SuggestUnit) -> String {
    match unit {
        SuggestUnit::Seconds => format!("\"{}s\"", limit.ceil() as u64),
        SuggestUnit::Mebibytes => format!("\"{}MiB\"", (limit / MIB).ceil() as u64),
        SuggestUnit::Count => format!("{}", limit.ceil() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_written_rounded_up_in_the_config_format() {
        assert_eq!(written(12.1, SuggestUnit::Seconds), "\"13s\"");
        assert_eq!(written(64.5 * MIB, SuggestUnit::Mebibytes), "\"65MiB\"");
        assert_eq!(written(31.2, SuggestUnit::Count), "32");
        assert_eq!(crate::session::history::FIGURES.len(), LIMITS.len());
    }
}
