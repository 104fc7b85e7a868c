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
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    fs::File::open(path)?
        .take(LARGEST + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > LARGEST {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "larger than 1 MiB",
        ));
    }
    Ok(text)
}

/// The bytes of the regular file at `path` and what it is, for a file in a directory
/// another user may control: never through a symlink, never blocking on a FIFO put in its
/// place (opened without waiting, then checked), never more than [`LARGEST`] bytes read.
/// Errors as [`read`]'s.
pub(crate) fn read_regular(path: &Path) -> io::Result<(Vec<u8>, fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if metadata.len() > LARGEST {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "larger than 1 MiB",
        ));
    }
    let mut bytes = Vec::new();
    file.take(LARGEST + 1).read_to_end(&mut bytes)?;
    Ok((bytes, metadata))
}
