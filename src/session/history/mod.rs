//! The history of sessions in an audit log: its records read line by line (plain or gzip,
//! or stdin), and each name's distribution of every figure. `--baseline` takes what a name
//! usually uses from it; `leashctl audit` sums logs up with it.

mod distribution;
mod lines;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) use distribution::Distribution;

/// An audit log that could not be read to its end.
#[derive(Debug)]
pub(crate) struct Unreadable {
    /// The log (`-`: stdin).
    pub(crate) path: PathBuf,
    /// Why.
    pub(crate) error: io::Error,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: cannot read it: {}", self.path.display(), self.error)
    }
}

/// The figures summed up, in the order they are shown.
pub(crate) const FIGURES: [&str; 6] = [
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
pub(crate) const FLOORS: [f64; 6] = [1.0, 1.0, 1_048_576.0, 16.0, 1_048_576.0, 1_048_576.0];

/// The part of an audit line the summary reads (its strings borrowed where they hold no
/// escape).
#[derive(Deserialize)]
pub(crate) struct Line<'a> {
    /// `--name`.
    #[serde(borrow)]
    pub(crate) name: Option<Cow<'a, str>>,
    /// When it started (RFC 3339).
    #[serde(borrow)]
    pub(crate) started_at: Cow<'a, str>,
    /// `exited`, `limit`, ...
    #[serde(borrow)]
    pub(crate) outcome: Cow<'a, str>,
    wall_seconds: f64,
    #[serde(borrow)]
    breach: Option<RecordedBreach<'a>>,
    usage: RecordedUsage,
}

#[derive(Deserialize)]
struct RecordedBreach<'a> {
    #[serde(borrow)]
    limit: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RecordedUsage {
    cpu_user_seconds: Option<f64>,
    cpu_system_seconds: Option<f64>,
    peak_memory_bytes: Option<f64>,
    peak_tasks: Option<f64>,
    written_bytes: Option<f64>,
    output_bytes: Option<f64>,
}

impl Line<'_> {
    /// Each of [`FIGURES`], where the record has it.
    pub(crate) fn figures(&self) -> [Option<f64>; 6] {
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
    pub(crate) fn outcome_key(&self) -> Cow<'_, str> {
        match &self.breach {
            Some(breach) if self.outcome == "limit" => format!("limit {}", breach.limit).into(),
            _ => Cow::Borrowed(&self.outcome),
        }
    }
}

/// The sessions of one name (or of all).
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Sessions counted.
    pub(crate) sessions: u64,
    /// Sessions per outcome key (`exited`, `limit mem`...).
    pub(crate) outcomes: BTreeMap<String, u64>,
    /// Each of [`FIGURES`].
    pub(crate) figures: [Distribution; 6],
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
pub(crate) struct Summary {
    /// Every session that passed the filters.
    pub(crate) all: Group,
    /// Per name (`None` for sessions without `--name`), in the order first seen.
    pub(crate) names: Vec<(Option<String>, Group)>,
    /// Lines that were no session record.
    pub(crate) skipped: u64,
    /// Where each name is in `names` while sessions are added (a log may hold many
    /// thousands of names: no search through them per line).
    index: HashMap<String, usize>,
    /// Where the sessions without a name are in `names`, likewise.
    unnamed: Option<usize>,
}

impl Summary {
    /// Count `line`.
    pub(crate) fn add(&mut self, line: &Line) {
        self.all.add(line);
        let name = line.name.as_deref();
        let known = match name {
            Some(name) => self.index.get(name).copied(),
            None => self.unnamed,
        };
        let at = known.unwrap_or_else(|| {
            let at = self.names.len();
            self.names.push((name.map(str::to_owned), Group::default()));
            match name {
                Some(name) => {
                    self.index.insert(name.to_owned(), at);
                }
                None => self.unnamed = Some(at),
            }
            at
        });
        self.names[at].1.add(line);
    }

    /// Sort the names (sessions without one first), once every session was added; then
    /// [`position`] finds a name.
    pub(crate) fn sort_names(&mut self) {
        self.names.sort_by(|a, b| a.0.cmp(&b.0));
        self.index.clear();
        self.unnamed = None;
    }
}

/// Where `name` is among `names` sorted by name, as [`Summary::sort_names`] leaves them.
pub(crate) fn position<T>(names: &[(Option<String>, T)], name: Option<&str>) -> Option<usize> {
    names
        .binary_search_by(|(n, _)| n.as_deref().cmp(&name))
        .ok()
}

/// What one name's exited sessions in an audit log usually take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Usual {
    /// The name (`None`: sessions without one).
    pub(crate) name: Option<String>,
    /// Its exited sessions in the log.
    pub(crate) sessions: u64,
    /// The p99 of each of [`FIGURES`] over them (`None` where none measured it).
    pub(crate) p99: [Option<f64>; 6],
}

/// What each name's exited sessions in the log at `path` usually take (`--baseline`).
pub(crate) fn usual(path: &Path) -> Result<Vec<Usual>, Unreadable> {
    let mut summary = Summary::default();
    for_each_record(path, false, |_, line| {
        if line.outcome == "exited" {
            summary.add(line);
        }
    })?;
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
/// lines that are none are counted (and named on stderr if `say_skipped`). A log cut
/// short (a truncated gzip) counts for the lines before the cut, which is said on stderr
/// with `say_skipped`.
pub(crate) fn for_each_record(
    path: &Path,
    say_skipped: bool,
    mut each: impl FnMut(u64, &Line),
) -> Result<u64, Unreadable> {
    let shown = path.display();
    let cannot = |error| Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let input: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(crate::machine::small_file::open_regular(path).map_err(cannot)?)
    };
    let mut input = BufReader::with_capacity(1 << 20, input);
    let gzip = input.fill_buf().map_err(cannot)?.starts_with(&[0x1f, 0x8b]);
    let lines: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(input)))
    } else {
        Box::new(input)
    };
    let mut skipped = 0;
    let mut last = 0;
    let read = lines::read_batches(lines, |batch| {
        for (number, line) in batch.lines() {
            last = number;
            match serde_json::from_slice::<Line>(line) {
                Ok(line) => each(number, &line),
                Err(e) => {
                    skipped += 1;
                    if say_skipped && line.is_empty() {
                        eprintln!("leashctl: {shown}:{number}: skipped, longer than any record");
                    } else if say_skipped {
                        eprintln!("leashctl: {shown}:{number}: skipped, not a session record: {e}");
                    }
                }
            }
        }
    });
    match read {
        Ok(()) => Ok(skipped),
        Err(e) if last > 0 => {
            if say_skipped {
                eprintln!(
                    "leashctl: {shown}: cut short after line {last} ({e}): the lines before \
                     are counted"
                );
            }
            Ok(skipped)
        }
        Err(e) => Err(cannot(e)),
    }
}

#[cfg(test)]
mod fuzz_tests;
