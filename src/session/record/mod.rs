//! The record of a session: what ran, under which limits, how it ended and what it used.
//! The one source of `--verbose`'s summary, `--report`, `--audit-log` and `--metrics`
//! (schema: docs/report.md, docs/report.schema.json), written by `publish`.

pub(crate) mod destinations;
mod files;
mod metrics;
pub(crate) mod publish;

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use serde::Serialize;

use crate::machine::VERSION;
use crate::machine::error::{Error, kind as error_kind};
use crate::machine::exit::Exit;
use crate::machine::units::{format_millis, format_size};
use crate::session::rows::LimitRow;
use crate::session::session_limits::{Breach, LimitKind};
use crate::session::spec::Spec;
use crate::session::warning::Warning;

/// The version of the report's layout; raised when a field changes meaning or goes.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// The command exited by itself; `exit_code` is its status.
    Exited,
    /// The command died of a signal; `signal` names it (leash died of it too).
    Signaled,
    /// leash stopped the session at a limit; `breach` says which.
    Limit,
    /// leash was asked to terminate (`signal`) and stopped the session.
    LeashSignaled,
    /// leash itself failed, or the command could not be started; `error` says why.
    Error,
}

impl Outcome {
    /// The outcome as the report and the metrics' `outcome` label spell it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Exited => "exited",
            Outcome::Signaled => "signaled",
            Outcome::Limit => "limit",
            Outcome::LeashSignaled => "leash_signaled",
            Outcome::Error => "error",
        }
    }
}

/// The limit that stopped the session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct BreachRecord {
    /// `wall`, `mem`, `cpu`, `procs`, `disk-write`, `output`, `idle`.
    pub(crate) limit: LimitKind,
    /// The limit in its unit (bytes, seconds, tasks).
    pub(crate) value: f64,
    /// What was observed, in the same unit; null where the kernel refused (an OOM kill, a
    /// refused fork, output cut at the limit) instead of leash measuring.
    pub(crate) observed: Option<f64>,
    /// Seconds from the start of the session to the breach.
    pub(crate) at_seconds: f64,
    /// leash's line about it.
    pub(crate) message: String,
}

/// What the session used; null for what was not measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct UsageRecord {
    /// User CPU time of every process of the session.
    pub(crate) cpu_user_seconds: f64,
    /// System CPU time of every process of the session.
    pub(crate) cpu_system_seconds: f64,
    /// Highest memory of the session seen: the memory cgroup's peak, or the resident
    /// sizes summed (proportional sizes near a limit).
    pub(crate) peak_memory_bytes: Option<u64>,
    /// Most processes and threads alive at once.
    pub(crate) peak_tasks: Option<u64>,
    /// Bytes written to storage.
    pub(crate) written_bytes: Option<u64>,
    /// Bytes written to stdout and stderr (with `--output` or `--idle`).
    pub(crate) output_bytes: Option<u64>,
}

/// A breach and when it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Breached {
    /// The limit and what was observed.
    pub(crate) breach: Breach,
    /// How long after the start of the session.
    pub(crate) after: Duration,
}

/// What supervision found out about a session that ran.
#[derive(Clone, Debug, Default)]
pub(crate) struct Findings {
    /// The limit that stopped the session, and when.
    pub(crate) breach: Option<Breached>,
    /// leash was asked to terminate with this signal.
    pub(crate) leash_signaled: Option<Signal>,
    /// What the session used.
    pub(crate) usage: UsageRecord,
    /// Processes the stop sequence signalled.
    pub(crate) stopped_processes: usize,
    /// Of those, processes that had left the session's process group.
    pub(crate) escaped_process_group: usize,
    /// Warnings given.
    pub(crate) warnings: Vec<Warning>,
    /// The session's id in the registry, if it was in it.
    pub(crate) session_id: Option<String>,
    /// What `leashctl` asked of the session.
    pub(crate) control: Vec<ControlRecord>,
    /// How long `leashctl` kept the session frozen, in seconds.
    pub(crate) frozen_seconds: f64,
    /// The user's other processes filled the RLIMIT_NPROC backstop the session shared.
    pub(crate) nproc_backstop_filled: Option<NprocFilled>,
}

/// The RLIMIT_NPROC backstop of `--procs`, shared with the user's other processes, seen
/// full (or within two tasks of it) while the session was below its limit: the session's
/// forks may have failed for processes outside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct NprocFilled {
    /// RLIMIT_NPROC as the command got it.
    pub(crate) limit: u64,
    /// The user's tasks (processes and threads) then, the session's included.
    pub(crate) user_tasks: u64,
    /// The session's tasks then.
    pub(crate) session_tasks: u64,
}

/// One request `leashctl` made of the session (freeze, thaw, stop) and who made it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct ControlRecord {
    /// `freeze`, `thaw` or `stop`.
    pub(crate) action: crate::session::registry::Action,
    /// Seconds from the start of the session.
    pub(crate) at_seconds: f64,
    /// The user who asked.
    pub(crate) by_uid: u32,
    /// The `leashctl` process that asked.
    pub(crate) by_pid: i32,
    /// For a stop: its first signal.
    pub(crate) signal: Option<String>,
    /// For a stop: the grace before SIGKILL asked for (none: the session's own).
    pub(crate) kill_after_seconds: Option<f64>,
    /// For a stop: `leashctl` stopped the session itself, its supervisor being gone or
    /// stopped.
    pub(crate) directly: bool,
}

/// How the session went, as far as the record is concerned.
#[derive(Debug)]
pub(crate) enum Course<'a> {
    /// The command never started: leash failed, or the command could not be run.
    NotStarted(&'a Error),
    /// The command ran, and leash ends with `exit`.
    Ran(&'a Findings, Exit),
}

/// The session's record.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Record {
    /// The layout's version ([`SCHEMA_VERSION`]).
    pub(crate) schema_version: u32,
    /// leash's version.
    pub(crate) leash_version: &'static str,
    /// `--name`, for telling sessions apart in logs and metrics.
    pub(crate) name: Option<String>,
    /// The command and its arguments.
    pub(crate) command: Vec<String>,
    /// When leash started (RFC 3339, UTC).
    pub(crate) started_at: String,
    /// When the session was over and reaped (RFC 3339, UTC).
    pub(crate) ended_at: String,
    /// Seconds from start to end.
    pub(crate) wall_seconds: f64,
    /// The effective limits and what enforced each.
    pub(crate) limits: Vec<LimitRow>,
    /// How the session ended.
    pub(crate) outcome: Outcome,
    /// leash's exit code (the command's own, or 124-127), if leash exits rather than dies.
    pub(crate) exit_code: Option<u8>,
    /// The signal leash dies of: the command's, or the one leash was asked to stop with.
    pub(crate) signal: Option<String>,
    /// The limit that stopped the session (outcome `limit`).
    pub(crate) breach: Option<BreachRecord>,
    /// What the session used.
    pub(crate) usage: UsageRecord,
    /// Processes the stop sequence had to signal (0 when the session ended by itself).
    pub(crate) stopped_processes: usize,
    /// Of those, processes that had left the session's process group.
    pub(crate) escaped_process_group: usize,
    /// Usages that crossed `--warn` of their limit.
    pub(crate) warnings: Vec<Warning>,
    /// The session's id in the registry (what `leashctl` names it by).
    pub(crate) session_id: Option<String>,
    /// What `leashctl` asked of the session: freezes, thaws, a stop.
    pub(crate) control: Vec<ControlRecord>,
    /// Seconds the session spent frozen by `leashctl`.
    pub(crate) frozen_seconds: f64,
    /// The RLIMIT_NPROC backstop the session shared with the user's other processes, if
    /// those filled it while the session was below `--procs`.
    pub(crate) nproc_backstop_filled: Option<NprocFilled>,
    /// Why leash failed (outcome `error`).
    pub(crate) error: Option<String>,
    /// Which failure that was, for programs: `CATEGORY.CASE` (`cgroup.write`).
    pub(crate) error_kind: Option<String>,
}

/// Whose record it is: the session's name and command.
#[derive(Clone, Debug, Default)]
pub(crate) struct Subject {
    /// `--name`.
    pub(crate) name: Option<String>,
    /// The command and its arguments.
    pub(crate) command: Vec<String>,
}

impl Subject {
    /// The subject `settings` describe.
    pub(crate) fn of(settings: &Spec) -> Subject {
        Subject {
            name: settings.name.clone(),
            command: settings
                .command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }
    }

    /// The subject of a raw command line that did not parse: `--name`, and what follows
    /// `--`.
    pub(crate) fn in_args(args: &[std::ffi::OsString]) -> Subject {
        Subject {
            name: destinations::flag_value(args, "--name")
                .map(|name| name.to_string_lossy().into_owned()),
            command: args
                .iter()
                .skip_while(|a| *a != "--")
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }
    }
}

/// The record's clock, started when leash starts.
pub(crate) struct Clock {
    started_at: SystemTime,
    started: Instant,
}

impl Clock {
    /// Start the clock.
    pub(crate) fn start() -> Clock {
        Clock {
            started_at: SystemTime::now(),
            started: Instant::now(),
        }
    }
}

impl Record {
    /// The record of a session that went as `course` says, under the limits `limits`.
    pub(crate) fn new(
        clock: &Clock,
        subject: &Subject,
        limits: Vec<LimitRow>,
        course: &Course,
    ) -> Record {
        let (outcome, exit, findings) = match course {
            Course::NotStarted(error) => (Outcome::Error, Exit::after(error), None),
            Course::Ran(findings, exit) => (outcome_of(findings, *exit), *exit, Some(*findings)),
        };
        let (exit_code, signal) = match exit {
            Exit::Code(code) => (Some(code), None),
            Exit::Signal(signal) => (None, Some(format!("SIG{signal}"))),
        };
        let findings = findings.cloned().unwrap_or_default();
        Record {
            schema_version: SCHEMA_VERSION,
            leash_version: VERSION,
            name: subject.name.clone(),
            command: subject.command.clone(),
            started_at: humantime::format_rfc3339_millis(clock.started_at).to_string(),
            ended_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            wall_seconds: clock.started.elapsed().as_secs_f64(),
            limits,
            outcome,
            exit_code,
            signal,
            breach: findings.breach.map(breach_record),
            usage: findings.usage,
            stopped_processes: findings.stopped_processes,
            escaped_process_group: findings.escaped_process_group,
            warnings: findings.warnings,
            session_id: findings.session_id,
            control: findings.control,
            frozen_seconds: findings.frozen_seconds,
            nproc_backstop_filled: findings.nproc_backstop_filled,
            error: match course {
                Course::NotStarted(error) => Some(error.to_string()),
                Course::Ran(..) => None,
            },
            error_kind: match course {
                Course::NotStarted(error) => Some(error_kind(error)),
                Course::Ran(..) => None,
            },
        }
    }

    /// The document, pretty-printed.
    pub(crate) fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The document on one line (for the audit log).
    pub(crate) fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The `--verbose` account of what the session used.
    pub(crate) fn summary(&self) -> String {
        let usage = &self.usage;
        let seconds = |s: f64| format_millis(Duration::from_secs_f64(s));
        let mut line = format!(
            "used: wall {}, CPU user {} system {}",
            seconds(self.wall_seconds),
            seconds(usage.cpu_user_seconds),
            seconds(usage.cpu_system_seconds),
        );
        if let Some(memory) = usage.peak_memory_bytes {
            let _ = write!(line, ", peak memory {}", format_size(memory));
        }
        if let Some(tasks) = usage.peak_tasks {
            let _ = write!(line, ", peak processes and threads {tasks}");
        }
        if let Some(written) = usage.written_bytes {
            let _ = write!(line, ", written {}", format_size(written));
        }
        if let Some(output) = usage.output_bytes {
            let _ = write!(line, ", output {}", format_size(output));
        }
        line
    }
}

/// How a session that ran ended.
fn outcome_of(findings: &Findings, exit: Exit) -> Outcome {
    if findings.leash_signaled.is_some() {
        Outcome::LeashSignaled
    } else if findings.breach.is_some() {
        Outcome::Limit
    } else if let Exit::Signal(_) = exit {
        Outcome::Signaled
    } else {
        Outcome::Exited
    }
}

fn breach_record(breached: Breached) -> BreachRecord {
    let (value, observed) = breached.breach.amounts();
    BreachRecord {
        limit: breached.breach.kind(),
        value,
        observed,
        at_seconds: breached.after.as_secs_f64(),
        message: breached.breach.describe(),
    }
}
