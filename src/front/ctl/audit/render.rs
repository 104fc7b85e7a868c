//! The audit summary as text (with a small histogram per figure on a terminal) and as
//! JSON.

use std::fmt::Write;

use serde_json::{Map, Value, json};

use crate::machine::units::format_size;
use crate::session::history::{Distribution, FIGURES, Group, Summary};

/// The quantiles shown, with their names.
const QUANTILES: [(&str, f64); 3] = [("median", 0.5), ("p95", 0.95), ("p99", 0.99)];

/// Bins of the terminal's histogram.
const BINS: usize = 12;

/// The summary as a person reads it: each name, then all sessions.
pub(crate) fn text(summary: &mut Summary, terminal: bool) -> String {
    let mut out = String::new();
    for (name, group) in &mut summary.names {
        let title = crate::machine::printable::printable(name.as_deref().unwrap_or("(no name)"));
        write_group(&mut out, &format!("name {title}"), group, terminal);
    }
    write_group(&mut out, "all sessions", &mut summary.all, terminal);
    if summary.skipped > 0 {
        let _ = writeln!(
            out,
            "{} lines skipped (not session records)",
            summary.skipped
        );
    }
    out
}

fn write_group(out: &mut String, title: &str, group: &mut Group, terminal: bool) {
    let outcomes: Vec<String> = group
        .outcomes
        .iter()
        .map(|(outcome, count)| format!("{count} {outcome}"))
        .collect();
    let plural = if group.sessions == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "{title}: {} session{plural}: {}",
        group.sessions,
        outcomes.join(", ")
    );
    let _ = writeln!(
        out,
        "  {:<12} {:>8} {:>11} {:>11} {:>11} {:>11}",
        "figure", "sessions", "median", "p95", "p99", "max"
    );
    for (figure, distribution) in FIGURES.iter().zip(group.figures.iter_mut()) {
        if distribution.count() == 0 {
            continue;
        }
        let shown = |value: Option<f64>| value.map_or_else(|| "-".into(), |v| show(figure, v));
        let mut row = format!("  {:<12} {:>8}", label(figure), distribution.count());
        for (_, q) in QUANTILES {
            let _ = write!(row, " {:>11}", shown(distribution.quantile(q)));
        }
        let _ = write!(row, " {:>11}", shown(distribution.max()));
        if terminal {
            let _ = write!(row, "  {}", sparkline(&distribution.histogram(BINS)));
        }
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
}

/// The short name of a figure in the table.
pub(super) fn label(figure: &str) -> &str {
    match figure {
        "wall_seconds" => "wall",
        "cpu_seconds" => "cpu",
        "peak_memory_bytes" => "memory",
        "peak_tasks" => "tasks",
        "written_bytes" => "written",
        _ => "output",
    }
}

/// A figure's value as leash prints such values.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn show(figure: &str, value: f64) -> String {
    if figure.ends_with("_seconds") {
        match value {
            v if v < 1.0 => format!("{:.0} ms", v * 1000.0),
            v if v < 100.0 => format!("{v:.2} s"),
            v => format!("{v:.0} s"),
        }
    } else if figure.ends_with("_bytes") {
        format_size(value.max(0.0) as u64)
    } else {
        format!("{value:.0}")
    }
}

/// Counts as a row of block characters, the highest bin full.
fn sparkline(counts: &[u64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let highest = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .map(|&count| match count {
            0 => ' ',
            // Eighths of the highest, rounded: the highest is a full block, a bin holding
            // anything at least the lowest one.
            count => {
                let eighths = (count * 8 + highest / 2) / highest;
                BLOCKS[usize::try_from(eighths.saturating_sub(1))
                    .unwrap_or(7)
                    .min(7)]
            }
        })
        .collect()
}

/// The summary for machines (docs/leashctl.md has its fields).
pub(crate) fn json(summary: &mut Summary) -> String {
    let names: Vec<Value> = summary
        .names
        .iter_mut()
        .map(|(name, group)| group_json(name.as_deref(), group))
        .collect();
    let document = json!({
        "all": group_json(None, &mut summary.all),
        "names": names,
        "skipped_lines": summary.skipped,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn group_json(name: Option<&str>, group: &mut Group) -> Value {
    let figures: Map<String, Value> = FIGURES
        .iter()
        .zip(group.figures.iter_mut())
        .map(|(figure, distribution)| ((*figure).to_string(), figure_json(distribution)))
        .collect();
    json!({
        "name": name,
        "sessions": group.sessions,
        "outcomes": group.outcomes,
        "figures": figures,
    })
}

fn figure_json(distribution: &mut Distribution) -> Value {
    let mut figure = Map::new();
    figure.insert("count".into(), distribution.count().into());
    for (name, q) in QUANTILES {
        figure.insert(name.into(), json!(distribution.quantile(q)));
    }
    figure.insert("max".into(), json!(distribution.max()));
    figure.insert("exact".into(), distribution.is_exact().into());
    Value::Object(figure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_gets_a_histogram_per_figure_and_a_pipe_none() {
        let mut summary = Summary::default();
        for value in [1.0, 2.0, 2.0, 40.0] {
            summary.all.sessions += 1;
            summary.all.figures[0].add(value);
        }
        let on_terminal = text(&mut summary, true);
        let wall = on_terminal
            .lines()
            .find(|l| l.trim_start().starts_with("wall"))
            .unwrap();
        assert!(wall.contains('█'), "{on_terminal}");
        assert!(!text(&mut summary, false).contains('█'));
        assert_eq!(sparkline(&[0, 1, 7]), " ▁█");
    }
}
