//! `leashctl audit`: audit logs (plain or gzip, or stdin) read line by line, filtered, and
//! summed up per `--name` and overall: sessions, outcomes, and each figure's distribution.

mod anomalies;
mod distribution;
mod lines;
mod render;
mod suggest;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::CtlError;
use crate::error::Invalid;
use distribution::Distribution;

/// What `leashctl audit` was asked.
#[derive(Debug)]
pub struct Query {
    /// The logs, `-` for stdin.
    pub files: Vec<PathBuf>,
    /// Sessions started at or after this.
    pub since: Option<SystemTime>,
    /// Sessions started before this.
    pub until: Option<SystemTime>,
    /// Only these names (all if empty).
    pub names: Vec<String>,
    /// Only these outcomes (all if empty).
    pub outcomes: Vec<String>,
    /// Print JSON.
    pub json: bool,
    /// List the sessions far outside their name's history instead.
    pub anomalies: bool,
    /// Suggest each name's limits from its history instead, as config-file profiles.
    pub suggest: bool,
}

/// The figures summed up, in the order they are shown.
pub const FIGURES: [&str; 6] = [
    "wall_seconds",
    "cpu_seconds",
    "peak_memory_bytes",
    "peak_tasks",
    "written_bytes",
    "output_bytes",
];

/// Below these (a second, a MiB, 16 tasks; in the order of [`FIGURES`]) no figure is
/// unusual, whatever the history: one that barely varies (2 ms of CPU in nearly every
/// session) would otherwise be flagged, or warned of, at each wobble. `--anomalies` and
/// `leash --baseline` share them.
pub const FLOORS: [f64; 6] = [1.0, 1.0, 1_048_576.0, 16.0, 1_048_576.0, 1_048_576.0];

/// The part of an audit line the summary reads (its strings borrowed where they hold no
/// escape).
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    started_at: Cow<'a, str>,
    #[serde(borrow)]
    outcome: Cow<'a, str>,
    wall_seconds: f64,
    #[serde(borrow)]
    breach: Option<Breach<'a>>,
    usage: Usage,
}

#[derive(Deserialize)]
struct Breach<'a> {
    #[serde(borrow)]
    limit: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Usage {
    cpu_user_seconds: Option<f64>,
    cpu_system_seconds: Option<f64>,
    peak_memory_bytes: Option<f64>,
    peak_tasks: Option<f64>,
    written_bytes: Option<f64>,
    output_bytes: Option<f64>,
}

impl Line<'_> {
    fn figures(&self) -> [Option<f64>; 6] {
        let u = &self.usage;
        let cpu = match (u.cpu_user_seconds, u.cpu_system_seconds) {
            (None, None) => None,
            (user, system) => Some(user.unwrap_or(0.0) + system.unwrap_or(0.0)),
        };
        [
            Some(self.wall_seconds),
            cpu,
            u.peak_memory_bytes,
            u.peak_tasks,
            u.written_bytes,
            u.output_bytes,
        ]
    }

    /// `exited`, `signaled`, `leash_signaled`, `error`, or `limit KIND`.
    fn outcome_key(&self) -> Cow<'_, str> {
        match &self.breach {
            Some(breach) if self.outcome == "limit" => format!("limit {}", breach.limit).into(),
            _ => Cow::Borrowed(&self.outcome),
        }
    }
}

/// The sessions of one name (or of all).
#[derive(Debug, Default)]
pub struct Group {
    /// Sessions counted.
    pub sessions: u64,
    /// Sessions per outcome key (`exited`, `limit mem`...).
    pub outcomes: BTreeMap<String, u64>,
    /// Each of [`FIGURES`].
    pub figures: [Distribution; 6],
}

impl Group {
    fn add(&mut self, line: &Line) {
        self.sessions += 1;
        let outcome = line.outcome_key();
        match self.outcomes.get_mut(outcome.as_ref()) {
            Some(count) => *count += 1,
            None => {
                self.outcomes.insert(outcome.into_owned(), 1);
            }
        }
        for (figure, value) in self.figures.iter_mut().zip(line.figures()) {
            if let Some(value) = value {
                figure.add(value);
            }
        }
    }
}

/// The summary: every session, each name's, and how many lines were skipped.
#[derive(Debug, Default)]
pub struct Summary {
    /// Every session that passed the filters.
    pub all: Group,
    /// Per name (`None` for sessions without `--name`), in the order first seen.
    pub names: Vec<(Option<String>, Group)>,
    /// Lines that were no session record.
    pub skipped: u64,
}

impl Summary {
    /// Count `line` if it passes the query's filters.
    fn add(&mut self, line: &Line, query: &Query) {
        if !wanted(line, query) {
            return;
        }
        self.all.add(line);
        // A linear search: an audit log has a few names.
        let name = line.name.as_deref();
        if let Some((_, group)) = self.names.iter_mut().find(|(n, _)| n.as_deref() == name) {
            group.add(line);
        } else {
            let mut group = Group::default();
            group.add(line);
            self.names.push((name.map(str::to_owned), group));
        }
    }
}

/// Run `leashctl audit`.
pub fn audit(query: &Query) -> Result<(), CtlError> {
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
        summary.skipped += for_each_record(path, true, |_, line| summary.add(line, query))?;
    }
    summary.names.sort_by(|a, b| a.0.cmp(&b.0));
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
    print!("{text}");
    Ok(())
}

/// What one name's exited sessions in an audit log usually take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usual {
    /// The name (`None`: sessions without one).
    pub name: Option<String>,
    /// Its exited sessions in the log.
    pub sessions: u64,
    /// The p99 of each of [`FIGURES`] over them (`None` where none measured it).
    pub p99: [Option<f64>; 6],
}

/// What each name's exited sessions in the log at `path` usually take (`--baseline`).
pub fn usual(path: &Path) -> Result<Vec<Usual>, CtlError> {
    let query = Query {
        files: vec![path.to_path_buf()],
        since: None,
        until: None,
        names: Vec::new(),
        outcomes: vec!["exited".into()],
        json: false,
        anomalies: false,
        suggest: false,
    };
    let mut summary = Summary::default();
    for_each_record(path, false, |_, line| summary.add(line, &query))?;
    Ok(summary
        .names
        .into_iter()
        .map(|(name, mut group)| Usual {
            name,
            sessions: group.sessions,
            p99: std::array::from_fn(|i| group.figures[i].quantile(0.99)),
        })
        .collect())
}

/// Call `each` with every session record of the log at `path` and its line number; the
/// lines that are none are counted (and named on stderr if `say_skipped`).
fn for_each_record(
    path: &Path,
    say_skipped: bool,
    mut each: impl FnMut(u64, &Line),
) -> Result<u64, CtlError> {
    let shown = path.display();
    let cannot = |e: io::Error| CtlError::Incomplete(format!("{shown}: cannot read it: {e}"));
    let input: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(cannot)?)
    };
    let mut input = BufReader::with_capacity(1 << 20, input);
    let gzip = input.fill_buf().map_err(cannot)?.starts_with(&[0x1f, 0x8b]);
    let lines: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(input)))
    } else {
        Box::new(input)
    };
    let mut skipped = 0;
    lines::read_batches(lines, |batch| {
        for (number, line) in batch.lines() {
            match serde_json::from_slice::<Line>(line) {
                Ok(line) => each(number, &line),
                Err(e) => {
                    skipped += 1;
                    if say_skipped {
                        eprintln!("leashctl: {shown}:{number}: skipped, not a session record: {e}");
                    }
                }
            }
        }
    })
    .map_err(cannot)?;
    Ok(skipped)
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
pub fn parse_time(text: &str) -> Result<SystemTime, Invalid> {
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
