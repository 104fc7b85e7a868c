//! Supervision: set the session up, watch it until it ends or breaches a limit, stop it,
//! and decide how leash exits.

mod cgroups;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::accounting::{Sampler, Usage};
use crate::cgroup::SessionCgroup;
use crate::cli::Settings;
use crate::exit::{CANNOT_EXECUTE, Exit, LEASH_FAILED, LIMIT_REACHED, NOT_FOUND};
use crate::explain::LimitRow;
use crate::kill::{signal_session, stop_session};
use crate::limits::{ResolvedRlimit, may_raise_hard_limits};
use crate::quota::{Breach, ByCgroup, FIRST_SAMPLE, SessionLimits, Warner, within_budget};
use crate::record::{Findings, Recorder, UsageRecord, Warning};
use crate::relay::Relay;
use crate::report::{Verbosity, detail, error, notice, processes};
use crate::session::Session;
use crate::signals::{FORWARDED, Inbox, TERMINATING, signal_name};
use crate::spawn::{Launch, SpawnError};
use crate::terminal::Terminal;

/// Why supervision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The main process exited by itself.
    MainExited,
    /// The session went beyond a limit.
    Limit(Breach),
    /// leash was asked to terminate with this signal.
    Signaled(Signal),
}

/// Run the command described by `settings` as a supervised session; returns how leash
/// must exit.
pub fn run_session(settings: &Settings) -> Exit {
    let recorder = Recorder::start();
    let mut findings = Findings::default();
    let mut limits = Vec::new();
    let exit = run(settings, &mut findings, &mut limits);
    if settings.explain || !settings.recorded() {
        return exit;
    }
    // A command that never started is an error of leash's (or a missing command); once
    // it ran, its exit status is its own, even 125-127.
    let error = (!findings.started)
        .then(crate::report::last_error)
        .flatten();
    let record = recorder.finish(settings, limits, exit, findings, error);
    if settings.verbosity >= Verbosity::Verbose {
        crate::report::say(&record.summary());
    }
    crate::publish::publish(&record, settings);
    exit
}

/// Set the session up, supervise it and stop it; `findings` and `limits` get what the
/// record needs.
fn run(settings: &Settings, findings: &mut Findings, limits: &mut Vec<LimitRow>) -> Exit {
    let fail = |message: String| {
        error(&message);
        Exit::Code(LEASH_FAILED)
    };
    let plan = match cgroups::plan(settings) {
        Ok(plan) => plan,
        Err(message) => return fail(message),
    };
    if settings.explain {
        return match resolve_rlimits(settings, cgroups::by_cgroup(plan.as_ref())) {
            Ok(rlimits) => {
                crate::explain::print(settings, &rlimits, plan.as_ref());
                Exit::Code(0)
            }
            Err(message) => fail(message),
        };
    }
    // Held until the session is over; waiting for it does not count against --wall.
    let _slot = match settings.concurrency.admit() {
        Ok(held) => held,
        Err(message) => {
            error(&message);
            return Exit::Code(crate::slots::NO_SLOT);
        }
    };
    let cgroup = match plan {
        Some(plan) => match cgroups::create(settings, &plan) {
            Ok(cgroup) => cgroup,
            Err(message) => return fail(message),
        },
        None => None,
    };
    let by_cgroup = cgroups::by_cgroup(cgroup.as_ref().map(SessionCgroup::plan));
    let rlimits = match resolve_rlimits(settings, by_cgroup) {
        Ok(rlimits) => rlimits,
        Err(message) => return fail(message),
    };
    *limits = crate::explain::rows(settings, &rlimits, cgroup.as_ref().map(SessionCgroup::plan));
    // Created before the session starts: it notes what leash itself wrote until then.
    let sampler = (settings.limits.sampled() || settings.recorded() || settings.warn.is_some())
        .then(|| Sampler::new(settings.limits.wanted(by_cgroup, settings.recorded())));
    let (session, terminal) = match start(settings, cgroup, rlimits) {
        Ok(started) => started,
        Err(exit) => return exit,
    };
    supervise(session, terminal.as_ref(), sampler, settings, findings)
}

/// Everything up to a running main process. On failure nothing of the command runs.
fn start(
    settings: &Settings,
    cgroup: Option<SessionCgroup>,
    rlimits: Vec<ResolvedRlimit>,
) -> Result<(Session, Option<Terminal>), Exit> {
    let fail = |message: String| {
        error(&message);
        Exit::Code(LEASH_FAILED)
    };
    for limit in &rlimits {
        detail(settings.verbosity, &format!("rlimit {limit}"));
    }
    let terminal = Terminal::foreground();
    let entry = cgroup
        .as_ref()
        .map(SessionCgroup::entry)
        .unwrap_or_default();
    let relay = settings
        .limits
        .relayed()
        .then(|| Relay::new(settings.limits.output))
        .transpose()
        .map_err(|e| fail(format!("cannot set up the output relay: {e}")))?;
    let (relay, child_output) = relay.unzip();
    let output = child_output
        .as_ref()
        .map(|ends| (ends.stdout.as_raw_fd(), ends.stderr.as_raw_fd()));
    let launch = Launch::new(
        &settings.command,
        rlimits,
        terminal.is_some(),
        entry,
        output,
        &settings.privilege,
    )
    .map_err(spawn_failure)?;
    // Orphans of the session are re-parented to leash instead of init, so none escapes.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| fail(format!("cannot become a subreaper: {e}")))?;
    let inbox = Inbox::open().map_err(|e| fail(format!("cannot set up signal handling: {e}")))?;
    let main = launch.spawn().map_err(spawn_failure)?;
    // The session's ends of the relay belong to the session alone: with leash holding
    // them too, the relay would never see the end of its output.
    drop(child_output);
    detail(
        settings.verbosity,
        &format!("started process {main} in its own process group"),
    );
    Ok((Session::new(main, inbox, cgroup, relay), terminal))
}

/// The rlimits the user asked for, checked, plus the backstops of the session limits for
/// resources the user left alone and no cgroup holds.
fn resolve_rlimits(
    settings: &Settings,
    by_cgroup: ByCgroup,
) -> Result<Vec<ResolvedRlimit>, String> {
    let mut rlimits = settings
        .rlimits
        .iter()
        .map(|flagged| {
            flagged
                .request
                .resolve(may_raise_hard_limits)
                .map_err(|e| format!("{} {}: {e}", flagged.flag, flagged.request.rlimit.name()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (rlimit, soft, hard) in settings
        .limits
        .backstops(by_cgroup, crate::accounting::tasks_of_this_user)
    {
        if !rlimits.iter().any(|r| r.rlimit() == rlimit) {
            let backstop = ResolvedRlimit::backstop(rlimit, soft, hard)
                .map_err(|e| format!("cannot read the {} limit: {e}", rlimit.name()))?;
            rlimits.push(backstop);
        }
    }
    Ok(rlimits)
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
fn supervise(
    mut session: Session,
    terminal: Option<&Terminal>,
    mut sampler: Option<Sampler>,
    settings: &Settings,
    findings: &mut Findings,
) -> Exit {
    findings.started = true;
    let mut warner = settings.warn.map(Warner::new);
    let ending = watch(
        &mut session,
        terminal,
        sampler.as_mut(),
        settings,
        warner.as_mut().map(|w| (w, &mut findings.warnings)),
    );
    if let Ending::Limit(breach) = ending {
        findings.breach = Some((breach, session.started().elapsed()));
    }
    let first_signal = match ending {
        Ending::Signaled(signal) => signal,
        // A session at its process limit is a fork bomb until proven otherwise, and its
        // processes block signals while they retry fork: a grace would only be waited out.
        Ending::Limit(Breach::Tasks(..) | Breach::TasksRefused(_)) => Signal::SIGKILL,
        Ending::MainExited | Ending::Limit(_) => settings.signal,
    };
    let stopped = stop_session(&mut session, first_signal, settings.kill_after);
    // The cgroup's peaks are exact: read them before the cgroup goes.
    if let (Some(sampler), Some(cgroup)) = (sampler.as_mut(), session.cgroup()) {
        sampler.sample(Some(cgroup.read()));
    }
    session.drain_output();
    if let Some(terminal) = terminal {
        terminal.take_back();
    }
    if let Some(Err(e)) = session.cgroup().map(SessionCgroup::remove) {
        notice(settings.verbosity, &e);
    }
    let count = processes(stopped.processes);
    match ending {
        Ending::Limit(breach) => {
            notice(
                settings.verbosity,
                &format!("{}; stopped {count}", breach.describe()),
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
    findings.stopped = (stopped.processes, stopped.escaped_group);
    findings.usage = usage(&session, sampler.as_ref());
    let Some(status) = session.main_status() else {
        error("lost track of the main process");
        return Exit::Code(LEASH_FAILED);
    };
    // Asked to terminate while stopping the session for another reason: leash was
    // signalled after all, and dies of that signal.
    let ending = match (ending, stopped.interrupted_by) {
        (Ending::MainExited | Ending::Limit(_), Some(signal)) => Ending::Signaled(signal),
        _ => ending,
    };
    if let Ending::Signaled(signal) = ending {
        findings.leash_signaled = Some(signal);
    }
    match ending {
        Ending::MainExited => Exit::of(status),
        Ending::Limit(_) if settings.preserve_status => Exit::of(status).as_shell_status(),
        Ending::Limit(_) => Exit::Code(LIMIT_REACHED),
        Ending::Signaled(signal) => Exit::Signal(signal),
    }
}

/// Wait for the first thing that ends supervision, forwarding USR1 and USR2 meanwhile,
/// and sampling the session's usage when a session limit needs it.
fn watch(
    session: &mut Session,
    terminal: Option<&Terminal>,
    mut sampler: Option<&mut Sampler>,
    settings: &Settings,
    mut warner: Option<(&mut Warner, &mut Vec<Warning>)>,
) -> Ending {
    let limits = &settings.limits;
    let deadline = limits
        .wall
        .and_then(|wall| session.started().checked_add(wall));
    let mut interval = FIRST_SAMPLE;
    let mut last_sample = (Usage::default(), session.started());
    let mut next_sample = session.started() + interval;
    // Children are waited for only after a SIGCHLD: a relay busy with a flood wakes the
    // loop thousands of times a second, and a wait4 each time would cost more than the
    // relaying.
    let mut children_changed = true;
    loop {
        if std::mem::take(&mut children_changed) {
            if session.main_stopped().is_some() {
                suspend(session, terminal);
            }
            if !session.reap() || session.main_status().is_some() {
                return main_ended(session, sampler, limits);
            }
        }
        let now = Instant::now();
        if let (Some(deadline), Some(wall)) = (deadline, limits.wall)
            && now >= deadline
        {
            return Ending::Limit(Breach::Wall(wall));
        }
        if let Some(breach) = output_breach(session, limits, now) {
            return Ending::Limit(breach);
        }
        if let Some(sampler) = sampler.as_deref_mut()
            && now >= next_sample
        {
            let cpu_before = own_cpu();
            let usage = sampler.sample(session.cgroup().map(SessionCgroup::read));
            if let Some(breach) = limits.breach(&usage) {
                return Ending::Limit(breach);
            }
            if let Some((warner, given)) = warner.as_mut() {
                warn(session, settings, warner, given, &usage);
            }
            // CPU time, not wall time: on a loaded machine a sample waits for a CPU, and
            // stretching the interval then would blind leash just when a bomb runs.
            let cost = own_cpu().saturating_sub(cpu_before);
            let (before, then) = last_sample;
            interval = within_budget(
                limits.next_interval(&before, &usage, now - then, interval),
                cost,
                usage.tasks,
            );
            last_sample = (usage, now);
            next_sample = now + interval;
        }
        let idle_deadline = limits
            .idle
            .zip(session.relay())
            .map(|(idle, relay)| relay.last_output() + idle);
        let wake = [
            deadline,
            idle_deadline,
            sampler.is_some().then_some(next_sample),
        ]
        .into_iter()
        .flatten()
        .min();
        for signal in session.wait(wake.map(|w| w.saturating_duration_since(now))) {
            children_changed |= signal == Signal::SIGCHLD;
            if TERMINATING.contains(&signal) {
                return Ending::Signaled(signal);
            }
            if FORWARDED.contains(&signal) {
                signal_session(session, signal);
            }
        }
    }
}

/// How supervision ends once the main process has ended: by itself, or by the kernel at a
/// cgroup limit (an OOM kill, a refused fork).
fn main_ended(session: &Session, sampler: Option<&mut Sampler>, limits: &SessionLimits) -> Ending {
    let counted = session.cgroup().map(SessionCgroup::read);
    let refused = sampler
        .map(|s| s.sample(counted))
        .filter(|usage| usage.oom_kills > 0 || usage.refused_forks > 0);
    match refused.and_then(|usage| limits.breach(&usage)) {
        Some(breach) => Ending::Limit(breach),
        None => Ending::MainExited,
    }
}

/// The output limits: too much output, or none for too long.
fn output_breach(session: &Session, limits: &SessionLimits, now: Instant) -> Option<Breach> {
    let relay = session.relay()?;
    if let Some(limit) = limits.output.filter(|_| relay.exceeded()) {
        return Some(Breach::Output(limit));
    }
    let idle = limits.idle?;
    (now >= relay.last_output() + idle).then_some(Breach::Idle(idle))
}

/// The main process was stopped by job control (Ctrl-Z): stop the whole session, give the
/// terminal back, and stop leash itself, so the shell sees its job stopped. When the
/// shell continues leash (`fg`, `bg`), hand the terminal over again (if leash was in the
/// foreground) and continue the session. The limits' clocks keep running meanwhile.
fn suspend(session: &Session, terminal: Option<&Terminal>) {
    signal_session(session, Signal::SIGSTOP);
    if let Some(terminal) = terminal {
        terminal.take_back();
    }
    let _ = nix::sys::signal::raise(Signal::SIGSTOP);
    if let Some(terminal) = terminal.filter(|t| t.leash_in_foreground()) {
        terminal.hand_to(session.main());
    }
    signal_session(session, Signal::SIGCONT);
}

/// CPU time leash's thread has used so far.
fn own_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(Duration::ZERO, Duration::from)
}

/// Give the `--warn` warnings due now: on stderr and in the record.
fn warn(
    session: &Session,
    settings: &Settings,
    warner: &mut Warner,
    given: &mut Vec<Warning>,
    usage: &Usage,
) {
    let elapsed = session.started().elapsed();
    let output = session.relay().map(Relay::passed);
    for (limit, fraction, message) in warner.check(&settings.limits, usage, elapsed, output) {
        notice(settings.verbosity, &message);
        given.push(Warning {
            limit,
            fraction,
            at_seconds: elapsed.as_secs_f64(),
            message,
        });
    }
}

/// What the session used, once it is over and reaped.
fn usage(session: &Session, sampler: Option<&Sampler>) -> UsageRecord {
    let (user, system) = crate::accounting::reaped_cpu_split();
    let sampler = sampler.filter(|s| s.sampled());
    let peak = sampler.map(Sampler::peak);
    let wanted = sampler.map(Sampler::wanted).unwrap_or_default();
    UsageRecord {
        cpu_user_seconds: user.as_secs_f64(),
        cpu_system_seconds: system.as_secs_f64(),
        peak_memory_bytes: peak.map(|p| p.memory),
        peak_tasks: peak.map(|p| p.tasks),
        written_bytes: peak.filter(|_| wanted.written).map(|p| p.written),
        output_bytes: session.relay().map(Relay::passed),
    }
}
