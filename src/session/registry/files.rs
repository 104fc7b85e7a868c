//! The registry's files: where they are, their names, writing them atomically, reading
//! and checking them, and removing stale ones.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::fcntl::{Flock, FlockArg};

use super::{Entry, Process};
use crate::machine::cgroup::{Maker, made_by};

/// An entry as found, with what reading it showed.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// The entry.
    pub(crate) entry: Entry,
    /// Its file.
    pub(crate) path: PathBuf,
    /// Its supervisor no longer runs.
    pub(crate) stale: bool,
    /// Requests were recorded beside it (its `.events` file exists).
    pub(crate) events: bool,
    /// The supervisor published figures beside it (its `.figures` file exists).
    pub(crate) figures: bool,
}

/// The caller's own registry directory, made private if it is new.
pub(crate) fn own_dir() -> std::io::Result<PathBuf> {
    let dir = crate::machine::runtime_dir::runtime_dir().join("sessions");
    crate::machine::runtime_dir::private_dir(&dir, "registry").map_err(std::io::Error::other)?;
    Ok(dir)
}

/// Where an entry (`json`) or a file beside it (`events`, `figures`) is.
pub(crate) fn path_of(dir: &Path, id: &str, supervisor: Process, extension: &str) -> PathBuf {
    dir.join(format!(
        "{id}.{}.{}.{extension}",
        supervisor.pid, supervisor.start_time
    ))
}

/// The id, PID and start time in an entry file's name, and its extension.
fn parse_name(name: &str) -> Option<(&str, Process, &str)> {
    let mut parts = name.splitn(4, '.');
    let id = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let start_time = parts.next()?.parse().ok()?;
    Some((id, Process { pid, start_time }, parts.next()?))
}

/// Remove the entries of supervisors that no longer run from `dir` (what sits beside
/// them too), and choose an id no remaining entry has: six characters of a hash of the
/// supervisor's PID and start time (and of a counter, on a clash). One read of the
/// directory, and one /proc read per entry.
pub(crate) fn clean_and_choose_id(dir: &Path, supervisor: Process) -> String {
    let mut taken: Vec<String> = Vec::new();
    for file in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        let Some((id, owner, "json")) = parse_name(&name) else {
            continue;
        };
        if lives(dir, id, owner) {
            taken.push(id.to_string());
        } else {
            remove_entry(dir, id, owner);
        }
    }
    let ids = (0u32..=u32::from(u16::MAX)).map(|salt| {
        short_hash(&format!(
            "{}-{}-{salt}",
            supervisor.pid, supervisor.start_time
        ))
    });
    let mut first = None;
    for id in ids {
        if !taken.contains(&id) {
            return id;
        }
        first.get_or_insert(id);
    }
    // 65536 clashes: a directory full of entries. Keep the first (it is replaced).
    first.unwrap_or_default()
}

/// Six base-36 characters of the FNV-1a hash of `text`.
fn short_hash(text: &str) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..6)
        .map(|_| {
            let digit = DIGITS[usize::try_from(hash % 36).unwrap_or(0)];
            hash /= 36;
            char::from(digit)
        })
        .collect()
}

/// Write `text` to `path` through a temporary file renamed over it, so a reader sees the
/// old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, text)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether the supervisor of entry `id` in `dir` still runs: its PID and start time name
/// a process here, or, for one in another PID namespace (whose PIDs mean nothing here),
/// it still holds the lock beside its entry.
pub(crate) fn lives(dir: &Path, id: &str, supervisor: Process) -> bool {
    supervisor.is_alive() || lock_is_held(&path_of(dir, id, supervisor, "lock"))
}

/// Take the lock a supervisor holds beside its entry for its life (made if need be, never
/// through a symlink): what tells a leash in another PID namespace that it lives.
pub(crate) fn hold_lock(path: &Path) -> std::io::Result<Flock<fs::File>> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e.into())
}

/// Whether some process holds the lock at `path` (a regular file, opened without
/// following a symlink or waiting); false where there is none.
fn lock_is_held(path: &Path) -> bool {
    let Ok(file) = crate::machine::small_file::open_without_waiting(
        fs::OpenOptions::new().read(true),
        libc::O_NOFOLLOW,
        path,
    ) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    matches!(
        Flock::lock(file, FlockArg::LockSharedNonblock),
        Err((_, nix::errno::Errno::EWOULDBLOCK))
    )
}

/// Remove an entry and everything beside it.
pub(crate) fn remove_entry(dir: &Path, id: &str, supervisor: Process) {
    for extension in ["json", "events", "figures", "lock"] {
        let _ = fs::remove_file(path_of(dir, id, supervisor, extension));
    }
}

/// A hidden test switch: the directory that stands for `/` in the system-wide places
/// root's `leashctl` looks in (/run/leash, /run/user), so that a test sees only its own
/// sessions on a machine where other tests run sessions too.
const TEST_SYSTEM_ROOT: &str = "_LEASH_TEST_SYSTEM_ROOT";

/// The registry directories the caller may read: its own; for root, every user's (the
/// runtime directories of /run/user, /tmp/leash-UID, and root's /run/leash).
pub(crate) fn dirs_to_scan() -> Vec<PathBuf> {
    let uid = nix::unistd::geteuid();
    let mut dirs = vec![crate::machine::runtime_dir::runtime_dir()];
    let tmp = std::env::temp_dir();
    let root = std::env::var_os(TEST_SYSTEM_ROOT).map_or_else(|| PathBuf::from("/"), PathBuf::from);
    if uid.is_root() {
        dirs.push(root.join("run/leash"));
        dirs.extend(children(&root.join("run/user")).map(|d| d.join("leash")));
        dirs.extend(children(&tmp).filter(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("leash-"))
        }));
    } else {
        dirs.push(root.join(format!("run/user/{uid}/leash")));
        dirs.push(tmp.join(format!("leash-{uid}")));
    }
    let mut dirs: Vec<PathBuf> = dirs.into_iter().map(|d| d.join("sessions")).collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

fn children(dir: &Path) -> impl Iterator<Item = PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
}

/// Every entry in `dirs` that is what it claims to be (see `read_entry`), stale ones
/// included, oldest first.
pub(crate) fn scan(dirs: &[PathBuf]) -> Vec<Found> {
    Scanner::default().scan(dirs)
}

/// Reads the registry again and again (`leashctl list --watch`): an entry whose file has
/// not changed since the last scan is not read and checked again, only its supervisor's
/// liveness is.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    known: HashMap<PathBuf, (SystemTime, Found)>,
}

impl Scanner {
    /// The entries in `dirs` now, oldest first.
    pub(crate) fn scan(&mut self, dirs: &[PathBuf]) -> Vec<Found> {
        let mut now = HashMap::new();
        let paths: std::collections::HashSet<PathBuf> =
            dirs.iter().flat_map(|dir| children(dir)).collect();
        for path in &paths {
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(file) = fs::symlink_metadata(path) else {
                continue;
            };
            let Ok(modified) = file.modified() else {
                continue;
            };
            let found = match self.known.remove(path) {
                Some((at, mut found)) if at == modified => {
                    found.stale = !lives(
                        path.parent().unwrap_or(Path::new("/")),
                        &found.entry.id,
                        found.entry.supervisor,
                    );
                    Some(found)
                }
                _ => read_entry(path, &file),
            };
            if let Some(mut found) = found {
                found.events = paths.contains(&path.with_extension("events"));
                found.figures = paths.contains(&path.with_extension("figures"));
                now.insert(path.clone(), (modified, found));
            }
        }
        self.known = now;
        let mut found: Vec<Found> = self.known.values().map(|(_, f)| f.clone()).collect();
        found.sort_by(|a, b| a.entry.started_at.total_cmp(&b.entry.started_at));
        found
    }
}

/// The entry whose id is `id`, among those in `dirs`.
pub(crate) fn find(dirs: &[PathBuf], id: &str) -> Option<Found> {
    scan(dirs).into_iter().find(|f| f.entry.id == id)
}

/// The entry at `path` (whose metadata is `file`), if it is what it claims to be: its
/// name, file and directory agree on its id, supervisor and user, and the supervisor runs
/// as that user. Of the cgroups it names, only those its supervisor made are kept.
fn read_entry(path: &Path, file: &fs::Metadata) -> Option<Found> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let (id, supervisor, extension) = parse_name(&name)?;
    if extension != "json" {
        return None;
    }
    let dir = fs::symlink_metadata(path.parent()?).ok()?;
    // Checked before a byte is read: another user's FIFO or huge file is no entry.
    if !file.is_file() {
        return None;
    }
    let (bytes, opened) = crate::machine::small_file::read_regular(path).ok()?;
    let mut entry: Entry = serde_json::from_slice(&bytes).ok()?;
    let visible = supervisor.is_alive();
    // As `lives`, with the /proc read made once.
    let stale = !visible && !lock_is_held(&path.with_extension("lock"));
    let claimed = entry.id == id && entry.supervisor == supervisor;
    let owned = opened.uid() == entry.uid && dir.uid() == entry.uid;
    // Only the cgroups the kernel shows to be the session's are acted on or read, whatever
    // the entry claims (its user may have written any path into it).
    let maker = Maker {
        pid: supervisor.pid(),
        start_time: supervisor.start_time,
        uid: entry.uid,
        alive: visible,
    };
    entry
        .cgroups
        .retain(|cgroup| made_by(&cgroup.dir(), &cgroup.controllers, maker));
    // A supervisor this PID namespace cannot see cannot be checked, nor signalled.
    let as_claimed = !visible || runs_as(supervisor, entry.uid);
    (claimed && owned && as_claimed).then(|| Found {
        entry,
        path: path.to_path_buf(),
        stale,
        events: false,
        figures: false,
    })
}

/// Whether `process` runs as `uid` (its effective user): an entry naming another user's
/// leash as its supervisor is forged. Read from its status, not from the owner of its
/// /proc directory, which is root for a process that is not dumpable.
fn runs_as(process: Process, uid: u32) -> bool {
    crate::machine::proc_view::read_proc(&format!("/proc/{}/status", process.pid))
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2)?.parse::<u32>().ok()
        })
        .is_some_and(|effective| effective == uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_supervisor() {
        let supervisor = Process {
            pid: 42,
            start_time: 7,
        };
        let path = path_of(Path::new("/r"), "abc123", supervisor, "json");
        assert_eq!(path, Path::new("/r/abc123.42.7.json"));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(parse_name(&name), Some(("abc123", supervisor, "json")));
        assert_eq!(parse_name("x.y.z.json"), None);
    }

    #[test]
    fn ids_are_short_and_avoid_taken_ones() {
        let dir = tempfile::tempdir().unwrap();
        let me = Process::of(nix::unistd::Pid::this()).unwrap();
        let first = clean_and_choose_id(dir.path(), me);
        assert_eq!(first.len(), 6);
        fs::write(path_of(dir.path(), &first, me, "json"), "{}").unwrap();
        let second = clean_and_choose_id(dir.path(), me);
        assert_ne!(first, second, "a live entry's id is taken");
        let gone = Process {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        fs::write(path_of(dir.path(), "zzzzzz", gone, "json"), "{}").unwrap();
        fs::write(path_of(dir.path(), "zzzzzz", gone, "events"), "").unwrap();
        clean_and_choose_id(dir.path(), me);
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left.len(),
            1,
            "a stale entry and its events are removed: {left:?}"
        );
    }

    #[test]
    fn a_lock_is_seen_held_only_through_a_file_of_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("a.1.1.lock");
        let _held = hold_lock(&real).unwrap();
        assert!(lock_is_held(&real));
        let link = dir.path().join("b.2.2.lock");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(!lock_is_held(&link), "a planted link is not followed");
    }
}
