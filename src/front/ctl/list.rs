//! `leashctl list` and `show`: the sessions as rows (a table, JSON, ids, or a table
//! redrawn every second) and one session in full.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::act::supervisor_answers;
use super::sample::{Snapshot, sample};
use crate::machine::printable::printable;
use crate::machine::units::{format_millis, format_size};
use crate::session::registry::{self, Entry, Event, Found, control};

/// A session's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum State {
    /// Its supervisor runs it.
    Running,
    /// `leashctl freeze` paused it.
    Frozen,
    /// Its supervisor is stopped (Ctrl-Z, SIGSTOP): so is, as far as it knows, the session.
    Suspended,
    /// Its stop sequence runs.
    Stopping,
    /// Its supervisor no longer runs.
    Stale,
}

impl State {
    /// Its name, as `--json` has it.
    fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Frozen => "frozen",
            State::Suspended => "suspended",
            State::Stopping => "stopping",
            State::Stale => "stale",
        }
    }

    fn of(found: &Found, events: &[Event]) -> State {
        if found.stale {
            State::Stale
        } else if found.entry.stopping {
            State::Stopping
        } else if control::frozen_since(events).is_some() {
            State::Frozen
        } else if supervisor_answers(found) {
            State::Running
        } else {
            State::Suspended
        }
    }
}

/// One row of `list`, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    entry: &'a Entry,
    user: String,
    state: State,
    usage: Snapshot,
}

fn rows<'a>(found: &'a [Found], users: &mut Users) -> Vec<(Row<'a>, Vec<Event>)> {
    found
        .iter()
        .map(|f| {
            let events = if f.events {
                control::read(&registry::beside(f, "events"))
            } else {
                Vec::new()
            };
            let row = Row {
                entry: &f.entry,
                user: users.name(f.entry.uid),
                state: State::of(f, &events),
                usage: if f.stale {
                    Snapshot::default()
                } else {
                    sample(f)
                },
            };
            (row, events)
        })
        .collect()
}

/// User names by uid, looked up once each.
#[derive(Default)]
struct Users(HashMap<u32, String>);

impl Users {
    fn name(&mut self, uid: u32) -> String {
        self.0
            .entry(uid)
            .or_insert_with(|| {
                crate::machine::accounts::user_numbered(uid.into())
                    .ok()
                    .flatten()
                    .map_or_else(|| uid.to_string(), |u| u.name)
            })
            .clone()
    }
}

/// `leashctl list`: what it prints (nothing once `--watch` has quit).
pub(crate) fn list(json: bool, watch: bool, ids: bool) -> String {
    let dirs = registry::dirs_to_scan();
    let mut users = Users::default();
    if watch {
        let mut scanner = registry::Scanner::default();
        super::redraw::redraw(|| table(&rows(&scanner.scan(&dirs), &mut users)));
        return String::new();
    }
    let found = registry::scan(&dirs);
    if ids {
        let mut out = String::new();
        for f in found.iter().filter(|f| !f.stale) {
            let _ = writeln!(out, "{}", f.entry.id);
        }
        return out;
    }
    let rows = rows(&found, &mut users);
    if json {
        let rows: Vec<&Row> = rows.iter().map(|(row, _)| row).collect();
        serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
    } else {
        table(&rows)
    }
}

fn seconds(s: f64) -> String {
    format_millis(Duration::try_from_secs_f64(s).unwrap_or_default())
}

fn against<T>(now: String, limit: Option<T>, show: impl Fn(T) -> String) -> String {
    match limit {
        Some(limit) => format!("{now}/{}", show(limit)),
        None => now,
    }
}

/// The rows as an aligned table.
fn table(rows: &[(Row, Vec<Event>)]) -> String {
    let mut cells = vec![
        [
            "ID", "NAME", "USER", "STATE", "WALL", "CPU", "MEM", "PEAK", "TASKS", "WRITTEN",
            "OUTPUT", "COMMAND",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (row, _) in rows {
        let (limits, usage) = (&row.entry.limits, &row.usage);
        let optional = |v: Option<u64>| v.map_or_else(|| "-".into(), format_size);
        cells.push(vec![
            row.entry.id.clone(),
            row.entry.name.clone().unwrap_or_else(|| "-".into()),
            row.user.clone(),
            row.state.name().to_string(),
            against(seconds(usage.elapsed_seconds), limits.wall_seconds, seconds),
            against(seconds(usage.cpu_seconds), limits.cpu_seconds, seconds),
            format_size(usage.memory_bytes),
            against(
                optional(usage.peak_memory_bytes),
                limits.memory_bytes,
                format_size,
            ),
            against(usage.tasks.to_string(), limits.tasks, |t| t.to_string()),
            optional(usage.written_bytes),
            against(
                optional(usage.output_bytes),
                limits.output_bytes,
                format_size,
            ),
            row.entry.command.join(" "),
        ]);
    }
    aligned(&cells)
}

/// Rows of cells as columns, two spaces apart, each as wide as its widest cell; what a
/// terminal would act on in a cell (a name or command another user chose) is escaped.
pub(super) fn aligned(cells: &[Vec<String>]) -> String {
    let cells: Vec<Vec<String>> = cells
        .iter()
        .map(|row| row.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:width$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// `leashctl show ID`: what it prints.
pub(crate) fn show(found: &Found, json: bool) -> String {
    let mut users = Users::default();
    let rows = rows(std::slice::from_ref(found), &mut users);
    let (row, events) = &rows[0];
    if json {
        let document = serde_json::json!({ "session": row, "control": events });
        return serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
    }
    let mut out = table(&rows);
    let entry = &found.entry;
    let _ = writeln!(out, "\nsupervisor  PID {} (leash)", entry.supervisor.pid);
    if entry.pid_namespace {
        let _ = writeln!(out, "namespace   a PID namespace of its own (--pid-ns)");
    }
    for cgroup in &entry.cgroups {
        let _ = writeln!(
            out,
            "cgroup      v{} {}",
            cgroup.version,
            cgroup.path.display()
        );
    }
    if let Some(report) = &entry.report {
        let _ = writeln!(out, "report      {}", printable(&report.to_string_lossy()));
    }
    let _ = writeln!(out, "entry       {}", found.path.display());
    for limit in &entry.mechanisms {
        let field = |name: &str| printable(limit.get(name).and_then(|v| v.as_str()).unwrap_or(""));
        let _ = writeln!(
            out,
            "limit       {} {}: {}",
            field("limit"),
            field("value"),
            field("mechanism")
        );
    }
    for event in events {
        let _ = writeln!(
            out,
            "control     {} by user {} (process {}) at {}",
            event.action.name(),
            event.by_uid,
            event.by_pid,
            seconds(event.at - entry.started_at)
        );
    }
    let _ = writeln!(out, "\nprocesses:");
    out.push_str(&super::tree::render(entry.supervisor.pid()));
    out
}
