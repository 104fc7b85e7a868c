//! Reading the files leash reads whole (config files, the metrics file it updates, the
//! registry's files): only regular files, of at most 1 MiB, so that a device, a FIFO or a
//! huge file, named by mistake or planted by another user, is an error instead of a hang
//! or an exhausted memory. Also opening a file leash reads as it goes (an audit log): a
//! regular file, never waiting for a FIFO's writer.

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

/// Open the regular file at `path` to read it (a symlink is followed) without waiting on
/// what is not one: a FIFO with no writer is refused, not waited for.
pub(crate) fn open_regular(path: &Path) -> io::Result<fs::File> {
    let file = open_without_waiting(fs::OpenOptions::new().read(true), 0, path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Open `path` as `options` and the open(2) `flags` say (`O_NOFOLLOW`; options' own
/// custom flags are replaced), never waiting: a FIFO with no process at its other end is
/// an error (`ENXIO` for a writer) or reads as empty, not a hang. The file is then in
/// blocking mode, for reads and writes as any program makes them.
pub(crate) fn open_without_waiting(
    options: &mut fs::OpenOptions,
    flags: i32,
    path: &Path,
) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = options
        .custom_flags(flags | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let flags = nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_GETFL)?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) - nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(flags))?;
    Ok(file)
}

/// Open `path` (with `flags`, never waiting), check that what was opened is a regular
/// file of at most [`LARGEST`] bytes, and read it, never more than that.
fn read_bounded(path: &Path, flags: i32) -> io::Result<(Vec<u8>, fs::Metadata)> {
    let file = open_without_waiting(fs::OpenOptions::new().read(true), flags, path)?;
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
