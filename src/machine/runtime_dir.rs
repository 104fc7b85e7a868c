//! The runtime directory every leash of a user shares (`$XDG_RUNTIME_DIR/leash`, else
//! `/run/leash` for root, else `/tmp/leash-UID`), and the private directories below it:
//! the registry's `sessions`, and `slots` and `rates`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::machine::error::{Error, SetupError};

/// The directory shared by every leash of this user. `XDG_RUNTIME_DIR` counts only if
/// it is an absolute path to a directory that exists: the XDG specification ignores a
/// relative one, and the directory is the session manager's to make, not leash's.
pub(crate) fn runtime_dir() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir());
    if let Some(dir) = xdg {
        return dir.join("leash");
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/run/leash");
    }
    std::env::temp_dir().join(format!("leash-{}", nix::unistd::geteuid()))
}

/// `dir` (a directory below the runtime directory: `slots`, `rates`, `sessions`), made if
/// missing
/// (0700), and checked with its parent to be this user's own: real directories, owned by
/// this user, open to no one else. Another user's could hold its locks or plant links
/// in it, so it is refused; an own one that an older leash left open (0755) is closed.
pub(crate) fn private_dir(dir: &Path, flag: &'static str) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let problem = |at: &Path, why: &dyn std::fmt::Display| SetupError::runtime(flag, at, why);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| problem(dir, &e))?;
    let me = nix::unistd::geteuid().as_raw();
    for at in [dir.parent().unwrap_or(dir), dir] {
        let metadata = fs::symlink_metadata(at).map_err(|e| problem(at, &e))?;
        if !metadata.is_dir() {
            return Err(problem(at, &"not a directory of its own (a symlink?)"));
        }
        if metadata.uid() != me {
            let why = format!(
                "belongs to another user (uid {}); leash needs a directory of its own",
                metadata.uid()
            );
            return Err(problem(at, &why));
        }
        if metadata.mode() & 0o077 != 0 {
            fs::set_permissions(at, fs::Permissions::from_mode(0o700))
                .map_err(|e| problem(at, &e))?;
        }
    }
    Ok(())
}
