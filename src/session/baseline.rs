//! `--baseline LOG`: what the session's `--name` usually takes, from the exited sessions
//! of that name in an audit log (the p99 of each figure), kept in a cache beside the log;
//! the thresholds above which the running session is warned of.
//!
//! Reading a large log at every start would cost seconds, so the summary of every name is
//! cached in `LOG.baseline.json` (or not at all where the log's directory cannot be
//! written) and made again only when the log has grown by a tenth since, or shrank (it
//! was rotated): a log that every session appends to is read whole a few times over its
//! life, not at each start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::machine::error::{Error, UsageError};
use crate::session::history::{FLOORS, Usual, usual};
use crate::session::session_limits::SessionLimits;
use crate::session::spec::Spec;

/// Exited sessions of the name the history needs before it warns of anything.
pub(crate) const MIN_HISTORY: u64 = 30;

/// The cache beside the log.
#[derive(Serialize, Deserialize)]
struct Cache {
    /// The log's size when the cache was made.
    log_bytes: u64,
    usual: Vec<Usual>,
}

/// A name's history: the thresholds (as session limits: wall, memory, CPU, tasks, disk
/// writes, output), and where they come from.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// A figure above its threshold is unusual for the name.
    pub(crate) thresholds: SessionLimits,
    /// The exited sessions the thresholds come from.
    pub(crate) sessions: u64,
    /// The log.
    pub(crate) log: PathBuf,
}

/// `--baseline`'s history of the session's `--name`; said on stderr where the log holds
/// too little of it to warn of anything.
pub(crate) fn for_session(settings: &Spec) -> Result<Option<Baseline>, Error> {
    let (Some(log), Some(name)) = (&settings.baseline, &settings.name) else {
        return Ok(None);
    };
    let baseline = load(log, name)?;
    if baseline.is_none() {
        crate::session::message::notice(
            settings.verbosity,
            &format!(
                "--baseline {}: fewer than {} exited sessions of {name} yet; no warnings of \
                 unusual figures this time",
                log.display(),
                MIN_HISTORY
            ),
        );
    }
    Ok(baseline)
}

/// The baseline of `name` from the audit log at `log`: `Ok(None)` when the log does not
/// exist yet or holds fewer than [`MIN_HISTORY`] exited sessions of the name.
pub(crate) fn load(log: &Path, name: &str) -> Result<Option<Baseline>, Error> {
    let size = match fs::metadata(log) {
        Ok(metadata) => metadata.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(log, &e.to_string())),
    };
    let usual = if let Some(usual) = cached(log, size) {
        usual
    } else {
        let usual = usual(log).map_err(|e| cannot(log, &e.to_string()))?;
        keep(log, size, &usual);
        usual
    };
    let Some(mine) = usual.into_iter().find(|u| u.name.as_deref() == Some(name)) else {
        return Ok(None);
    };
    if mine.sessions < MIN_HISTORY {
        return Ok(None);
    }
    let at = |i: usize| mine.p99[i].map(|p99| p99.max(FLOORS[i]));
    let seconds = |i| at(i).map(Duration::from_secs_f64);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let count = |i| at(i).map(|v: f64| v.ceil() as u64);
    Ok(Some(Baseline {
        thresholds: SessionLimits {
            wall: seconds(0),
            cpu: seconds(1),
            memory: count(2),
            tasks: count(3),
            disk_write: count(4),
            output: count(5),
            idle: None,
        },
        sessions: mine.sessions,
        log: log.to_path_buf(),
    }))
}

fn cannot(log: &Path, why: &str) -> Error {
    UsageError::Path {
        flag: "--baseline",
        path: log.to_path_buf(),
        why: why.to_string(),
    }
    .into()
}

fn cache_of(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".baseline.json");
    log.with_file_name(name)
}

/// The cached summary, if it is of this log grown by less than a tenth, and the user's own
/// (in a shared directory another user could plant one that hides every warning).
fn cached(log: &Path, size: u64) -> Option<Vec<Usual>> {
    use std::os::unix::fs::MetadataExt;
    let cache = cache_of(log);
    let metadata = fs::symlink_metadata(&cache).ok()?;
    if !metadata.is_file() || metadata.uid() != nix::unistd::geteuid().as_raw() {
        return None;
    }
    let text = crate::machine::small_file::read(&cache).ok()?;
    let cache: Cache = serde_json::from_str(&text).ok()?;
    (cache.log_bytes <= size && size <= cache.log_bytes + cache.log_bytes / 10)
        .then_some(cache.usual)
}

/// Keep `usual` beside the log, atomically; where that cannot be written, nothing is kept.
fn keep(log: &Path, size: u64, usual: &[Usual]) {
    let cache = Cache {
        log_bytes: size,
        usual: usual.to_vec(),
    };
    let Ok(text) = serde_json::to_vec(&cache) else {
        return;
    };
    let dir = log.parent().filter(|d| !d.as_os_str().is_empty());
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new("."))) else {
        return;
    };
    if file.write_all(&text).is_ok() {
        let _ = file.persist(cache_of(log));
    }
}
