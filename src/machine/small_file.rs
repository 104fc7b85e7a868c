//! Reading the files leash reads whole (config files, the metrics file it updates, the
//! registry's files): only regular files, of at most 1 MiB, so that a device, a FIFO or a
//! huge file, named by mistake or planted by another user, is an error instead of a hang
//! or an exhausted memory.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// The most leash reads of such a file.
pub(crate) const LARGEST: u64 = 1 << 20;

/// The text of the regular file at `path` (a symlink is followed). Errors: the file's
/// own (`NotFound` for none), `InvalidInput` for what is not a regular file,
/// `FileTooLarge` for more than [`LARGEST`] bytes.
pub(crate) fn read(path: &Path) -> io::Result<String> {
    // Looked at before it is opened: opening a device may do something.
    if !fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let (bytes, _) = read_bounded(path, 0)?;
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The bytes of the regular file at `path` and what it is, for a file in a directory
/// another user may control: never through a symlink, never blocking on a FIFO put in its
/// place (opened without waiting, then checked). Errors as [`read`]'s.
pub(crate) fn read_regular(path: &Path) -> io::Result<(Vec<u8>, fs::Metadata)> {
    read_bounded(path, libc::O_NOFOLLOW)
}

/// Open `path` (with `flags`, never waiting), check that what was opened is a regular
/// file of at most [`LARGEST`] bytes, and read it, never more than that.
fn read_bounded(path: &Path, flags: i32) -> io::Result<(Vec<u8>, fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    if metadata.len() > LARGEST {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    // It may have grown since: still never more than that.
    file.take(LARGEST + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > LARGEST {
        return Err(too_large());
    }
    Ok((bytes, metadata))
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::FileTooLarge, "larger than 1 MiB")
}

fn not_regular() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")
}
