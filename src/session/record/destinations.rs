//! Where a session's records go (`--report`, `--audit-log`, `--metrics`), checked before
//! the session starts: a destination that cannot be written is refused (125) rather than
//! found out once the record is lost. Also read from a command line that did not parse,
//! so that even that failure leaves its record.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, access};

use crate::machine::error::{Error, UsageError};
use crate::session::spec::Spec;

/// The least room a record needs on its file system (a page).
const ROOM: u64 = 4096;

/// Where the records go.
#[derive(Clone, Debug, Default)]
pub(crate) struct Destinations {
    /// `--report` (`-`: stdout).
    pub(crate) report: Option<PathBuf>,
    /// `--audit-log`.
    pub(crate) audit_log: Option<PathBuf>,
    /// `--metrics`.
    pub(crate) metrics: Option<PathBuf>,
}

impl Destinations {
    /// The destinations `settings` name.
    pub(crate) fn of(settings: &Spec) -> Destinations {
        Destinations {
            report: settings.report.clone(),
            audit_log: settings.audit_log.clone(),
            metrics: settings.metrics.clone(),
        }
    }

    /// The destinations a raw command line names (`--report FILE`, `--report=FILE`), for
    /// one that did not parse; what follows `--` is the command.
    pub(crate) fn in_args(args: &[OsString]) -> Destinations {
        let value = |flag: &str| flag_value(args, flag).map(PathBuf::from);
        Destinations {
            report: value("--report"),
            audit_log: value("--audit-log"),
            metrics: value("--metrics"),
        }
    }

    /// Whether any record is asked for.
    pub(crate) fn any(&self) -> bool {
        self.report.is_some() || self.audit_log.is_some() || self.metrics.is_some()
    }

    /// Each destination with its flag.
    pub(crate) fn flagged(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        [
            ("--report", &self.report),
            ("--audit-log", &self.audit_log),
            ("--metrics", &self.metrics),
        ]
        .into_iter()
        .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
    }

    /// Refuse a destination that cannot be written: a directory, a missing or unwritable
    /// directory for a new file, an unwritable file, a full or read-only file system.
    pub(crate) fn check(&self) -> Result<(), Error> {
        for (flag, path) in self.flagged() {
            let why = match std::fs::metadata(path) {
                // Its counters are read back from it: a regular file only.
                Ok(meta) if flag == "--metrics" && !meta.is_file() && !meta.is_dir() => {
                    Some("not a regular file".to_string())
                }
                _ if path.as_os_str() == "-" => None,
                _ => unwritable(path),
            };
            if let Some(why) = why {
                return Err(UsageError::Path {
                    flag,
                    path: path.to_path_buf(),
                    why,
                }
                .into());
            }
        }
        Ok(())
    }
}

/// The value of `flag` in `args` before `--`, the last one given.
pub(crate) fn flag_value(args: &[OsString], flag: &str) -> Option<OsString> {
    let before_command = args.iter().take_while(|a| *a != "--");
    let mut value = None;
    let mut previous: Option<&OsString> = None;
    let joined = format!("{flag}=");
    for arg in before_command {
        if previous.is_some_and(|p| p == flag) {
            value = Some(arg.clone());
        } else if let Some(rest) = arg.to_str().and_then(|a| a.strip_prefix(&joined)) {
            value = Some(rest.into());
        }
        previous = Some(arg);
    }
    value
}

/// Why a record could not be written at `path`, if it could not.
fn unwritable(path: &Path) -> Option<String> {
    let cannot_write =
        |path: &Path, flags: AccessFlags| access(path, flags).err().map(|e| e.desc().to_string());
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Some("is a directory".into()),
        Ok(meta) if meta.is_file() => {
            cannot_write(path, AccessFlags::W_OK).or_else(|| no_room(path))
        }
        // A device or a FIFO: written in place.
        Ok(_) => cannot_write(path, AccessFlags::W_OK),
        Err(_) if path.is_symlink() => Some("a symbolic link to nothing".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Some(format!("no directory {}", dir.display()));
            }
            cannot_write(dir, AccessFlags::W_OK | AccessFlags::X_OK)
                .map(|why| format!("cannot create a file in {}: {why}", dir.display()))
                .or_else(|| no_room(dir))
        }
        Err(e) => Some(e.to_string()),
    }
}

/// Whether the file system of `path` lacks the room for a record (the blocks its user may
/// take: root may take the reserved ones).
fn no_room(path: &Path) -> Option<String> {
    let fs = match nix::sys::statvfs::statvfs(path) {
        Ok(fs) => fs,
        Err(e) => return Some(e.desc().to_string()),
    };
    let blocks = if nix::unistd::geteuid().is_root() {
        fs.blocks_free()
    } else {
        fs.blocks_available()
    };
    // The block counts' types differ between targets (u64 here).
    #[allow(clippy::useless_conversion)]
    let room = u64::from(blocks).saturating_mul(u64::from(fs.fragment_size()));
    (room < ROOM).then(|| "no space left on its file system".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_found_in_a_raw_command_line() {
        let args: Vec<OsString> = [
            "leash",
            "--report",
            "a.json",
            "--audit-log=b.log",
            "--wall",
            "0",
            "--",
            "--report",
            "x",
        ]
        .map(OsString::from)
        .to_vec();
        let found = Destinations::in_args(&args);
        assert_eq!(found.report, Some(PathBuf::from("a.json")));
        assert_eq!(found.audit_log, Some(PathBuf::from("b.log")));
        assert_eq!(found.metrics, None);
    }

    #[test]
    fn what_cannot_be_written_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unwritable(dir.path()), Some("is a directory".into()));
        let missing = dir.path().join("no/such/report.json");
        assert!(unwritable(&missing).unwrap().starts_with("no directory "));
        assert_eq!(unwritable(&dir.path().join("new.json")), None);
        assert_eq!(unwritable(Path::new("/dev/null")), None);
    }
}
