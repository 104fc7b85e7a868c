//! `leashctl audit`: audit logs (plain or gzip, or stdin) read line by line, filtered, and
//! summed up per `--name` and overall: sessions, outcomes, and each figure's distribution.

mod anomalies;
mod render;
mod suggest;

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::CtlError;
use crate::machine::error::Invalid;
use crate::session::history::{Line, Summary, Unreadable, for_each_record};

/// What `leashctl audit` was asked.
#[derive(Debug)]
pub(crate) struct Query {
    /// The logs, `-` for stdin.
    pub(crate) files: Vec<PathBuf>,
    /// Sessions started at or after this.
    pub(crate) since: Option<SystemTime>,
    /// Sessions started before this.
    pub(crate) until: Option<SystemTime>,
    /// Only these names (all if empty).
    pub(crate) names: Vec<String>,
    /// Only these outcomes (all if empty).
    pub(crate) outcomes: Vec<String>,
    /// Print JSON.
    pub(crate) json: bool,
    /// List the sessions far outside their name's history instead.
    pub(crate) anomalies: bool,
    /// Suggest each name's limits from its history instead, as config-file profiles.
    pub(crate) suggest: bool,
}

/// Run `leashctl audit`.
pub(crate) fn audit(query: &Query) -> Result<(), CtlError> {
    let twice = query.anomalies || query.suggest;
    if twice && query.files.iter().any(|f| f == Path::new("-")) {
        return Err(CtlError::Usage(
            "--anomalies and --suggest read each log twice (the history, then each session \
             against it): give files, not - (stdin)"
                .into(),
        ));
    }
    let mut summary = Summary::default();
    for path in &query.files {
        summary.skipped += for_each_record(path, true, |_, line| {
            if wanted(line, query) {
                summary.add(line);
            }
        })?;
    }
    summary.sort_names();
    // The second reading, of the sessions the query chose.
    let rescan = |each: &mut dyn FnMut(&Path, u64, &Line)| {
        for path in &query.files {
            for_each_record(path, false, |number, line| {
                if wanted(line, query) {
                    each(path, number, line);
                }
            })?;
        }
        Ok(())
    };
    let text = if query.suggest {
        suggest::suggest(&mut summary, rescan)?
    } else if query.anomalies {
        anomalies::render(&anomalies::find(&mut summary, rescan)?, query.json)
    } else if query.json {
        render::json(&mut summary)
    } else {
        render::text(&mut summary, io::IsTerminal::is_terminal(&io::stdout()))
    };
    super::out(&text)
}

/// A log read only in part: the audit is incomplete.
impl From<Unreadable> for CtlError {
    fn from(unreadable: Unreadable) -> CtlError {
        CtlError::Incomplete(unreadable.to_string())
    }
}

/// Whether `line` passes the query's filters.
fn wanted(line: &Line, query: &Query) -> bool {
    let named = query.names.is_empty()
        || line
            .name
            .as_deref()
            .is_some_and(|n| query.names.iter().any(|wanted| wanted == n));
    let outcome = query.outcomes.is_empty() || query.outcomes.iter().any(|o| *o == line.outcome);
    if !(named && outcome) {
        return false;
    }
    if query.since.is_none() && query.until.is_none() {
        return true;
    }
    let Ok(started) = humantime::parse_rfc3339_weak(&line.started_at) else {
        return false;
    };
    query.since.is_none_or(|since| started >= since)
        && query.until.is_none_or(|until| started < until)
}

/// `--since`/`--until`: an RFC 3339 time (`2026-12-01T08:00:00Z`), a date (`2026-12-01`,
/// UTC midnight), or a duration meaning that long ago (`2h`, `7days`).
pub(crate) fn parse_time(text: &str) -> Result<SystemTime, Invalid> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    if let Ok(time) = humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")) {
        return Ok(time);
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|ago| SystemTime::now().checked_sub(ago))
        .ok_or_else(|| {
            Invalid(format!(
                "'{text}' is neither a time (2026-12-01T08:00:00Z), a date nor a duration ago (2h)"
            ))
        })
}
