//! Supervision: phases 2 to 6 of a session (phase 1, parse, is `cli`'s), each a module of
//! its own.
//!
//! 2. `plan`: which cgroup holds the session and what it enforces, the rlimits, and what
//!    holds each limit (what `--explain` prints).
//! 3. `start`: stale sessions stopped, the session's cgroup made, the output relay, leash a
//!    subreaper with a signalfd, the command started, and the session registered for
//!    `leashctl` (`registered`).
//! 4. `watch`: the loop that waits for the main process to end, a limit to be reached or a
//!    terminating signal, forwarding signals and sampling usage meanwhile.
//! 5. `stop`: the stop sequence, then the output drained, the terminal taken back and the
//!    cgroup removed.
//! 6. `finish`: the exit status, what the session used, and its record.
//!
//! Between plan and start, leash waits for a `--slots` slot or a `--rate` start (waiting
//! does not count against `--wall`).

pub mod as_timeout;
mod finish;
mod live;
mod plan;
mod registered;
mod session;
mod shared_nproc;
mod start;
mod stop;
mod watch;

pub use plan::Plan;

use crate::cli::Settings;
use crate::error::Error;
use crate::exit::Exit;
use crate::record::Clock;
use crate::record::destinations::Destinations;
use finish::Ended;
use live::Live;
use watch::watch;

/// Run the command described by `settings` as a supervised session; returns how leash
/// must exit.
pub fn run(settings: &Settings) -> Exit {
    let clock = Clock::start();
    // Where the record goes must be writable before anything runs.
    if let Err(error) = Destinations::of(settings).check() {
        crate::message::error(&error);
        return Exit::Code(error.exit_code());
    }
    if let Err(error) = die_with_parent(settings) {
        return finish::failed(settings, &clock, &error, Vec::new());
    }
    let plan = match Plan::make(settings) {
        Ok(plan) => plan,
        Err(error) => return finish::failed(settings, &clock, &error, Vec::new()),
    };
    let planned_limits = settings.recorded().then(|| plan.rows.clone());
    match start_and_supervise(settings, plan) {
        Ok(ended) => finish::ended(settings, &clock, ended),
        Err(error) => finish::failed(settings, &clock, &error, planned_limits.unwrap_or_default()),
    }
}

/// `--die-with-parent`: leash gets SIGTERM when its parent dies, which stops the session
/// as a SIGTERM does (while it waits for a slot too). A parent gone already is an error.
fn die_with_parent(settings: &Settings) -> Result<(), Error> {
    let Some(parent) = settings.die_with_parent else {
        return Ok(());
    };
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
        .map_err(|e| Error::Setup(format!("--die-with-parent: {e}")))?;
    // The parent may have died before the request: then no signal will come.
    if nix::unistd::getppid() != parent {
        return Err(Error::Setup(format!(
            "--die-with-parent: its parent (PID {parent}) is already gone"
        )));
    }
    Ok(())
}

/// Wait for a slot, start the session, watch it and stop it.
fn start_and_supervise(settings: &Settings, plan: Plan) -> Result<Ended, Error> {
    // Held until the session is over; waiting for it does not count against --wall.
    // Read before the wait, as a bad value is refused before anything waits or starts.
    let baseline = crate::baseline::for_session(settings)?;
    let _slot = settings.concurrency.admit()?;
    let mut running = start::start(settings, plan, baseline.is_some())?;
    let started = running.session.started();
    let mut live = Live {
        running: &mut running,
        verbosity: settings.verbosity,
    };
    let rules = watch::Rules {
        limits: &settings.limits,
        warn_at: settings.warn,
        baseline: baseline.as_ref(),
        forward_sigint: settings.on_sigint == crate::signals::OnSigint::Forward,
    };
    let watched = watch(&mut live, started, rules);
    let stopped = stop::stop(&mut running, watched.ending, settings);
    Ok(Ended {
        running,
        watched,
        stopped,
    })
}
