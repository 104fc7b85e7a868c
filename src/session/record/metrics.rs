//! Prometheus metrics of the session (for node_exporter's textfile collector): the file is
//! rewritten atomically, with the counters carried over from its previous contents under a
//! lock on its directory (a lock file would be left behind; the file itself is replaced,
//! so a lock on it would not hold the next writer).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::path::Path;

use super::Record;
use super::files::{lock, write_whole};

/// Rewrite the metrics file with this session's figures, adding its counts to the
/// counters already there (the lock on its directory keeps concurrent sessions from
/// losing counts).
pub(super) fn write_metrics(path: &Path, record: &Record) -> io::Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let _held = lock(File::open(dir)?)?;
    let mut samples = match crate::machine::small_file::read(path) {
        Ok(text) => parse_samples(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e),
    };
    update_samples(&mut samples, record);
    write_whole(path, &render(&samples))
}

/// What each metric is, for the HELP and TYPE lines.
const METRICS: [(&str, &str, &str); 11] = [
    (
        "leash_sessions_total",
        "counter",
        "Sessions that ended, by outcome.",
    ),
    (
        "leash_limit_breaches_total",
        "counter",
        "Sessions stopped at a limit, by limit.",
    ),
    (
        "leash_baseline_warnings_total",
        "counter",
        "Figures that passed what the session's name usually takes (--baseline), by limit.",
    ),
    (
        "leash_session_duration_seconds",
        "gauge",
        "Wall time of the last session.",
    ),
    (
        "leash_session_cpu_seconds",
        "gauge",
        "CPU time of the last session, by mode.",
    ),
    (
        "leash_session_peak_memory_bytes",
        "gauge",
        "Peak memory of the last session.",
    ),
    (
        "leash_session_peak_tasks",
        "gauge",
        "Peak processes and threads of the last session.",
    ),
    (
        "leash_session_output_bytes",
        "gauge",
        "Output of the last session (with --output or --idle).",
    ),
    (
        "leash_session_exit_code",
        "gauge",
        "Exit code of the last session (when leash exited).",
    ),
    (
        "leash_session_stopped_processes",
        "gauge",
        "Processes the last session's stop sequence signalled.",
    ),
    (
        "leash_session_end_timestamp_seconds",
        "gauge",
        "When the last session ended (Unix time).",
    ),
];

/// Samples by metric name and label set (`{name="x",limit="mem"}`).
type Samples = BTreeMap<(String, String), f64>;

/// The samples of a text exposition written by leash (other lines are dropped).
fn parse_samples(text: &str) -> Samples {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, labels) = match series.find('{') {
                Some(at) => (&series[..at], &series[at..]),
                None => (series, ""),
            };
            let known = METRICS.iter().any(|(name, _, _)| *name == metric);
            let value = value.parse().ok()?;
            known.then(|| ((metric.to_string(), labels.to_string()), value))
        })
        .collect()
}

fn update_samples(samples: &mut Samples, record: &Record) {
    let labels = Labels::of(record);
    let mut count = |metric: &str, labels: String| {
        *samples.entry((metric.to_string(), labels)).or_insert(0.0) += 1.0;
    };
    count(
        "leash_sessions_total",
        labels.with(&[("outcome", record.outcome.label())]),
    );
    if let Some(breach) = &record.breach {
        count(
            "leash_limit_breaches_total",
            labels.with(&[("limit", breach.limit.name())]),
        );
    }
    for warning in record.warnings.iter().filter(|w| w.baseline) {
        count(
            "leash_baseline_warnings_total",
            labels.with(&[("limit", warning.limit.name())]),
        );
    }
    for (metric, labels, value) in gauges(record, &labels) {
        let key = (metric.to_string(), labels);
        match value {
            Some(value) => samples.insert(key, value),
            None => samples.remove(&key),
        };
    }
}

/// The label sets of one session's samples: its name, and what else a series needs.
struct Labels {
    name: String,
}

impl Labels {
    fn of(record: &Record) -> Labels {
        Labels {
            name: escape(record.name.as_deref().unwrap_or("")),
        }
    }

    /// `{name="x",key="value",...}`.
    fn with(&self, extra: &[(&str, &str)]) -> String {
        let mut text = format!("{{name=\"{}\"", self.name);
        for (key, value) in extra {
            let _ = write!(text, ",{key}=\"{}\"", escape(value));
        }
        text + "}"
    }
}

/// The last session's gauges: metric, labels, and the value (`None`: not measured, so the
/// series goes).
fn gauges(record: &Record, labels: &Labels) -> [(&'static str, String, Option<f64>); 9] {
    let usage = &record.usage;
    #[allow(clippy::cast_precision_loss)] // figures far below 2^52
    let number = |n: u64| n as f64;
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let plain = labels.with(&[]);
    [
        (
            "leash_session_duration_seconds",
            plain.clone(),
            Some(record.wall_seconds),
        ),
        (
            "leash_session_cpu_seconds",
            labels.with(&[("mode", "user")]),
            Some(usage.cpu_user_seconds),
        ),
        (
            "leash_session_cpu_seconds",
            labels.with(&[("mode", "system")]),
            Some(usage.cpu_system_seconds),
        ),
        (
            "leash_session_peak_memory_bytes",
            plain.clone(),
            usage.peak_memory_bytes.map(number),
        ),
        (
            "leash_session_peak_tasks",
            plain.clone(),
            usage.peak_tasks.map(number),
        ),
        (
            "leash_session_output_bytes",
            plain.clone(),
            usage.output_bytes.map(number),
        ),
        (
            "leash_session_exit_code",
            plain.clone(),
            record.exit_code.map(f64::from),
        ),
        (
            "leash_session_stopped_processes",
            plain.clone(),
            u64::try_from(record.stopped_processes).ok().map(number),
        ),
        ("leash_session_end_timestamp_seconds", plain, Some(end)),
    ]
}

/// The text exposition format, with HELP and TYPE for each metric present.
fn render(samples: &Samples) -> String {
    let mut text = String::new();
    for (metric, kind, help) in METRICS {
        let series: Vec<_> = samples.iter().filter(|((m, _), _)| m == metric).collect();
        if series.is_empty() {
            continue;
        }
        let _ = writeln!(text, "# HELP {metric} {help}");
        let _ = writeln!(text, "# TYPE {metric} {kind}");
        for ((_, labels), value) in series {
            let _ = writeln!(text, "{metric}{labels} {value}");
        }
    }
    text
}

/// A label value with `\`, `"` and newlines escaped as the format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_gauges_are_replaced() {
        let text = "# HELP leash_sessions_total x\n\
                    leash_sessions_total{name=\"ci\",outcome=\"limit\"} 2\n\
                    leash_session_duration_seconds{name=\"ci\"} 9.5\n\
                    something_else 1\n";
        let samples = parse_samples(text);
        assert_eq!(samples.len(), 2);
        let rendered = render(&samples);
        assert!(rendered.contains("# TYPE leash_sessions_total counter"));
        assert!(rendered.contains("leash_sessions_total{name=\"ci\",outcome=\"limit\"} 2\n"));
        assert!(!rendered.contains("something_else"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
