//! Writing the session's record where it was asked for: the report (atomically), the
//! audit log (one line appended under a lock), Prometheus metrics (see `metrics`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::Record;
use super::metrics::write_metrics;
use crate::cli::Settings;
use crate::message::error;

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
pub(super) fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
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
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
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

pub(super) fn lock(file: File) -> io::Result<Flock<File>> {
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}
