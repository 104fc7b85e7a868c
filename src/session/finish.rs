//! Phase 6, finish: how leash exits, what the session used, and the session's record
//! (written wherever it was asked for), however the session went.

use nix::sys::signal::Signal;

use super::registered::control_records;
use super::shared_nproc::SharedNproc;
use super::start::Running;
use super::stop::Stopped;
use super::watch::{Ending, Watched};
use crate::machine::error::Error;
use crate::machine::exit::{Exit, LEASH_FAILED, LIMIT_REACHED, code_after};
use crate::session::accounting::{Sampler, reaped_cpu_split};
use crate::session::message::{Verbosity, error, say};
use crate::session::record::destinations::Destinations;
use crate::session::record::publish::publish;
use crate::session::record::{Breached, Clock, Course, Findings, Record, Subject, UsageRecord};
use crate::session::relay::Relay;
use crate::session::rows::LimitRow;
use crate::session::spec::Spec;

/// A session that ran: what watched it, why it ended, what the stop sequence did.
pub(crate) struct Ended {
    /// The session, over and reaped.
    pub(crate) running: Running,
    /// What the watch saw.
    pub(crate) watched: Watched,
    /// What the stop sequence did.
    pub(crate) stopped: Stopped,
}

/// Finish a session that ran; returns how leash exits.
pub(crate) fn ended(settings: &Spec, clock: &Clock, ended: Ended) -> Exit {
    let Ended {
        running,
        watched,
        stopped,
    } = ended;
    let session = &running.processes;
    // Asked to terminate while stopping the session for another reason: leash was
    // signalled after all, and dies of that signal.
    let ending = match (watched.ending, stopped.interrupted_by) {
        (Ending::MainExited | Ending::Limit(_), Some(signal)) => Ending::Signaled(signal),
        (ending, _) => ending,
    };
    let exit = match (session.main_status(), ending) {
        (None, _) => {
            let lost = Error::LostMainProcess;
            error(&lost);
            Exit::Code(code_after(&lost))
        }
        (Some(status), Ending::MainExited) => Exit::of(status),
        (Some(status), Ending::Limit(_)) if settings.preserve_status => {
            Exit::of(status).as_shell_status()
        }
        (Some(_), Ending::Limit(_)) => Exit::Code(LIMIT_REACHED),
        (Some(_), Ending::Signaled(signal)) => Exit::Signal(signal.into()),
    };
    if ending == Ending::MainExited {
        suspect_the_stack_limit(settings, &running, exit);
    }
    say_if_others_filled_the_backstop(settings, &running);
    if settings.recorded() {
        let (control, frozen_seconds) = control_records(running.registry.as_ref());
        let findings = Findings {
            breach: match watched.ending {
                Ending::Limit(breach) => Some(Breached {
                    breach,
                    after: watched.after,
                }),
                _ => None,
            },
            leash_signaled: signaled(ending),
            usage: usage(&running),
            stopped_processes: stopped.processes,
            escaped_process_group: stopped.escaped_group,
            warnings: watched.warnings,
            session_id: running.registry.as_ref().map(|r| r.id().to_string()),
            control,
            frozen_seconds,
            nproc_backstop_filled: running.shared_nproc.as_ref().and_then(SharedNproc::filled),
        };
        let course = Course::Ran(&findings, exit);
        if !write_record(settings, clock, running.plan.rows, &course) {
            // A record asked for and lost is leash's failure, whatever the command did:
            // a caller that relies on it must not take the session for a recorded one.
            return Exit::Code(LEASH_FAILED);
        }
    }
    exit
}

/// A command that dies of a fault (SIGSEGV, SIGBUS) under a stack limit the user set did
/// so, most likely, for want of stack: say so, since the command itself cannot.
fn suspect_the_stack_limit(settings: &Spec, running: &Running, exit: Exit) {
    let faulted = matches!(exit, Exit::Signal(signal)
        if matches!(signal.standard(), Some(Signal::SIGSEGV | Signal::SIGBUS)));
    let asked = settings
        .rlimits
        .iter()
        .any(|flagged| flagged.request.rlimit == crate::machine::rlimit::Rlimit::STACK);
    let stack = running
        .plan
        .rlimits
        .iter()
        .find(|r| r.rlimit() == crate::machine::rlimit::Rlimit::STACK);
    if let (true, true, Some(stack)) = (faulted, asked, stack) {
        crate::session::message::notice(
            settings.verbosity,
            &format!(
                "the command died of a fault under a stack limit of {}: the limit may be below \
                 what it needs",
                stack.values()
            ),
        );
    }
}

/// Forks the session lost to the user's other processes fail without a word from the
/// kernel: say that they may have, and why.
fn say_if_others_filled_the_backstop(settings: &Spec, running: &Running) {
    let Some(filled) = running.shared_nproc.as_ref().and_then(SharedNproc::filled) else {
        return;
    };
    crate::session::message::notice(
        settings.verbosity,
        &format!(
            "the user's tasks ({}) reached or came near RLIMIT_NPROC ({}), the backstop of \
             --procs, while the session had {}: forks in the session may have failed for \
             processes outside it (no user namespace could count the session's apart)",
            filled.user_tasks, filled.limit, filled.session_tasks
        ),
    );
}

/// Finish a session whose command never started because of `failure`; `limits` are the
/// planned ones, where the plan was made. Returns how leash exits.
pub(crate) fn failed(
    settings: &Spec,
    clock: &Clock,
    failure: &Error,
    limits: Vec<LimitRow>,
) -> Exit {
    error(failure);
    if settings.recorded() {
        // The failure's own status stands: it is leash's already, or the command's 126/127.
        let _ = write_record(settings, clock, limits, &Course::NotStarted(failure));
    }
    Exit::after(failure)
}

fn signaled(ending: Ending) -> Option<Signal> {
    match ending {
        Ending::Signaled(signal) => Some(signal),
        Ending::MainExited | Ending::Limit(_) => None,
    }
}

/// Make the record, say its summary with `--verbose`, and write it where it was asked for.
/// Returns whether it was written everywhere.
#[must_use]
fn write_record(settings: &Spec, clock: &Clock, limits: Vec<LimitRow>, course: &Course) -> bool {
    let record = Record::new(clock, &Subject::of(settings), limits, course);
    if settings.verbosity >= Verbosity::Verbose {
        say(&record.summary());
    }
    let mut to = Destinations::of(settings);
    if settings.report_only_on_breach && record.breach.is_none() {
        to.report = None;
    }
    publish(&record, &to)
}

/// What the session used, once it is over and reaped.
fn usage(running: &Running) -> UsageRecord {
    let (user, system) = reaped_cpu_split();
    let sampler = running.sampler.as_ref().filter(|s| s.sampled());
    let peak = sampler.map(Sampler::peak);
    let wanted = sampler.map(Sampler::wanted).unwrap_or_default();
    UsageRecord {
        cpu_user_seconds: user.as_secs_f64(),
        cpu_system_seconds: system.as_secs_f64(),
        // A session too short for any sample to see it saw nothing: unknown, not zero (it
        // had one process at least).
        peak_memory_bytes: peak.map(|p| p.memory).filter(|bytes| *bytes > 0),
        peak_tasks: peak.map(|p| p.tasks).filter(|tasks| *tasks > 0),
        written_bytes: peak.filter(|_| wanted.written).map(|p| p.written),
        output_bytes: running.processes.relay().map(Relay::passed),
    }
}
