//! Writing the session's record where it was asked for: the report (atomically), the
//! audit log (one line appended under a lock), Prometheus metrics (see `metrics`).

use std::io::{self, Write};

use super::Record;
use super::destinations::Destinations;
use super::files::{append_line, write_whole};
use super::metrics::write_metrics;
use crate::session::message::error;

/// Write the record to every place `to` names; a place that fails is reported and the
/// others are still written. Returns whether every place was written.
#[must_use]
pub(crate) fn publish(record: &Record, to: &Destinations) -> bool {
    let mut all = true;
    if let Some(path) = &to.report {
        let written = if path.as_os_str() == "-" {
            let mut text = record.to_json_pretty();
            text.push('\n');
            // After the session's own output, all of which has been relayed by now.
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
        } else {
            write_whole(path, &(record.to_json_pretty() + "\n"))
        };
        if let Err(e) = written {
            error(&format!("--report {}: {e}", path.display()));
            all = false;
        }
    }
    if let Some(path) = &to.audit_log
        && let Err(e) = append_line(path, &record.to_json_line())
    {
        error(&format!("--audit-log {}: {e}", path.display()));
        all = false;
    }
    if let Some(path) = &to.metrics
        && let Err(e) = write_metrics(path, record)
    {
        error(&format!("--metrics {}: {e}", path.display()));
        all = false;
    }
    all
}
