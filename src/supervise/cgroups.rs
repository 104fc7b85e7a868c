//! Choosing the session's cgroup for the settings (`--cgroup`, the limits asked for) and
//! making it, after stopping sessions that a dead leash left behind.

use crate::cgroup::{
    self, Hierarchy, Job, KernelLimits, Mode, Plan, SessionCgroup, session_name,
    stop_stale_sessions,
};
use crate::cli::Settings;
use crate::quota::ByCgroup;
use crate::report::{detail, notice, processes};

/// The jobs a cgroup would do for these settings.
fn jobs(settings: &Settings) -> Vec<Job> {
    let limits = &settings.limits;
    let mut jobs = vec![Job::Contain];
    let wanted = [
        (limits.memory.is_some(), Job::Memory),
        (limits.tasks.is_some(), Job::Pids),
        (limits.cpu.is_some(), Job::CpuTime),
        (settings.cpu_rate.is_some(), Job::CpuRate),
    ];
    jobs.extend(wanted.into_iter().filter(|(on, _)| *on).map(|(_, job)| job));
    jobs
}

/// What the session's cgroup will do here, or `None` for no cgroup; an error when the
/// settings need what this machine cannot give (`--cgroup require`, `--cpu-rate`).
pub fn plan(settings: &Settings) -> Result<Option<Plan>, String> {
    if settings.cgroup == Mode::Off {
        if settings.cpu_rate.is_some() {
            return Err("--cpu-rate needs a cgroup, and --cgroup off forbids one".into());
        }
        return Ok(None);
    }
    let plan = Plan::probing(
        &cgroup::detect(),
        &jobs(settings),
        cgroup::kernel_has_kill_file(),
        cgroup::probe,
    );
    check(settings.cgroup, &plan)?;
    Ok((!plan.jobs.is_empty()).then_some(plan))
}

/// Refuse what cannot be had: `--cpu-rate` without a cpu controller, anything missing
/// under `--cgroup require`.
fn check(mode: Mode, plan: &Plan) -> Result<(), String> {
    if plan.missing.contains(&Job::CpuRate) {
        return Err(
            "--cpu-rate: no writable cgroup with the cpu controller here (see --explain)".into(),
        );
    }
    if mode == Mode::Require && !plan.missing.is_empty() {
        let missing: Vec<String> = plan.missing.iter().map(ToString::to_string).collect();
        let hint = if plan.hierarchies.is_empty() {
            "no cgroup below the ones leash runs in (/proc/self/cgroup) is writable; \
             run leash as root or inside `systemd-run --user --scope -p Delegate=yes`"
        } else {
            "the writable cgroups here lack it"
        };
        return Err(format!(
            "--cgroup require: cannot have {}: {hint}",
            missing.join(", ")
        ));
    }
    Ok(())
}

/// Stop stale sessions, then make this session's cgroup. Under `--cgroup auto` a cgroup
/// that cannot be made is reported and leash goes on without it; under `require` that
/// is an error.
pub fn create(settings: &Settings, plan: &Plan) -> Result<Option<SessionCgroup>, String> {
    let hierarchies: Vec<Hierarchy> = plan.hierarchies.iter().map(|(h, _)| h.clone()).collect();
    for stale in stop_stale_sessions(&hierarchies) {
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
    let me = nix::unistd::Pid::this();
    let started = crate::tree::start_time(me).ok_or("cannot read leash's own start time")?;
    let limits = KernelLimits {
        memory: settings.limits.memory,
        tasks: settings.limits.tasks,
        cpu_rate: settings.cpu_rate,
    };
    let name = session_name(me, started);
    let error = match SessionCgroup::create(plan, &name, &limits) {
        Ok(made) => return Ok(Some(announce(settings, plan, &name, made))),
        Err(e) if settings.cgroup == Mode::Require => return Err(format!("--cgroup: {e}")),
        Err(e) => e,
    };
    // The kernel does not enable controllers for the children of a v2 cgroup that holds
    // processes (leash itself, an ordinary login shell): contain the session in a cgroup
    // with the controllers that are enabled already, and count the rest in leash.
    let fallback = Plan::probing(&cgroup::detect(), &jobs(settings), plan.kill_file, |h| {
        cgroup::probe(h).map(Hierarchy::enabled_only)
    });
    check(settings.cgroup, &fallback).map_err(|e| format!("{error}; {e}"))?;
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

/// Say (with `--verbose`) where the session cgroup is.
fn announce(settings: &Settings, plan: &Plan, name: &str, made: SessionCgroup) -> SessionCgroup {
    for (hierarchy, _) in &plan.hierarchies {
        detail(
            settings.verbosity,
            &format!("cgroup {}", hierarchy.parent.join(name).display()),
        );
    }
    made
}

/// What a cgroup, planned or made from `plan`, does for the session limits.
pub fn by_cgroup(plan: Option<&Plan>) -> ByCgroup {
    let does = |job| plan.is_some_and(|p| p.hierarchy_of(job).is_some());
    ByCgroup {
        memory: does(Job::Memory),
        tasks: does(Job::Pids),
    }
}
