//! Whether a path is the caller's to trust: no directory on the way to it that another
//! user may change (as sudo and OpenSSH's StrictModes check), so what the caller writes
//! there, or later runs from there, cannot be swapped or written through by them.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A directory on the way to a path that another user may change.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OpenTo {
    /// The directory.
    pub(crate) dir: PathBuf,
    /// Who may change it: `user N` (its owner), `group N`, or `every user`.
    pub(crate) whom: String,
}

/// The first directory from `/` down to `path` (itself included, if it exists; symlinks
/// followed as the kernel would) that someone other than the caller and root may change:
/// one they own, or one everyone or a group other than root's and the caller's own may
/// write, that is not sticky.
pub(crate) fn open_to_others(path: &Path) -> Option<OpenTo> {
    let me = nix::unistd::geteuid().as_raw();
    let my_group = nix::unistd::getegid().as_raw();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // The part that exists, as the kernel resolves it; what is still to be made below it
    // will be made by the caller.
    let existing = absolute
        .ancestors()
        .find_map(|a| std::fs::canonicalize(a).ok())?;
    existing.ancestors().find_map(|dir| {
        let meta = std::fs::metadata(dir).ok()?;
        let mode = meta.permissions().mode();
        let sticky = mode & 0o1000 != 0;
        let whom = if meta.uid() != me && meta.uid() != 0 {
            format!("user {}", meta.uid())
        } else if mode & 0o002 != 0 && !sticky {
            "every user".to_string()
        } else if mode & 0o020 != 0 && !sticky && meta.gid() != 0 && meta.gid() != my_group {
            format!("group {}", meta.gid())
        } else {
            return None;
        };
        Some(OpenTo {
            dir: dir.to_path_buf(),
            whom,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_everyone_may_write_is_found_and_a_sticky_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let found = open_to_others(&open.join("kernels/k")).expect("found");
        assert_eq!(found.dir, std::fs::canonicalize(&open).unwrap());
        assert_eq!(found.whom, "every user");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let sticky = open_to_others(&open.join("k"));
        assert!(sticky.is_none_or(|f| f.dir != open), "sticky");
    }
}
