//! Phase 3, start: make the session's cgroup, set the output relay up, become a subreaper
//! reading its signals from a signalfd, and start the command; once it runs, list it in
//! the registry and stop the sessions a dead leash left behind. On failure nothing of the
//! command runs.

use std::os::fd::AsRawFd;

use nix::unistd::Pid;

use super::plan::{Plan, check, jobs};
use super::processes::Processes;
use super::shared_nproc::SharedNproc;
use crate::machine::cgroup::{self, Hierarchy, KernelLimits, Mode, SessionCgroup, session_name};
use crate::machine::error::{CgroupError, Error, SetupError};
use crate::machine::proc_view::{self, View};
use crate::machine::signals::Inbox;
use crate::machine::terminal::Terminal;
use crate::session::accounting::Sampler;
use crate::session::fork_gate::ForkGate;
use crate::session::isolation::NetworkHold;
use crate::session::message::{Verbosity, detail, notice, processes};
use crate::session::registry::Published;
use crate::session::relay::Relay;
use crate::session::spawn::{Launch, OutputFds, Spawned};
use crate::session::spec::Spec;

/// The running session: its processes and what leash watches them with. It is the watch
/// loop's event source (`live`).
pub(crate) struct Running {
    /// Its processes: the main one, the cgroup, the relay and leash's signals.
    pub(crate) processes: Processes,
    /// The terminal leash handed to the session, if it had one in the foreground.
    pub(crate) terminal: Option<Terminal>,
    /// The sampler of the session's usage, where a limit, `--warn` or the record needs it.
    pub(crate) sampler: Option<Sampler>,
    /// The plan as the session runs it: what the cgroup that could be made does.
    pub(crate) plan: Plan,
    /// The session's entry in the registry, removed when this is dropped.
    pub(crate) registry: Option<Published>,
    /// The watch of an RLIMIT_NPROC backstop the session shares with the user's other
    /// processes, where it has one.
    pub(crate) shared_nproc: Option<SharedNproc>,
    /// How much leash says (its `--warn` warnings).
    pub(crate) verbosity: Verbosity,
}

/// Start the session `plan` describes; `baseline`: it will be compared with its name's
/// history, so every figure is sampled.
pub(crate) fn start(settings: &Spec, plan: Plan, baseline: bool) -> Result<Running, Error> {
    // Never supervise processes that only carry the session's PIDs elsewhere.
    if proc_view::view() == View::Blind {
        return Err(Error::Setup(SetupError::ProcBlind));
    }
    let cgroup_planned = plan.cgroup.is_some();
    let cgroup = match &plan.cgroup {
        Some(planned) => make_cgroup(settings, planned, &plan.detected)?,
        None => None,
    };
    let made = cgroup.as_ref().map(|c| c.plan().clone());
    let plan = if made == plan.cgroup {
        plan
    } else {
        plan.with_cgroup(settings, made)?
    };
    if let Err(missing) = &plan.isolation.scope {
        // Without the scope, at least no ptrace of leash and no write to its memory.
        let _ = nix::sys::prctl::set_dumpable(false);
        detail(
            settings.verbosity,
            &format!("the session can signal leash and your other processes: {missing}"),
        );
    }
    if let NetworkHold::SocketFilter(why) = &plan.isolation.network {
        notice(
            settings.verbosity,
            &format!(
                "--network none: no network namespace here ({why}); the session's sockets \
                 other than unix ones are refused instead"
            ),
        );
    }
    // Created before the session starts: it notes what leash itself wrote until then.
    // A baseline compares every figure, as a record reports every one.
    let every_figure = settings.recorded() || baseline;
    let sampler = (settings.limits.sampled() || every_figure || settings.warn.is_some())
        .then(|| Sampler::new(settings.limits.wanted(plan.by_cgroup(), every_figure)));
    for limit in &plan.rlimits {
        detail(settings.verbosity, &format!("rlimit {limit}"));
    }
    let terminal = Terminal::foreground();
    let session = spawn(settings, &plan, cgroup, terminal.is_some())?;
    let registry = once_running(settings, &plan, &session, cgroup_planned);
    let shared_nproc = plan
        .shared_nproc
        .zip(settings.limits.tasks)
        .map(|(limit, procs)| SharedNproc::new(limit, procs));
    Ok(Running {
        processes: session,
        terminal,
        sampler,
        plan,
        registry,
        shared_nproc,
        verbosity: settings.verbosity,
    })
}

/// Once the command runs, while it execs on a CPU of its own: list the session, open the
/// cgroup's gauges, and (where it has a cgroup) stop the sessions a dead leash left
/// behind, a look into every hierarchy leash is in. None is anything the command need
/// wait for.
fn once_running(
    settings: &Spec,
    plan: &Plan,
    session: &Processes,
    cgroup_planned: bool,
) -> Option<Published> {
    let registry = super::registered::register(settings, &plan.rows, session.cgroup());
    if let Some(cgroup) = session.cgroup() {
        cgroup.gauges();
    }
    if cgroup_planned {
        stop_stale_sessions(settings, &plan.detected);
    }
    registry
}

/// Everything from the relay to a running main process.
fn spawn(
    settings: &Spec,
    plan: &Plan,
    cgroup: Option<SessionCgroup>,
    take_terminal: bool,
) -> Result<Processes, Error> {
    let entry = cgroup
        .as_ref()
        .map(SessionCgroup::entry)
        .unwrap_or_default();
    let relay = settings
        .limits
        .relayed()
        .then(|| Relay::new(settings.limits.output))
        .transpose()
        .map_err(|error| SetupError::Io {
            what: "cannot set up the output relay",
            error,
        })?;
    let (relay, child_output) = relay.unzip();
    let output = child_output.as_ref().map(|ends| OutputFds {
        stdout: ends.stdout.as_raw_fd(),
        stderr: ends.stderr.as_raw_fd(),
    });
    let launch = Launch::new(
        &settings.command,
        plan.rlimits.clone(),
        take_terminal,
        entry,
        output,
        &settings.confinement,
        &plan.isolation,
    )?
    .with_signals(settings.child_signals);
    let gate_limit = gate_limit(settings, plan);
    let launch = match gate_limit {
        Some(_) => launch.with_fork_gate()?,
        None => launch,
    };
    // Orphans of the session are re-parented to leash instead of init, so none escapes.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(SetupError::call("cannot become a subreaper"))?;
    let inbox = Inbox::open(&settings.handled)
        .map_err(SetupError::call("cannot set up signal handling"))?;
    let mut spawned = launch.spawn()?;
    let main = spawned.main;
    let fork_gate = gate_limit.and_then(|limit| take_gate(settings, &mut spawned, limit));
    // The session's ends of the relay belong to the session alone: with leash holding
    // them too, the relay would never see the end of its output.
    drop(child_output);
    detail(
        settings.verbosity,
        &format!("started process {main} in its own process group"),
    );
    Ok(Processes::new(spawned, inbox, cgroup, relay).with_fork_gate(fork_gate))
}

/// The limit the fork gate holds: `--procs` where no pids cgroup does and a gate can be
/// had here.
fn gate_limit(settings: &Spec, plan: &Plan) -> Option<u64> {
    settings
        .limits
        .tasks
        .filter(|_| !plan.by_cgroup().tasks && plan.isolation.fork_gate.is_ok())
}

/// The fork gate of `limit` on the listener the child sent, or (said under `-v`) none.
fn take_gate(settings: &Spec, spawned: &mut Spawned, limit: u64) -> Option<ForkGate> {
    let gate = spawned.fork_gate.take().map(|l| ForkGate::new(l, limit));
    if gate.is_none() {
        detail(
            settings.verbosity,
            "--procs: no fork gate (another supervisor's seccomp listener holds the session); \
             its processes are sampled",
        );
    }
    gate
}

/// Make this session's cgroup. Under `--cgroup auto` a cgroup that cannot be made is
/// reported and leash goes on without it; under `require` that is an error.
fn make_cgroup(
    settings: &Spec,
    plan: &cgroup::Placement,
    detected: &[Hierarchy],
) -> Result<Option<SessionCgroup>, Error> {
    let me = Pid::this();
    let started =
        crate::machine::tree::start_time(me).ok_or(Error::Setup(SetupError::NoStartTime))?;
    let limits = KernelLimits {
        memory: settings.limits.memory,
        tasks: settings.limits.tasks,
        cpu_rate: settings.cpu_rate,
    };
    let name = session_name(me, started);
    let error = match SessionCgroup::create(plan, &name, &limits) {
        Ok(made) => return Ok(Some(announce(settings, plan, &name, made))),
        Err(e) if settings.cgroup == Mode::Require => {
            return Err(CgroupError::Required(Box::new(e)).into());
        }
        Err(e) => e,
    };
    // The kernel does not enable controllers for the children of a v2 cgroup that holds
    // processes (leash itself, an ordinary login shell): contain the session in a cgroup
    // with the controllers that are enabled already, and count the rest in leash.
    let fallback = cgroup::Placement::probing(detected, &jobs(settings), plan.kill_file, |h| {
        cgroup::probe(h).map(Hierarchy::enabled_only)
    });
    if let Err(then) = check(settings.cgroup, &fallback) {
        return Err(CgroupError::NoFallback {
            first: Box::new(error),
            then: Box::new(then),
        }
        .into());
    }
    if fallback != *plan
        && !fallback.jobs.is_empty()
        && let Ok(made) = SessionCgroup::create(&fallback, &name, &limits)
    {
        notice(
            settings.verbosity,
            &format!("{error}; the session's cgroup only holds what is enabled there"),
        );
        return Ok(Some(announce(settings, &fallback, &name, made)));
    }
    notice(
        settings.verbosity,
        &format!("{error}; going on without a cgroup (supervision only)"),
    );
    Ok(None)
}

/// Stop what runs in the session cgroups of leashes that no longer run, and say so: in
/// every hierarchy leash's cgroup is in, not only those this session uses (a SIGKILLed
/// `--mem` session's v1 memory cgroup would wait for the next `--mem` session).
/// `detected` holds every one of them (the plan's hierarchies are among them).
fn stop_stale_sessions(settings: &Spec, detected: &[Hierarchy]) {
    for stale in cgroup::stop_stale_sessions(detected) {
        notice(
            settings.verbosity,
            &format!(
                "stopped {} left by a leash that no longer runs ({})",
                stale.name,
                processes(stale.killed)
            ),
        );
        if let Some(left) = stale.left {
            notice(settings.verbosity, &left);
        }
    }
}

/// Say (with `--verbose`) where the session cgroup is.
fn announce(
    settings: &Spec,
    plan: &cgroup::Placement,
    name: &str,
    made: SessionCgroup,
) -> SessionCgroup {
    for planned in &plan.hierarchies {
        detail(
            settings.verbosity,
            &format!("cgroup {}", planned.hierarchy.parent.join(name).display()),
        );
    }
    made
}
