//! The cases of what the machine refused or failed at: the cgroup, isolation, leash's own
//! set-up, slots; each with the values that say what went wrong (the path, the errno), and
//! the one line that says it. A `why` text is what a lower module or another program (the
//! kernel's probe, a filesystem) said, passed on. And each error's kind, for reports.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::Error;

/// The session's cgroup cannot be had or made as the flags require.
#[derive(Debug)]
pub(crate) enum CgroupError {
    /// A cgroup file that could not be written.
    Write {
        value: String,
        file: PathBuf,
        error: io::Error,
    },
    /// A cgroup file or directory that could not be opened.
    Open { path: PathBuf, error: io::Error },
    /// A cgroup directory that could not be made.
    Create { path: PathBuf, error: io::Error },
    /// A cgroup directory that could not be removed.
    Remove { path: PathBuf, error: io::Error },
    /// Directories of the session's cgroup that could not be removed.
    NotRemoved(Vec<Error>),
    /// Controllers the kernel refused to enable, before and after leash moved itself
    /// out of the way.
    NotEnabled {
        refused: Box<Error>,
        then: Box<Error>,
    },
    /// `--cgroup require`, and the cgroup could not be made.
    Required(Box<Error>),
    /// The cgroup could not be made, nor one with what is enabled.
    NoFallback { first: Box<Error>, then: Box<Error> },
    /// `--cpu-rate` with `--cgroup off`.
    CpuRateWithoutCgroup,
    /// `--cpu-rate` where no cgroup has the cpu controller.
    NoCpuController,
    /// `--cgroup require` and the jobs no cgroup here can do.
    Missing { missing: Vec<String>, hint: String },
}

impl CgroupError {
    fn kind(&self) -> &'static str {
        match self {
            CgroupError::Write { .. } => "write",
            CgroupError::Open { .. } => "open",
            CgroupError::Create { .. } => "create",
            CgroupError::Remove { .. } | CgroupError::NotRemoved(_) => "remove",
            CgroupError::NotEnabled { .. } => "not_enabled",
            CgroupError::Required(_) => "required",
            CgroupError::NoFallback { .. } => "no_fallback",
            CgroupError::CpuRateWithoutCgroup => "cpu_rate_without_cgroup",
            CgroupError::NoCpuController => "no_cpu_controller",
            CgroupError::Missing { .. } => "missing",
        }
    }
}

impl fmt::Display for CgroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CgroupError::Write { value, file, error } => {
                write!(f, "cannot write {value:?} to {}: {error}", file.display())
            }
            CgroupError::Open { path, error } => {
                write!(f, "cannot open {}: {error}", path.display())
            }
            CgroupError::Create { path, error } => {
                write!(f, "cannot create {}: {error}", path.display())
            }
            CgroupError::Remove { path, error } => {
                write!(f, "cannot remove {}: {error}", path.display())
            }
            CgroupError::NotRemoved(errors) => {
                let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&errors.join("; "))
            }
            CgroupError::NotEnabled { refused, then } => {
                write!(f, "{refused}; and after leash moved out of the way: {then}")
            }
            CgroupError::Required(error) => write!(f, "--cgroup: {error}"),
            CgroupError::NoFallback { first, then } => write!(f, "{first}; {then}"),
            CgroupError::CpuRateWithoutCgroup => {
                f.write_str("--cpu-rate needs a cgroup, and --cgroup off forbids one")
            }
            CgroupError::NoCpuController => f.write_str(
                "--cpu-rate: no writable cgroup with the cpu controller here (see --explain)",
            ),
            CgroupError::Missing { missing, hint } => write!(
                f,
                "--cgroup require: cannot have {}: {hint}",
                missing.join(", ")
            ),
        }
    }
}

/// An isolation the flags ask for that cannot be had here; `why` is what the machine
/// lacks, as the probe says it.
#[derive(Debug)]
pub(crate) enum IsolationError {
    /// `--pid-ns` with no PID namespace to be made.
    NoPidNamespace { why: String },
    /// `--private-tmp` with no mount namespace to be made.
    NoMountNamespace { why: String },
    /// `--network none` with neither a network namespace nor a seccomp filter.
    NoNetworkHold {
        no_namespace: String,
        no_filter: String,
    },
    /// Path or port rules with no Landlock ruleset.
    NoLandlock { flags: String, why: String },
    /// `--private-tmp` would hide a file the command itself needs.
    HidesTheCommand { file: PathBuf, below: String },
}

impl IsolationError {
    fn kind(&self) -> &'static str {
        match self {
            IsolationError::NoPidNamespace { .. } => "no_pid_namespace",
            IsolationError::NoMountNamespace { .. } => "no_mount_namespace",
            IsolationError::NoNetworkHold { .. } => "no_network_hold",
            IsolationError::NoLandlock { .. } => "no_landlock",
            IsolationError::HidesTheCommand { .. } => "hides_the_command",
        }
    }
}

impl fmt::Display for IsolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsolationError::NoPidNamespace { why } => {
                write!(f, "--pid-ns: no PID namespace can be made here: {why}")
            }
            IsolationError::NoMountNamespace { why } => {
                write!(
                    f,
                    "--private-tmp: no mount namespace can be made here: {why}"
                )
            }
            IsolationError::NoNetworkHold {
                no_namespace,
                no_filter,
            } => write!(
                f,
                "--network none: no network namespace ({no_namespace}) and no seccomp filter \
                 ({no_filter}) here"
            ),
            IsolationError::NoLandlock { flags, why } => {
                write!(f, "{flags}: no Landlock ruleset here: {why}")
            }
            IsolationError::HidesTheCommand { file, below } => write!(
                f,
                "--private-tmp: the command needs {}, which the session's own {below} would \
                 hide; run it from elsewhere, or without --private-tmp",
                file.display()
            ),
        }
    }
}

/// leash could not set the session up.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// No command to run.
    NoCommand,
    /// A system call of leash's own failed: what it was for, and the errno.
    Call { what: &'static str, errno: Errno },
    /// A file or stream of leash's own that could not be used.
    Io {
        what: &'static str,
        error: io::Error,
    },
    /// A step of the child between fork and exec failed (`step` names it for programs).
    ChildStep {
        step: &'static str,
        what: String,
        errno: Errno,
    },
    /// leash could not read its own start time.
    NoStartTime,
    /// `/proc` does not show leash (none mounted, or one of a PID namespace leash is not
    /// in): it could not see the session's processes.
    ProcBlind,
    /// `--die-with-parent`'s parent ended before leash could ask to die with it.
    ParentGone { parent: i32 },
    /// `--die-with`'s process is not there to be watched.
    WatchedGone { pid: i32 },
    /// A file or directory in the runtime directory (`--slots`'s, `--rate`'s, the
    /// registry's) that cannot be used; `flag` names what needed it.
    Runtime {
        flag: &'static str,
        path: PathBuf,
        why: String,
    },
    /// A resource limit leash could not read.
    RlimitUnreadable { rlimit: &'static str, errno: Errno },
}

impl SetupError {
    /// The file or directory at `path` in the runtime directory cannot be used for `flag`.
    pub(crate) fn runtime(flag: &'static str, path: &Path, why: &dyn fmt::Display) -> Error {
        Error::Setup(SetupError::Runtime {
            flag,
            path: path.to_path_buf(),
            why: why.to_string(),
        })
    }

    /// For `map_err`: a system call of leash's own for `what` failed with an errno.
    pub(crate) fn call(what: &'static str) -> impl Fn(Errno) -> Error {
        move |errno| Error::Setup(SetupError::Call { what, errno })
    }

    fn kind(&self) -> &'static str {
        match self {
            SetupError::NoCommand => "no_command",
            SetupError::Call { .. } => "call",
            SetupError::Io { .. } => "io",
            SetupError::ChildStep { step, .. } => step,
            SetupError::NoStartTime => "no_start_time",
            SetupError::ProcBlind => "proc_blind",
            SetupError::ParentGone { .. } => "parent_gone",
            SetupError::WatchedGone { .. } => "watched_gone",
            SetupError::Runtime { .. } => "runtime_dir",
            SetupError::RlimitUnreadable { .. } => "rlimit_unreadable",
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::NoCommand => f.write_str("no command given"),
            SetupError::Call { what, errno } => write!(f, "{what}: {errno}"),
            SetupError::Io { what, error } => write!(f, "{what}: {error}"),
            SetupError::ChildStep { what, errno, .. } => write!(f, "{what}: {errno}"),
            SetupError::NoStartTime => f.write_str("cannot read leash's own start time"),
            SetupError::ProcBlind => f.write_str(
                "/proc does not show leash (not mounted, or of another PID namespace), so it \
                 could not follow the session's processes; mount this namespace's /proc \
                 (bwrap --proc /proc)",
            ),
            SetupError::ParentGone { parent } => write!(
                f,
                "--die-with-parent: its parent (PID {parent}) is already gone"
            ),
            SetupError::WatchedGone { pid } => {
                write!(f, "--die-with: no process {pid} to die with")
            }
            SetupError::Runtime { flag, path, why } => {
                write!(f, "{flag}: {}: {why}", path.display())
            }
            SetupError::RlimitUnreadable { rlimit, errno } => {
                write!(f, "cannot read the {rlimit} limit: {errno}")
            }
        }
    }
}

/// The error's kind for programs: `CATEGORY.CASE` (`cgroup.write`, `usage.not_root`).
pub(crate) fn kind(error: &Error) -> String {
    let (category, case) = match error {
        Error::Clap(_) => ("usage", "command_line"),
        Error::Usage(e) => ("usage", e.kind()),
        Error::Config(e) => ("config", e.kind()),
        Error::Cgroup(e) => ("cgroup", e.kind()),
        Error::Isolation(e) => ("isolation", e.kind()),
        Error::Setup(e) => ("setup", e.kind()),
        Error::NotFound(_) => ("command", "not_found"),
        Error::CannotExecute(..) => ("command", "cannot_execute"),
        Error::NoSlot(NoSlot { gave_up: false, .. }) => ("slot", "none_free"),
        Error::NoSlot(NoSlot { gave_up: true, .. }) => ("slot", "gave_up"),
        Error::Interrupted(_) => ("signal", "interrupted"),
        Error::LostMainProcess => ("session", "lost_main_process"),
        Error::Write(_) => ("output", "write"),
    };
    format!("{category}.{case}")
}

/// No `--slots` slot or `--rate` start could be had: why (which slots are busy, the rate
/// spent), and whether leash gave up waiting (`--slot-timeout`).
#[derive(Debug)]
pub(crate) struct NoSlot {
    pub(crate) why: String,
    pub(crate) gave_up: bool,
}

impl fmt::Display for NoSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.gave_up {
            write!(f, "{}; gave up waiting (--slot-timeout)", self.why)
        } else {
            f.write_str(&self.why)
        }
    }
}
