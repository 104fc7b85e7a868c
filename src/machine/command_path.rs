//! Finding the command on PATH, as `execvp` would, before anything starts: a missing
//! command is 127, one that cannot be executed 126.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::machine::error::Error;

/// Find the program as `execvp` would: a name with a slash is used as it is; otherwise
/// the first executable regular file of that name in a PATH directory.
pub(crate) fn resolve(name: &OsStr) -> Result<PathBuf, Error> {
    if name.is_empty() {
        return Err(Error::NotFound(name.into()));
    }
    if name.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut denied = None;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(name);
        match executable(&candidate) {
            Some(true) => return Ok(candidate),
            Some(false) => denied = denied.or(Some(candidate)),
            None => {}
        }
    }
    // As execvp: a file that exists but cannot be run is reported as such (126).
    match denied {
        Some(candidate) => Err(Error::CannotExecute(candidate.into(), Errno::EACCES)),
        None => Err(Error::NotFound(name.into())),
    }
}

/// `None` if there is nothing at `path`, else whether it can be executed (a directory,
/// a device, or anything in a directory this process may not search cannot: execve(2) refuses it with EACCES, and so execvp goes on looking but
/// reports EACCES if nothing else is found).
fn executable(path: &Path) -> Option<bool> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        // A directory it may not search: execve(2) would fail with EACCES there too.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Some(false),
        Err(_) => return None,
    };
    if !metadata.is_file() {
        return Some(false);
    }
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    // access(2) answers for this process's real ids, as the exec will be checked.
    Some(
        metadata.permissions().mode() & 0o111 != 0
            && nix::unistd::access(c_path.as_c_str(), nix::unistd::AccessFlags::X_OK).is_ok(),
    )
}
