//! How a record reaches a file: written whole (never half, never through a planted file),
//! or one line appended under a lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

/// Write `text` to `path` as a whole, never replacing what is not a file of its own:
/// - a regular file, or nothing yet: replaced at once (readers see the old file or the
///   new one, never a part) through a temporary file in the same directory, of a random
///   name and created exclusively, so that no file planted there is ever written through;
/// - a symlink: followed, and its target replaced so (a symlink to nothing is refused);
/// - anything else (a device such as /dev/null, a FIFO, /dev/stdout): written in place,
///   a FIFO only if a process reads it (never waiting for one).
pub(super) fn write_whole(path: &Path, text: &str) -> io::Result<()> {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() => {
            open_in_place(OpenOptions::new().write(true), path)?.write_all(text.as_bytes())
        }
        Ok(metadata) if is_link => replace(&fs::canonicalize(path)?, text, Some(&metadata)),
        Ok(metadata) => replace(path, text, Some(&metadata)),
        Err(e) if is_link => Err(io::Error::new(e.kind(), "a symlink to nothing")),
        Err(_) => replace(path, text, None),
    }
}

/// Replace the regular file `path` (whose metadata is `old`, if it exists) with `text`.
/// The new file has the old one's mode, else the usual 0666 less the umask.
fn replace(path: &Path, text: &str, old: Option<&fs::Metadata>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    let mut temporary = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mode = old.map_or_else(
        || 0o666 & !current_umask(),
        |m| m.permissions().mode() & 0o7777,
    );
    temporary
        .as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    // Renamed over the old file without an fsync first, as the audit log's lines are
    // appended: a reader sees the old report or the new one whole, and a report is read
    // right after its session (an agent's hook, a CI step). An fsync cost every session
    // about a millisecond on ext4, more on a slow disk.
    temporary.write_all(text.as_bytes())?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The process's umask (read by setting it and back: leash is single-threaded here).
fn current_umask() -> u32 {
    use nix::sys::stat::{Mode, umask};
    let mask = umask(Mode::from_bits_truncate(0o022));
    umask(mask);
    mask.bits()
}

/// Append `line` and a newline to `path` in one write, under an exclusive lock: lines
/// from many leash processes never tear or interleave, nothing is truncated, and a line
/// is there whole or not at all.
pub(super) fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let file = open_in_place(OpenOptions::new().append(true).create(true), path)?;
    let mut locked = lock(file)?;
    let before = locked.metadata()?.len();
    let written = locked.write_all(format!("{line}\n").as_bytes());
    if written.is_err() && locked.metadata()?.is_file() {
        // A full disk took part of the line: take it back, so that the next session's
        // line does not end up glued onto half of this one.
        let _ = locked.set_len(before);
    }
    written
}

/// Open `path` as `options` say without waiting for a FIFO's reader: a FIFO no process
/// reads is an error (a record that could never be read), not a hang of leash.
fn open_in_place(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    crate::machine::small_file::open_without_waiting(options, 0, path).map_err(|e| {
        match e.raw_os_error() {
            Some(libc::ENXIO) => io::Error::new(e.kind(), "a FIFO that no process reads"),
            _ => e,
        }
    })
}

/// An exclusive lock on `file`, waited for.
pub(super) fn lock(file: File) -> io::Result<Flock<File>> {
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}
