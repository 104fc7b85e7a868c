//! The machine and its formats, with no policy: units, signals, exit statuses and errors,
//! `/proc` readers, cgroup files, the rlimit table, the runtime directory. This layer
//! names nothing above it.

/// leash's version, as `--version`, records and kernelspecs state it, and whether this
/// build checks debug assertions (a slower build).
pub(crate) const VERSION: &str = if cfg!(debug_assertions) {
    concat!(env!("CARGO_PKG_VERSION"), " (debug assertions on)")
} else {
    env!("CARGO_PKG_VERSION")
};

pub(crate) mod accounts;
pub(crate) mod capability;
pub(crate) mod cgroup;
pub(crate) mod command_path;
pub(crate) mod entry;
pub(crate) mod error;
pub(crate) mod exit;
pub(crate) mod fork_notify;
pub(crate) mod oom;
pub(crate) mod owned_path;
pub(crate) mod printable;
pub(crate) mod proc_view;
pub(crate) mod rlimit;
pub(crate) mod runtime_dir;
pub(crate) mod signals;
pub(crate) mod small_file;
pub(crate) mod stdout;
pub(crate) mod terminal;
pub(crate) mod tree;
pub(crate) mod units;
pub(crate) mod wait;
