//! Supervision: set the session up, watch it until it ends or breaches a limit, stop it,
//! and decide how leash exits.

use std::time::Instant;

use nix::sys::signal::Signal;

use crate::cli::Settings;
use crate::exit::{CANNOT_EXECUTE, Exit, LEASH_FAILED, LIMIT_REACHED, NOT_FOUND};
use crate::kill::{signal_session, stop_session};
use crate::limits::{ResolvedRlimit, may_raise_hard_limits};
use crate::report::{detail, error, notice, processes};
use crate::session::Session;
use crate::signals::{FORWARDED, Inbox, TERMINATING, signal_name};
use crate::spawn::{Launch, SpawnError};
use crate::units::format_duration;

/// Why supervision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The main process exited by itself.
    MainExited,
    /// The wall-clock limit was reached.
    WallLimit,
    /// leash was asked to terminate with this signal.
    Signaled(Signal),
}

/// Run the command described by `settings` as a supervised session; returns how leash
/// must exit.
pub fn run_session(settings: &Settings) -> Exit {
    let session = match start(settings) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    supervise(session, settings)
}

/// Everything up to a running main process. On failure nothing of the command runs.
fn start(settings: &Settings) -> Result<Session, Exit> {
    let fail = |message: String| {
        error(&message);
        Exit::Code(LEASH_FAILED)
    };
    let rlimits = resolve_rlimits(settings).map_err(fail)?;
    for limit in &rlimits {
        detail(settings.verbosity, &format!("rlimit {limit}"));
    }
    let launch = Launch::new(&settings.command, rlimits).map_err(spawn_failure)?;
    // Orphans of the session are re-parented to leash instead of init, so none escapes.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| fail(format!("cannot become a subreaper: {e}")))?;
    let inbox = Inbox::open().map_err(|e| fail(format!("cannot set up signal handling: {e}")))?;
    let main = launch.spawn().map_err(spawn_failure)?;
    detail(
        settings.verbosity,
        &format!("started process {main} in its own process group"),
    );
    Ok(Session::new(main, inbox))
}

fn resolve_rlimits(settings: &Settings) -> Result<Vec<ResolvedRlimit>, String> {
    settings
        .rlimits
        .iter()
        .map(|flagged| {
            flagged
                .request
                .resolve(may_raise_hard_limits)
                .map_err(|e| format!("{} {}: {e}", flagged.flag, flagged.request.rlimit.name()))
        })
        .collect()
}

fn spawn_failure(failure: SpawnError) -> Exit {
    match failure {
        SpawnError::NotFound(program) => {
            error(&format!(
                "cannot run '{}': command not found",
                program.to_string_lossy()
            ));
            Exit::Code(NOT_FOUND)
        }
        SpawnError::CannotExecute(program, errno) => {
            error(&format!(
                "cannot run '{}': {}",
                program.to_string_lossy(),
                errno.desc()
            ));
            Exit::Code(CANNOT_EXECUTE)
        }
        SpawnError::Setup(message) => {
            error(&message);
            Exit::Code(LEASH_FAILED)
        }
    }
}

/// Watch the session until it ends, stop whatever is left, and say how leash exits.
fn supervise(mut session: Session, settings: &Settings) -> Exit {
    let ending = watch(&mut session, settings);
    let first_signal = match ending {
        Ending::Signaled(signal) => signal,
        Ending::MainExited | Ending::WallLimit => settings.signal,
    };
    let stopped = stop_session(&mut session, first_signal, settings.kill_after);
    let count = processes(stopped.processes);
    match ending {
        Ending::WallLimit => {
            let limit = settings.wall.map(format_duration).unwrap_or_default();
            notice(
                settings.verbosity,
                &format!("wall time limit {limit} reached; stopped {count}"),
            );
        }
        Ending::Signaled(signal) => {
            notice(
                settings.verbosity,
                &format!("received SIG{}; stopped {count}", signal_name(signal)),
            );
        }
        Ending::MainExited if stopped.processes > 0 => {
            detail(
                settings.verbosity,
                &format!("main process exited; stopped {count} left behind"),
            );
        }
        Ending::MainExited => {}
    }
    let Some(status) = session.main_status() else {
        error("lost track of the main process");
        return Exit::Code(LEASH_FAILED);
    };
    detail(
        settings.verbosity,
        &format!("main process ended: {status:?}"),
    );
    // Asked to terminate while stopping the session for another reason: leash was
    // signalled after all, and dies of that signal.
    let ending = match (ending, stopped.interrupted_by) {
        (Ending::MainExited | Ending::WallLimit, Some(signal)) => Ending::Signaled(signal),
        _ => ending,
    };
    match ending {
        Ending::MainExited => Exit::of(status),
        Ending::WallLimit if settings.preserve_status => Exit::of(status).as_shell_status(),
        Ending::WallLimit => Exit::Code(LIMIT_REACHED),
        Ending::Signaled(signal) => Exit::Signal(signal),
    }
}

/// Wait for the first thing that ends supervision, forwarding USR1 and USR2 meanwhile.
fn watch(session: &mut Session, settings: &Settings) -> Ending {
    let deadline = settings.wall.map(|wall| session.started() + wall);
    loop {
        if !session.reap() || session.main_status().is_some() {
            return Ending::MainExited;
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if timeout.is_some_and(|t| t.is_zero()) {
            return Ending::WallLimit;
        }
        for signal in session.wait(timeout) {
            if TERMINATING.contains(&signal) {
                return Ending::Signaled(signal);
            }
            if FORWARDED.contains(&signal) {
                signal_session(session, signal);
            }
        }
    }
}
