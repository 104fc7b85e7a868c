//! `--warn`: one warning per limit when a usage first reaches a share of it; and
//! `--baseline`: one when a figure first passes what the session's name usually takes.

use std::time::Duration;

use serde::Serialize;

use crate::machine::units::{format_millis, format_size};
use crate::session::accounting::Usage;
use crate::session::session_limits::{LimitKind, SessionLimits};

/// A usage that crossed `--warn` of its limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Warning {
    /// The limit.
    pub(crate) limit: LimitKind,
    /// The share of the limit reached.
    pub(crate) fraction: f64,
    /// Seconds from the start of the session.
    pub(crate) at_seconds: f64,
    /// leash's line about it.
    pub(crate) message: String,
    /// Against the name's history (`--baseline`), not a limit: `limit` names the figure,
    /// `fraction` is the usage over the history's threshold.
    pub(crate) baseline: bool,
}

/// What a warner compares usage with.
#[derive(Debug)]
enum Against {
    /// A share of each limit.
    Limits(f64),
    /// The name's usual figures: how many sessions they come from, and the log.
    Baseline(u64, String),
}

/// One limit as the warner sees it: what it counts, the limit and the usage now (in one
/// unit), and how to show a figure.
struct Figure {
    kind: LimitKind,
    what: &'static str,
    limit: Option<f64>,
    used: f64,
    show: fn(f64) -> String,
}

/// Says once per limit when a usage first reaches a share of it (or passes the name's
/// usual figure).
#[derive(Debug)]
pub(crate) struct Warner {
    against: Against,
    warned: Vec<LimitKind>,
}

impl Warner {
    /// Warn at `fraction` of each limit.
    pub(crate) fn new(fraction: f64) -> Warner {
        Warner {
            against: Against::Limits(fraction),
            warned: Vec::new(),
        }
    }

    /// Warn when a figure passes its threshold in `baseline` (given to [`Warner::check`]
    /// as the limits).
    pub(crate) fn of_baseline(baseline: &crate::session::baseline::Baseline) -> Warner {
        Warner {
            against: Against::Baseline(baseline.sessions, baseline.log.display().to_string()),
            warned: Vec::new(),
        }
    }

    /// The warnings due now, `elapsed` into the session that has written `output` bytes
    /// (where they are counted); each is given once.
    pub(crate) fn check(
        &mut self,
        limits: &SessionLimits,
        usage: &Usage,
        elapsed: Duration,
        output: Option<u64>,
    ) -> Vec<Warning> {
        let mut due = Vec::new();
        for figure in figures(limits, usage, elapsed, output) {
            let Some(limit) = figure.limit else { continue };
            let due_at = match self.against {
                Against::Limits(fraction) => figure.used >= limit * fraction,
                Against::Baseline(..) => figure.used > limit,
            };
            if !due_at || self.warned.contains(&figure.kind) {
                continue;
            }
            self.warned.push(figure.kind);
            let share = figure.used / limit;
            let (used, limit) = ((figure.show)(figure.used), (figure.show)(limit));
            let message = match &self.against {
                Against::Limits(_) => format!(
                    "warning: {} at {:.0}% of its limit ({used} of {limit})",
                    figure.what,
                    share * 100.0,
                ),
                Against::Baseline(sessions, log) => format!(
                    "warning: {} above what this name usually takes: {used} (the p99 of its \
                     {sessions} exited sessions in {log}: {limit})",
                    figure.what
                ),
            };
            due.push(Warning {
                limit: figure.kind,
                fraction: share,
                at_seconds: elapsed.as_secs_f64(),
                message,
                baseline: matches!(self.against, Against::Baseline(..)),
            });
        }
        due
    }
}

/// Every limit a warning can be about, with its usage now.
fn figures(
    limits: &SessionLimits,
    usage: &Usage,
    elapsed: Duration,
    output: Option<u64>,
) -> [Figure; 6] {
    #[allow(clippy::cast_precision_loss)] // figures far below 2^52
    let n = |v: u64| v as f64;
    let secs = |d: Duration| d.as_secs_f64();
    [
        Figure::new(
            LimitKind::Wall,
            "wall time",
            limits.wall.map(secs),
            secs(elapsed),
        ),
        Figure::new(
            LimitKind::Memory,
            "memory",
            limits.memory.map(n),
            n(usage.memory),
        ),
        Figure::new(
            LimitKind::Cpu,
            "CPU time",
            limits.cpu.map(secs),
            secs(usage.cpu),
        ),
        Figure::new(
            LimitKind::Procs,
            "processes and threads",
            limits.tasks.map(n),
            n(usage.tasks),
        ),
        Figure::new(
            LimitKind::DiskWrite,
            "disk writes",
            limits.disk_write.map(n),
            n(usage.written),
        ),
        Figure::new(
            LimitKind::Output,
            "output",
            limits.output.map(n),
            output.map_or(0.0, n),
        ),
    ]
}

impl Figure {
    /// A figure, shown in its limit's unit: a time, a count or a size.
    fn new(kind: LimitKind, what: &'static str, limit: Option<f64>, used: f64) -> Figure {
        let show = match kind {
            LimitKind::Wall | LimitKind::Cpu | LimitKind::Idle => show_time,
            LimitKind::Procs => show_count,
            LimitKind::Memory | LimitKind::DiskWrite | LimitKind::Output | LimitKind::CpuRate => {
                show_size
            }
        };
        Figure {
            kind,
            what,
            limit,
            used,
            show,
        }
    }
}

fn show_count(count: f64) -> String {
    format!("{count:.0}")
}

fn show_size(bytes: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bytes = bytes as u64;
    format_size(bytes)
}

fn show_time(seconds: f64) -> String {
    format_millis(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_come_once_per_limit_at_the_share() {
        let limits = SessionLimits {
            memory: Some(100 << 20),
            wall: Some(Duration::from_secs(10)),
            ..SessionLimits::default()
        };
        let mut warner = Warner::new(0.8);
        let calm = warner.check(
            &limits,
            &Usage::of_memory(50 << 20),
            Duration::from_secs(1),
            None,
        );
        assert!(calm.is_empty());
        let due = warner.check(
            &limits,
            &Usage::of_memory(85 << 20),
            Duration::from_secs(9),
            None,
        );
        let messages: Vec<&str> = due.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "warning: wall time at 90% of its limit (9s of 10s)",
                "warning: memory at 85% of its limit (85.0 MiB of 100.0 MiB)"
            ]
        );
        assert!(
            warner
                .check(
                    &limits,
                    &Usage::of_memory(99 << 20),
                    Duration::from_secs(9),
                    None
                )
                .is_empty()
        );
    }
}
