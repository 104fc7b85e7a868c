//! The private /tmp (`--private-tmp`), mounted by the first process in the session's mount
//! namespace: the paths kept below /tmp and /dev/shm cloned (open_tree(2), made read-only
//! by mount_setattr(2) unless the session may write there), a tmpfs mounted on each
//! (mount(2)) and granted to the session's Landlock ruleset (open(2) `O_PATH`,
//! landlock_add_rule(2): a rule on the directory below would not reach into a file system
//! mounted on it), the kept paths' parents made (mkdir(2)) and the clones put back in
//! place (move_mount(2)), then chdir(2) back into the working directory. System calls
//! only, on what was prepared before the fork.

use std::ffi::CString;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::step::{Failed, Step, c_path};
use crate::machine::error::{Error, IsolationError, UsageError};
use crate::session::isolation::{Isolation, PRIVATE_TMP, Reach, Writes};

/// At most this many paths are kept below the private /tmp (the child holds their clones
/// in an array of its stack).
const MAX_KEPT: usize = 16;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
const MOUNT_ATTR_RDONLY: u64 = 1;
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

/// linux/mount.h's `struct mount_attr`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// linux/landlock.h's `struct landlock_path_beneath_attr` (packed).
#[repr(C, packed)]
struct PathBeneath {
    allowed_access: u64,
    parent_fd: i32,
}

/// A tmpfs on /tmp and /dev/shm, and the paths kept in it.
#[derive(Debug)]
pub(crate) struct PrivateTmp {
    /// The tmpfs's options: `size=N,mode=1777`.
    options: CString,
    /// Where it is mounted (those of /tmp and /dev/shm that exist).
    points: Vec<CString>,
    /// The paths below them kept as they are.
    kept: Vec<KeptPath>,
    /// The working directory, when it is below the mount points: changed into again once
    /// the kept paths are in place.
    chdir: Option<CString>,
    /// The session's Landlock ruleset for files and the rights it handles, which the
    /// tmpfs is granted.
    ruleset: Option<(RawFd, u64)>,
}

/// A path below the private /tmp kept as it is (a clone of its mount put back).
#[derive(Debug)]
struct KeptPath {
    path: CString,
    is_dir: bool,
    /// The session may not write there (Landlock would not stop it: the tmpfs it is
    /// mounted in is writable).
    read_only: bool,
    /// Its parents below the mount point, outermost first, made in the new tmpfs.
    parents: Vec<CString>,
}

impl PrivateTmp {
    /// The tmpfs of `size` and what to keep in it: the paths given below /tmp and
    /// /dev/shm, and the working directory if it is there (unless `--read` holds the
    /// session to the paths given).
    pub(crate) fn prepare(
        isolation: &Isolation,
        size: u64,
        working_dir: &Path,
        program: &Path,
    ) -> Result<Self, Error> {
        let reach = &isolation.reach;
        let points: Vec<&Path> = PRIVATE_TMP
            .iter()
            .map(Path::new)
            .filter(|point| point.is_dir())
            .collect();
        let below_a_point = |path: &Path| below_any(&points, path);
        let kept = kept_paths(reach, working_dir, &points)?;
        let reachable = |path: &Path| kept.iter().any(|(k, _)| path.starts_with(k));
        let hidden = crate::session::isolation::interpreters(program)
            .into_iter()
            .find(|file| below_a_point(file) && !reachable(file));
        if let Some(file) = hidden {
            return Err(IsolationError::HidesTheCommand {
                file,
                below: PRIVATE_TMP.join(" and "),
            }
            .into());
        }
        let ruleset = match &isolation.access {
            Ok(Some(access)) if access.file_rights != 0 => {
                Some((access.ruleset.as_raw_fd(), access.file_rights))
            }
            _ => None,
        };
        Ok(PrivateTmp {
            options: CString::new(format!("size={size},mode=1777")).unwrap_or_default(),
            points: points.iter().map(|p| c_path(p)).collect::<Result<_, _>>()?,
            kept: kept
                .iter()
                .map(|(path, read_only)| KeptPath::prepare(path, *read_only, &points))
                .collect::<Result<_, _>>()?,
            chdir: (below_a_point(working_dir) && reachable(working_dir))
                .then(|| c_path(working_dir))
                .transpose()?,
            ruleset,
        })
    }

    /// Clone the kept paths, mount the tmpfs, put the clones back in place.
    pub(crate) fn mount(&self) -> Result<(), Failed> {
        let failed = |step| Err((step, 0, Errno::last()));
        let mut clones = [-1; MAX_KEPT];
        for (clone, kept) in clones.iter_mut().zip(&self.kept) {
            // SAFETY: open_tree(2) of a path prepared before the fork; it returns a new
            // descriptor (close-on-exec) or -1.
            *clone = i32::try_from(unsafe {
                libc::syscall(
                    libc::SYS_open_tree,
                    libc::AT_FDCWD,
                    kept.path.as_ptr(),
                    OPEN_TREE_CLONE
                        | libc::O_CLOEXEC.cast_unsigned()
                        | libc::AT_RECURSIVE.cast_unsigned(),
                )
            })
            .unwrap_or(-1);
            if *clone < 0 || (kept.read_only && !make_read_only(*clone)) {
                return failed(Step::PrivateTmp);
            }
        }
        for point in &self.points {
            let tmpfs = c"tmpfs".as_ptr();
            let flags = libc::MS_NOSUID | libc::MS_NODEV;
            // SAFETY: mount(2) with NUL-terminated strings prepared before the fork.
            if unsafe {
                libc::mount(
                    tmpfs,
                    point.as_ptr(),
                    tmpfs,
                    flags,
                    self.options.as_ptr().cast(),
                )
            } != 0
            {
                return failed(Step::PrivateTmp);
            }
            if let Some((ruleset, rights)) = self.ruleset {
                grant(ruleset, rights, point)?;
            }
        }
        for (&clone, kept) in clones.iter().zip(&self.kept) {
            kept.put_back(clone)?;
        }
        if let Some(dir) = &self.chdir {
            // SAFETY: chdir(2) of a path prepared before the fork.
            if unsafe { libc::chdir(dir.as_ptr()) } != 0 {
                return failed(Step::Directory);
            }
        }
        Ok(())
    }
}

/// The paths below `points` kept as they are, each with whether it is read-only there:
/// the paths given, and the working directory unless `--read` holds the session to those.
fn kept_paths(
    reach: &Reach,
    working_dir: &Path,
    points: &[&Path],
) -> Result<Vec<(PathBuf, bool)>, Error> {
    let mut kept: Vec<(PathBuf, bool)> = Vec::new();
    let working = reach.reads.is_none().then(|| working_dir.to_path_buf());
    let given = points.iter().flat_map(|point| reach.paths_below(point));
    for path in given.chain(working.iter()) {
        if below_any(points, path) && !kept.iter().any(|(k, _)| k == path) {
            kept.push((path.clone(), !writable(reach, path)));
        }
    }
    // Outer paths first, so that a path kept inside another is mounted on top of it.
    kept.sort_by_key(|(path, _)| path.components().count());
    if kept.len() > MAX_KEPT {
        return Err(UsageError::TooManyKept {
            max: MAX_KEPT,
            below: PRIVATE_TMP.join(" and "),
        }
        .into());
    }
    Ok(kept)
}

/// Whether `path` lies strictly below one of `points`.
fn below_any(points: &[&Path], path: &Path) -> bool {
    points.iter().any(|p| path.starts_with(p) && path != *p)
}

/// Whether the session may write at `path`.
fn writable(reach: &Reach, path: &Path) -> bool {
    match &reach.writes {
        Writes::Anywhere => true,
        Writes::Below(paths) => paths.iter().any(|w| path.starts_with(w)),
    }
}

impl KeptPath {
    fn prepare(path: &Path, read_only: bool, points: &[&Path]) -> Result<KeptPath, Error> {
        let parents = path
            .ancestors()
            .skip(1)
            .take_while(|parent| !points.contains(parent))
            .collect::<Vec<_>>();
        Ok(KeptPath {
            path: c_path(path)?,
            is_dir: path.is_dir(),
            read_only,
            parents: parents
                .into_iter()
                .rev()
                .map(c_path)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Make the path's parents and the path itself in the new tmpfs, and move the clone of
    /// what it was onto it.
    fn put_back(&self, clone: libc::c_int) -> Result<(), Failed> {
        let failed = || Err((Step::PrivateTmp, 0, Errno::last()));
        // SAFETY: mkdir(2), open(2), close(2) and move_mount(2) on paths prepared before
        // the fork and on the clone's descriptor.
        unsafe {
            for parent in &self.parents {
                if libc::mkdir(parent.as_ptr(), 0o755) != 0 && Errno::last() != Errno::EEXIST {
                    return failed();
                }
            }
            let made = if self.is_dir {
                libc::mkdir(self.path.as_ptr(), 0o755) == 0 || Errno::last() == Errno::EEXIST
            } else {
                // Made only if missing: it may be there already, put back with a kept
                // directory above it, and a FIFO there would block an open for good.
                let fd = libc::open(
                    self.path.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o644,
                );
                (fd >= 0 && libc::close(fd) == 0) || Errno::last() == Errno::EEXIST
            };
            if !made {
                return failed();
            }
            let moved = libc::syscall(
                libc::SYS_move_mount,
                clone,
                c"".as_ptr(),
                libc::AT_FDCWD,
                self.path.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            );
            libc::close(clone);
            if moved != 0 {
                return failed();
            }
        }
        Ok(())
    }
}

/// Make a detached mount (and all below it) read-only.
fn make_read_only(clone: libc::c_int) -> bool {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr(2) on the clone's descriptor with an attribute of the stack
    // and its size.
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            clone,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        ) == 0
    }
}

/// Grant everything `rights` says below `point` in the Landlock ruleset.
fn grant(ruleset: RawFd, rights: u64, point: &CString) -> Result<(), Failed> {
    // SAFETY: open(2) O_PATH of a path prepared before the fork, landlock_add_rule(2) with
    // an attribute of the stack, close(2).
    unsafe {
        let dir = libc::open(
            point.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC | libc::O_DIRECTORY,
        );
        if dir < 0 {
            return Err((Step::PrivateTmp, 0, Errno::last()));
        }
        let rule = PathBeneath {
            allowed_access: rights,
            parent_fd: dir,
        };
        let added = libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            LANDLOCK_RULE_PATH_BENEATH,
            &raw const rule,
            0u32,
        );
        let errno = Errno::last();
        libc::close(dir);
        if added != 0 {
            return Err((Step::PrivateTmp, 0, errno));
        }
    }
    Ok(())
}
