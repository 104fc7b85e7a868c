//! `--explain`'s text: a planned session's limit rows as lines of `limit  value
//! mechanism`, the cgroups it would be made below, and how it would be stopped.

use std::fmt::Write;

use crate::machine::cgroup::Placement;
use crate::machine::signals::number::SignalNumber;
use crate::machine::units::format_duration;
use crate::session::rows::LimitRow;
use crate::session::spec::Spec;

/// The explanation of a planned session: its `rows` as lines of `limit  value  mechanism`,
/// the cgroups it would be made below, and how it would be stopped.
pub(crate) fn explanation(rows: &[LimitRow], plan: Option<&Placement>, settings: &Spec) -> String {
    let width = |pick: fn(&LimitRow) -> usize| rows.iter().map(pick).max().unwrap_or(0);
    let (name_width, value_width) = (
        width(|r| r.limit.to_string().len()),
        width(|r| r.value.len()),
    );
    let mut out = String::new();
    for row in rows {
        let (name, value, how) = (row.limit.to_string(), &row.value, &row.mechanism);
        let _ = writeln!(out, "{name:name_width$}  {value:value_width$}  {how}");
    }
    if let Some(plan) = plan {
        for planned in &plan.hierarchies {
            let _ = writeln!(out, "cgroup: below {}", planned.hierarchy.parent.display());
        }
    }
    let first = if settings.signal == SignalNumber::NONE {
        "no signal (--signal 0)".to_string()
    } else {
        format!("SIG{}", settings.signal)
    };
    let _ = writeln!(
        out,
        "stop: {first} to every process of the session, SIGKILL after {}",
        format_duration(settings.kill_after)
    );
    out
}
