//! Writing the session's record where it was asked for: the report (atomically), the
//! audit log (one line appended under a lock), Prometheus metrics (atomically, counters
//! carried over from the file's previous contents under a lock).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::cli::Settings;
use crate::record::Record;
use crate::report::error;

/// Write the record to every place `settings` names; a place that fails is reported and
/// the others are still written.
pub fn publish(record: &Record, settings: &Settings) {
    if let Some(path) = &settings.report {
        let written = if path.as_os_str() == "-" {
            let mut text = record.to_json_pretty();
            text.push('\n');
            io::stderr().lock().write_all(text.as_bytes())
        } else {
            write_atomically(path, &(record.to_json_pretty() + "\n"))
        };
        if let Err(e) = written {
            error(&format!("--report {}: {e}", path.display()));
        }
    }
    if let Some(path) = &settings.audit_log
        && let Err(e) = append_line(path, &record.to_json_line())
    {
        error(&format!("--audit-log {}: {e}", path.display()));
    }
    if let Some(path) = &settings.metrics
        && let Err(e) = write_metrics(path, record)
    {
        error(&format!("--metrics {}: {e}", path.display()));
    }
}

/// Replace `path` with `text` at once: readers see the old file or the new one, never a
/// part (a temporary file in the same directory, renamed over it).
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let temporary = sibling(path, &format!(".tmp.{}", std::process::id()));
    let written = File::create(&temporary).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&temporary, path)) {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(())
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Append `line` and a newline to `path` in one write, under an exclusive lock: lines
/// from many leash processes never tear or interleave, and nothing is truncated.
fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let file = OpenOptions::new().append(true).create(true).open(path)?;
    let mut locked = lock(file)?;
    locked.write_all(format!("{line}\n").as_bytes())
}

fn lock(file: File) -> io::Result<Flock<File>> {
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}

/// Rewrite the metrics file with this session's figures, adding its counts to the
/// counters already there (a lock file keeps concurrent sessions from losing counts).
fn write_metrics(path: &Path, record: &Record) -> io::Result<()> {
    let lock_file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(sibling(path, ".lock"))?;
    let _held = lock(lock_file)?;
    let mut samples = match fs::read_to_string(path) {
        Ok(text) => parse_samples(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e),
    };
    update_samples(&mut samples, record);
    write_atomically(path, &render(&samples))
}

/// What each metric is, for the HELP and TYPE lines.
const METRICS: [(&str, &str, &str); 10] = [
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
    let name = escape(record.name.as_deref().unwrap_or(""));
    let labels = |extra: &[(&str, &str)]| {
        let mut text = format!("{{name=\"{name}\"");
        for (key, value) in extra {
            let _ = write!(text, ",{key}=\"{}\"", escape(value));
        }
        text + "}"
    };
    let mut count = |metric: &str, labels: String| {
        *samples.entry((metric.to_string(), labels)).or_insert(0.0) += 1.0;
    };
    count(
        "leash_sessions_total",
        labels(&[("outcome", record.outcome.label())]),
    );
    if let Some(breach) = &record.breach {
        count(
            "leash_limit_breaches_total",
            labels(&[("limit", breach.limit)]),
        );
    }
    let usage = &record.usage;
    #[allow(clippy::cast_precision_loss)] // figures far below 2^52
    let number = |n: u64| n as f64;
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let gauges = [
        (
            "leash_session_duration_seconds",
            labels(&[]),
            Some(record.wall_seconds),
        ),
        (
            "leash_session_cpu_seconds",
            labels(&[("mode", "user")]),
            Some(usage.cpu_user_seconds),
        ),
        (
            "leash_session_cpu_seconds",
            labels(&[("mode", "system")]),
            Some(usage.cpu_system_seconds),
        ),
        (
            "leash_session_peak_memory_bytes",
            labels(&[]),
            usage.peak_memory_bytes.map(number),
        ),
        (
            "leash_session_peak_tasks",
            labels(&[]),
            usage.peak_tasks.map(number),
        ),
        (
            "leash_session_output_bytes",
            labels(&[]),
            usage.output_bytes.map(number),
        ),
        (
            "leash_session_exit_code",
            labels(&[]),
            record.exit_code.map(f64::from),
        ),
        (
            "leash_session_stopped_processes",
            labels(&[]),
            u64::try_from(record.stopped_processes).ok().map(number),
        ),
        (
            "leash_session_end_timestamp_seconds",
            labels(&[]),
            Some(end),
        ),
    ];
    for (metric, labels, value) in gauges {
        let key = (metric.to_string(), labels);
        match value {
            Some(value) => samples.insert(key, value),
            None => samples.remove(&key),
        };
    }
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
