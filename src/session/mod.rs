//! The session, which is the supervisor: phases 2 to 6 of running a command (phase 1,
//! parse, belongs to the front ends), each a module of its own, and what they use.
//!
//! 2. `plan`: which cgroup holds the session and what it enforces, the rlimits, and what
//!    holds each limit (`rows`, which `--explain` prints).
//! 3. `start`: stale sessions stopped, the session's cgroup made, the output relay, leash a
//!    subreaper with a signalfd, the command started (`spawn`), and the session registered
//!    for `leashctl` (`registered`, `registry`).
//! 4. `watch`: the loop that waits for the main process to end, a limit to be reached or a
//!    terminating signal, forwarding signals and sampling usage meanwhile (`accounting`,
//!    `cadence`, `warning`).
//! 5. `stop`: the stop sequence, then the output drained, the terminal taken back and the
//!    cgroup removed.
//! 6. `finish`: the exit status, what the session used, and its record (`record`).
//!
//! Between plan and start, leash waits for a `--slots` slot or a `--rate` start (`slots`;
//! waiting does not count against `--wall`). This layer names the machine layer below it,
//! never the front ends above it.

pub(crate) mod accounting;
pub(crate) mod as_timeout;
pub(crate) mod baseline;
pub(crate) mod cadence;
pub(crate) mod confinement;
pub(crate) mod die_with;
pub(crate) mod environment;
mod finish;
mod fork_gate;
pub(crate) mod history;
pub(crate) mod isolation;
mod live;
pub(crate) mod message;
mod plan;
mod processes;
pub(crate) mod record;
mod registered;
pub(crate) mod registry;
pub(crate) mod relay;
pub(crate) mod rows;
pub(crate) mod session_limits;
mod shared_nproc;
mod sharing;
pub(crate) mod slots;
pub(crate) mod spawn;
pub(crate) mod spec;
mod start;
mod stop;
pub(crate) mod warning;
mod watch;

pub(crate) use plan::Plan;

use crate::machine::error::{Error, SetupError};
use crate::machine::exit::{Exit, code_after};
use crate::session::record::Clock;
use crate::session::record::destinations::Destinations;
use crate::session::spec::Spec;
use finish::Ended;
use watch::watch;

/// Run the command described by `settings` as a supervised session; returns how leash
/// must exit.
pub(crate) fn run(settings: &Spec) -> Exit {
    let clock = Clock::start();
    // Where the record goes must be writable before anything runs.
    if let Err(error) = Destinations::of(settings).check() {
        crate::session::message::error(&error);
        return Exit::Code(code_after(&error));
    }
    let watched = settings.die_with.map_or(Ok(()), die_with::watch);
    if let Err(error) = die_with_parent(settings).and(watched) {
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
fn die_with_parent(settings: &Spec) -> Result<(), Error> {
    let Some(parent) = settings.die_with_parent else {
        return Ok(());
    };
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
        .map_err(SetupError::call("--die-with-parent"))?;
    // The parent may have died before the request: then no signal will come.
    if nix::unistd::getppid() != parent {
        return Err(SetupError::ParentGone {
            parent: parent.as_raw(),
        }
        .into());
    }
    Ok(())
}

/// Wait for a slot, start the session, watch it and stop it.
fn start_and_supervise(settings: &Spec, plan: Plan) -> Result<Ended, Error> {
    // Held until the session is over; waiting for it does not count against --wall.
    // Read before the wait, as a bad value is refused before anything waits or starts.
    let baseline = crate::session::baseline::for_session(settings)?;
    let _slot = settings.concurrency.admit()?;
    let mut running = start::start(settings, plan, baseline.is_some())?;
    let started = running.processes.started();
    let rules = watch::Rules {
        limits: &settings.limits,
        warn_at: settings.warn,
        baseline: baseline.as_ref(),
        forward_sigint: settings.on_sigint == crate::machine::signals::OnSigint::Forward,
    };
    let watched = watch(&mut running, started, rules);
    let stopped = stop::stop(&mut running, watched.ending, settings);
    Ok(Ended {
        running,
        watched,
        stopped,
    })
}
