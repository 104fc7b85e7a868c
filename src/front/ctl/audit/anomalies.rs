//! `audit --anomalies`: the sessions whose figures lie far above their name's history.
//!
//! The rule is Tukey's far-out fence on a log scale (sizes and durations spread over
//! orders of magnitude): above q3 + 3·(q3 − q1) of ln(1 + x), with q1 and q3 the name's
//! quartiles; robust, as a few runaways move neither quartile. A figure is judged only
//! with at least [`MIN_HISTORY`] sessions of history, and a flagged value must also be
//! four times the median and above a floor of its unit, so that figures that barely vary
//! (a CPU time of 2 ms in nearly every session) do not make every small wobble an anomaly.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::front::ctl::CtlError;
use crate::session::history::{FIGURES, FLOORS, Line, Summary, position};

/// Sessions of a name that measured a figure before that figure is judged.
pub(crate) const MIN_HISTORY: u64 = 30;

/// What a name's figure usually is, and the value above which a session is flagged.
#[derive(Clone, Copy, Debug)]
struct Fence {
    median: f64,
    above: f64,
}

/// A session far outside its name's history in one figure.
#[derive(Debug)]
pub(crate) struct Anomaly {
    file: PathBuf,
    line: u64,
    name: Option<String>,
    started_at: String,
    figure: &'static str,
    value: f64,
    fence: Fence,
}

/// The fences of each name (sessions without a name are a name of their own).
pub(crate) struct Fences(Vec<(Option<String>, [Option<Fence>; 6])>);

impl Fences {
    /// The fences of the history in `summary`.
    pub(crate) fn of(summary: &mut Summary) -> Fences {
        Fences(fences(summary))
    }

    /// Each figure of `line` above its name's fence: the figure, its value, the fence.
    fn breaches(&self, line: &Line) -> Vec<(&'static str, f64, Fence)> {
        let name = line.name.as_deref();
        let Some((_, fences)) = position(&self.0, name).map(|at| &self.0[at]) else {
            return Vec::new();
        };
        FIGURES
            .iter()
            .zip(line.figures())
            .zip(fences)
            .filter_map(|((figure, value), fence)| {
                let (value, fence) = (value?, (*fence)?);
                (value > fence.above).then_some((*figure, value, fence))
            })
            .collect()
    }

    /// Whether a figure of `line` lies above its name's fence.
    pub(crate) fn flags(&self, line: &Line) -> bool {
        !self.breaches(line).is_empty()
    }
}

fn fences(summary: &mut Summary) -> Vec<(Option<String>, [Option<Fence>; 6])> {
    // The `libm` crate's, as for the distributions: no libm.so to load.
    let log = |x: f64| libm::log1p(x.max(0.0));
    summary
        .names
        .iter_mut()
        .map(|(name, group)| {
            let mut fences = [None; 6];
            for (i, distribution) in group.figures.iter_mut().enumerate() {
                if distribution.count() < MIN_HISTORY {
                    continue;
                }
                let (Some(q1), Some(median), Some(q3)) = (
                    distribution.quantile(0.25),
                    distribution.quantile(0.5),
                    distribution.quantile(0.75),
                ) else {
                    continue;
                };
                let tukey = libm::expm1(log(q3) + 3.0 * (log(q3) - log(q1)));
                let above = tukey.max(4.0 * median).max(FLOORS[i]);
                fences[i] = Some(Fence { median, above });
            }
            (name.clone(), fences)
        })
        .collect()
}

/// The anomalies among the sessions `rescan` hands over again (file, line, record), judged
/// by the history in `summary`.
pub(crate) fn find(
    summary: &mut Summary,
    rescan: impl FnOnce(&mut dyn FnMut(&Path, u64, &Line)) -> Result<(), CtlError>,
) -> Result<Vec<Anomaly>, CtlError> {
    let fences = Fences::of(summary);
    let mut found = Vec::new();
    rescan(&mut |file, number, line| {
        for (figure, value, fence) in fences.breaches(line) {
            found.push(Anomaly {
                file: file.to_path_buf(),
                line: number,
                name: line.name.as_deref().map(str::to_owned),
                started_at: line.started_at.to_string(),
                figure,
                value,
                fence,
            });
        }
    })?;
    Ok(found)
}

/// The anomalies, a line each (or as JSON).
pub(crate) fn render(found: &[Anomaly], json: bool) -> String {
    if json {
        let rows: Vec<_> = found
            .iter()
            .map(|a| {
                json!({
                    "file": a.file.display().to_string(),
                    "line": a.line,
                    "name": a.name,
                    "started_at": a.started_at,
                    "figure": a.figure,
                    "value": a.value,
                    "median": a.fence.median,
                    "fence": a.fence.above,
                })
            })
            .collect();
        let document = json!({ "anomalies": rows, "min_history": MIN_HISTORY });
        return serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for a in found {
        let show = |v| super::render::show(a.figure, v);
        let times = if a.fence.median > 0.0 {
            format!("{:.0}x the median", a.value / a.fence.median)
        } else {
            "the median is 0".to_string()
        };
        let _ = writeln!(
            out,
            "{}:{} {} started {}: {} {} ({times} {}; flagged above {})",
            a.file.display(),
            a.line,
            crate::machine::printable::printable(a.name.as_deref().unwrap_or("(no name)")),
            a.started_at,
            super::render::label(a.figure),
            show(a.value),
            show(a.fence.median),
            show(a.fence.above)
        );
    }
    let _ = writeln!(
        out,
        "{} anomalies (names with at least {MIN_HISTORY} sessions of history)",
        found.len()
    );
    out
}
