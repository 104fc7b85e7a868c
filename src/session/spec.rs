//! What a session is asked to be: the supervisor's input, every value checked and in its
//! own type. The front ends build it (leash's command line, a personality's).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::machine::cgroup;
use crate::machine::rlimit::RlimitRequest;
use crate::session::message::Verbosity;
use crate::session::session_limits::SessionLimits;

/// An rlimit request and the flag it came from, for error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlaggedRlimit {
    /// `--fsize`, `--rlimit`, ... or `default`.
    pub(crate) flag: &'static str,
    /// What was asked for.
    pub(crate) request: RlimitRequest,
}

/// Typed settings for one session.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // each the setting of a flag of its own
pub(crate) struct Spec {
    /// The command and its arguments.
    pub(crate) command: Vec<OsString>,
    /// Limits for the whole session.
    pub(crate) limits: SessionLimits,
    /// Share of one CPU the session may use (`--cpu-rate`).
    pub(crate) cpu_rate: Option<f64>,
    /// Whether to use a cgroup.
    pub(crate) cgroup: cgroup::Mode,
    /// First signal of the stop sequence.
    pub(crate) signal: crate::machine::signals::number::SignalNumber,
    /// Grace before SIGKILL.
    pub(crate) kill_after: Duration,
    /// Exit with the command's status even when a limit stopped it.
    pub(crate) preserve_status: bool,
    /// Say when processes the command left behind were stopped after it exited.
    pub(crate) say_leftovers: bool,
    /// Per-process rlimits, at most one per resource.
    pub(crate) rlimits: Vec<FlaggedRlimit>,
    /// How much leash says.
    pub(crate) verbosity: Verbosity,
    /// Where to write the report (`-`: stdout).
    pub(crate) report: Option<PathBuf>,
    /// Write the report only when leash stopped the session at a limit: a coding agent's
    /// command, whose report only the agent's failure hook reads, for leash's reason.
    pub(crate) report_only_on_breach: bool,
    /// Where to append the report as a line.
    pub(crate) audit_log: Option<PathBuf>,
    /// Where to write Prometheus metrics.
    pub(crate) metrics: Option<PathBuf>,
    /// The session's name in records.
    pub(crate) name: Option<String>,
    /// Share of a limit at which to warn.
    pub(crate) warn: Option<f64>,
    /// `--baseline`: the audit log whose history of `--name` the session is compared with.
    pub(crate) baseline: Option<PathBuf>,
    /// `--on-sigint`.
    pub(crate) on_sigint: crate::machine::signals::OnSigint,
    /// `--die-with-parent`: the parent leash started under, whose death stops the session.
    pub(crate) die_with_parent: Option<nix::unistd::Pid>,
    /// `--die-with`: a process whose end stops the session.
    pub(crate) die_with: Option<nix::unistd::Pid>,
    /// User, group, descriptors, environment and the like for the command.
    pub(crate) confinement: crate::session::confinement::Request,
    /// Let the session signal processes outside itself (no Landlock scope).
    pub(crate) allow_signals_outside: bool,
    /// Run the session in a PID namespace of its own.
    pub(crate) pid_ns: bool,
    /// What the session may reach: network, paths, a private /tmp.
    pub(crate) reach: crate::session::isolation::Reach,
    /// Slots and start rates shared with other sessions.
    pub(crate) concurrency: crate::session::slots::Concurrency,
    /// The signals leash takes beyond its own, and those it leaves alone.
    pub(crate) handled: crate::machine::signals::Handled,
    /// How the command's signals and process group start.
    pub(crate) child_signals: crate::machine::signals::caller::ChildSignals,
    /// Landlock's scope, the seccomp filter and namespaces for the command. Off where leash
    /// stands in for a tool (`timeout`) whose command keeps what it may do under that tool.
    pub(crate) isolated: bool,
    /// A registry entry, for `leashctl` to see the session. Off where leash stands in for a
    /// tool, whose cost it keeps.
    pub(crate) listed: bool,
}

impl Spec {
    /// Whether anything asks for the session's record.
    pub(crate) fn recorded(&self) -> bool {
        self.report.is_some()
            || self.audit_log.is_some()
            || self.metrics.is_some()
            || self.verbosity >= Verbosity::Verbose
    }

    /// The settings of `leash -- COMMAND` with no flag, no config file and no profile: what
    /// the personalities start from (they set what their own command lines ask for).
    pub(crate) fn plain(command: Vec<OsString>) -> Spec {
        Spec {
            command,
            limits: SessionLimits::default(),
            cpu_rate: None,
            cgroup: cgroup::Mode::Auto,
            signal: nix::sys::signal::Signal::SIGTERM.into(),
            kill_after: Duration::from_secs(2),
            preserve_status: false,
            say_leftovers: false,
            rlimits: Vec::new(),
            verbosity: Verbosity::Normal,
            report: None,
            report_only_on_breach: false,
            audit_log: None,
            metrics: None,
            name: None,
            warn: None,
            baseline: None,
            on_sigint: crate::machine::signals::OnSigint::Stop,
            die_with_parent: None,
            die_with: None,
            confinement: crate::session::confinement::Request::default(),
            allow_signals_outside: false,
            pid_ns: false,
            reach: crate::session::isolation::Reach::default(),
            concurrency: crate::session::slots::Concurrency::default(),
            handled: crate::machine::signals::Handled::default(),
            child_signals: crate::machine::signals::caller::ChildSignals::fresh(),
            isolated: true,
            listed: true,
        }
    }
}
