//! The session registry: an entry per running session in the runtime directory (written
//! atomically at start, removed at the end) for `leashctl` to find, what `leashctl` asked
//! of the session beside it (`control`), and the supervisor's latest usage figures.
//!
//! An entry's file is `ID.PID.START.json` in `RUNTIME/sessions` (`$XDG_RUNTIME_DIR/leash`,
//! `/run/leash` for root, else `/tmp/leash-UID`: the directory `--slots` uses, the user's
//! own, mode 0700): the supervisor's PID and start time in the name tell a live entry from
//! a stale one without reading it, and so does the lock the supervisor holds on the
//! `.lock` file beside it, for a leash in another PID namespace.

pub(crate) mod control;
mod files;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::machine::cgroup::{CgroupDir, Controller, Gauges, Job, Version};

pub(crate) use control::{Action, Event};
pub(crate) use files::{Found, Scanner, dirs_to_scan, find, scan};

/// How often the supervisor rewrites its usage figures at most.
const USAGE_EVERY: Duration = Duration::from_secs(1);

/// A process named by PID and start time (clock ticks since boot), which together never
/// name another process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Process {
    /// Its PID, in the namespace of the leash that wrote it.
    pub(crate) pid: i32,
    /// Its start time (field 22 of /proc/PID/stat).
    pub(crate) start_time: u64,
}

impl Process {
    /// The process `pid` as it is now, if it runs.
    pub(crate) fn of(pid: Pid) -> Option<Process> {
        crate::machine::tree::start_time(pid).map(|start_time| Process {
            pid: pid.as_raw(),
            start_time,
        })
    }

    /// Whether it still runs (a reused PID has another start time).
    pub(crate) fn is_alive(self) -> bool {
        crate::machine::tree::start_time(Pid::from_raw(self.pid)) == Some(self.start_time)
    }

    /// Its PID.
    pub(crate) fn pid(self) -> Pid {
        Pid::from_raw(self.pid)
    }
}

/// One directory of the session's cgroup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CgroupPath {
    /// 1 or 2.
    pub(crate) version: u8,
    /// The directory.
    pub(crate) path: PathBuf,
    /// The controllers the session uses there (none for a v2 cgroup that only holds it).
    pub(crate) controllers: Vec<String>,
}

impl CgroupPath {
    /// The entry's record of `dir`, where the session uses `controllers`.
    pub(crate) fn of(dir: &CgroupDir, controllers: &[Controller]) -> CgroupPath {
        CgroupPath {
            version: match dir.version {
                Version::V1 => 1,
                Version::V2 => 2,
            },
            path: dir.path.clone(),
            controllers: controllers.iter().map(|c| c.name().to_string()).collect(),
        }
    }

    /// The directory it records.
    pub(crate) fn dir(&self) -> CgroupDir {
        CgroupDir {
            version: if self.version == 2 {
                Version::V2
            } else {
                Version::V1
            },
            path: self.path.clone(),
        }
    }
}

/// The limits `leashctl list` shows usage against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Limits {
    /// `--wall`.
    pub(crate) wall_seconds: Option<f64>,
    /// `--mem`.
    pub(crate) memory_bytes: Option<u64>,
    /// `--procs`.
    pub(crate) tasks: Option<u64>,
    /// `--cpu`.
    pub(crate) cpu_seconds: Option<f64>,
    /// `--output`.
    pub(crate) output_bytes: Option<u64>,
}

/// A running session, as its entry says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Short, unique among running sessions, stable for the session's life.
    pub(crate) id: String,
    /// `--name`.
    pub(crate) name: Option<String>,
    /// leash, supervising.
    pub(crate) supervisor: Process,
    /// The user leash runs as.
    pub(crate) uid: u32,
    /// The command and its arguments.
    pub(crate) command: Vec<String>,
    /// When the session started (seconds since the epoch).
    pub(crate) started_at: f64,
    /// Its limits.
    pub(crate) limits: Limits,
    /// Each limit and isolation and what holds it (as `--explain` and the report say).
    pub(crate) mechanisms: Vec<serde_json::Value>,
    /// The session's cgroup, a directory per hierarchy (empty without one).
    pub(crate) cgroups: Vec<CgroupPath>,
    /// The session has a PID namespace of its own (`--pid-ns`): it ends with its init,
    /// which dies with the supervisor.
    pub(crate) pid_namespace: bool,
    /// `--report`.
    pub(crate) report: Option<PathBuf>,
    /// Set once the supervisor runs its stop sequence.
    pub(crate) stopping: bool,
}

impl Entry {
    /// The session's cgroup files that count its usage, as its supervisor reads them: each
    /// job's from the directory where the session uses that job's controller (CPU time
    /// from any v2 directory, which counts it without one).
    pub(crate) fn gauges(&self) -> Gauges {
        let dirs: Vec<(CgroupDir, &[String])> = self
            .cgroups
            .iter()
            .map(|c| (c.dir(), c.controllers.as_slice()))
            .collect();
        Gauges::open(|job: Job| {
            dirs.iter()
                .find(|(dir, controllers)| match job.controller(dir.version) {
                    Some(needed) => controllers.iter().any(|c| c == needed.name()),
                    None => job == Job::CpuTime && dir.version == Version::V2,
                })
                .map(|(dir, _)| dir)
        })
    }
}

/// The supervisor's latest figures, which only it can know (the peaks, the output).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Figures {
    /// Peak memory so far, as the supervisor measures it.
    pub(crate) peak_memory_bytes: Option<u64>,
    /// Peak processes and threads so far.
    pub(crate) peak_tasks: Option<u64>,
    /// Bytes written to storage.
    pub(crate) written_bytes: Option<u64>,
    /// Bytes of output (with `--output`/`--idle`).
    pub(crate) output_bytes: Option<u64>,
}

/// Seconds since the epoch, now.
pub(crate) fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The session's entry while it runs: removed (with what sits beside it) when dropped.
#[derive(Debug)]
pub(crate) struct Published {
    entry: Entry,
    dir: PathBuf,
    /// When the figures were last written; at first, when the entry was.
    last_figures: Instant,
    /// The lock beside the entry, held for the session's life (see `files::lives`).
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl Published {
    /// Write `entry` (its id is chosen here) into the caller's registry, removing the
    /// entries of supervisors that no longer run.
    pub(crate) fn publish(mut entry: Entry) -> std::io::Result<Published> {
        let dir = files::own_dir()?;
        entry.id = files::clean_and_choose_id(&dir, entry.supervisor);
        let lock = files::hold_lock(&files::path_of(&dir, &entry.id, entry.supervisor, "lock"))?;
        let published = Published {
            entry,
            dir,
            last_figures: Instant::now(),
            _lock: lock,
        };
        published.write()?;
        Ok(published)
    }

    fn write(&self) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(&self.entry).map_err(std::io::Error::other)?;
        files::write_atomically(&self.path("json"), &text)
    }

    /// The session's id.
    pub(crate) fn id(&self) -> &str {
        &self.entry.id
    }

    /// When the session started (seconds since the epoch).
    pub(crate) fn started_at(&self) -> f64 {
        self.entry.started_at
    }

    /// The file beside the entry with this extension.
    fn path(&self, extension: &str) -> PathBuf {
        files::path_of(&self.dir, &self.entry.id, self.entry.supervisor, extension)
    }

    /// Say that the stop sequence runs.
    pub(crate) fn mark_stopping(&mut self) {
        self.entry.stopping = true;
        let _ = self.write();
    }

    /// Write the supervisor's figures, at most every second, and not in the session's
    /// first second: most commands end before, and a file written and removed again cost
    /// them a fifth of a millisecond (ext4) for figures no one could have read.
    pub(crate) fn publish_figures(&mut self, figures: &Figures) {
        let now = Instant::now();
        if now.duration_since(self.last_figures) < USAGE_EVERY {
            return;
        }
        self.last_figures = now;
        if let Ok(text) = serde_json::to_vec(figures) {
            let _ = files::write_atomically(&self.path("figures"), &text);
        }
    }

    /// What `leashctl` asked of the session so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        control::read(&self.path("events"))
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        files::remove_entry(&self.dir, &self.entry.id, self.entry.supervisor);
    }
}

/// The file beside the entry `found` with this extension (`events`, `figures`).
pub(crate) fn beside(found: &Found, extension: &str) -> PathBuf {
    files::path_of(
        found.path.parent().unwrap_or(Path::new("/")),
        &found.entry.id,
        found.entry.supervisor,
        extension,
    )
}

/// Remove a stale entry and what sits beside it.
pub(crate) fn remove(found: &Found) {
    if let Some(dir) = found.path.parent() {
        files::remove_entry(dir, &found.entry.id, found.entry.supervisor);
    }
}
