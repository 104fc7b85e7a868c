//! Phase 2, plan: which cgroup will hold the session and what it enforces, the rlimits the
//! command gets (the user's, checked, and the session limits' backstops), and the limit
//! rows that say what holds each limit. `--explain` prints the plan; a session runs it.

use crate::machine::cgroup::{self, Hierarchy, Job, Mode};
use crate::machine::error::{CgroupError, Error, SetupError, UsageError};
use crate::machine::rlimit::{ResolvedRlimit, Rlimit, may_raise_hard_limits};
use crate::session::accounting::{nproc_counts_this_user, tasks_of_this_user};
use crate::session::isolation::{Asked, Isolation};
use crate::session::rows::{LimitRow, rows};
use crate::session::session_limits::ByCgroup;
use crate::session::spec::Spec;

/// What a session of these settings will be on this machine.
#[derive(Debug)]
pub(crate) struct Plan {
    /// What the session's cgroup will do, if it has one.
    pub(crate) cgroup: Option<cgroup::Placement>,
    /// The rlimits the command gets.
    pub(crate) rlimits: Vec<ResolvedRlimit>,
    /// What keeps the session from reaching outside itself.
    pub(crate) isolation: Isolation,
    /// Each limit and what enforces it.
    pub(crate) rows: Vec<LimitRow>,
    /// The cgroup hierarchies leash's own cgroup is in (none under `--cgroup off`): where
    /// stale sessions are looked for, and a fallback cgroup planned.
    pub(crate) detected: Vec<Hierarchy>,
    /// The RLIMIT_NPROC backstop of `--procs` where it counts the user's other processes
    /// too (no user namespace of the session's own): its value.
    pub(crate) shared_nproc: Option<u64>,
}

impl Plan {
    /// Plan a session of `settings`: probe for a cgroup, check every rlimit. An error is
    /// what cannot be had here (`--cgroup require`, `--cpu-rate` without a cpu
    /// controller, a hard limit that cannot be raised).
    pub(crate) fn make(settings: &Spec) -> Result<Plan, Error> {
        Plan::probing(settings, cgroup::probe)
    }

    /// [`Plan::make`] for `--explain`, which makes (and removes) a cgroup to know that
    /// one can be made: a start saves that cost, and falls back if the mkdir fails.
    pub(crate) fn to_explain(settings: &Spec) -> Result<Plan, Error> {
        Plan::probing(settings, cgroup::probe_by_making)
    }

    fn probing(settings: &Spec, probe: fn(&Hierarchy) -> Option<Hierarchy>) -> Result<Plan, Error> {
        let detected = if settings.cgroup == Mode::Off {
            Vec::new()
        } else {
            cgroup::detect()
        };
        let cgroup = cgroup_plan(settings, &detected, probe)?;
        let isolation = Isolation::prepare(Asked {
            signals_outside: settings.allow_signals_outside,
            new_privs: settings.confinement.allow_new_privs,
            changes_identity: settings.confinement.user.is_some()
                || settings.confinement.group.is_some(),
            pid_ns: settings.pid_ns,
            reach: settings.reach.clone(),
            program: program_to_read(settings),
            counts_processes: settings.limits.tasks.is_some()
                && !by_cgroup(cgroup.as_ref()).tasks
                && nproc_counts_this_user(),
            limits_processes: settings.limits.tasks.is_some(),
            isolated: settings.isolated,
        });
        if let Some(refusal) = isolation.refusal() {
            return Err(refusal);
        }
        Plan::assemble(settings, cgroup, isolation, detected)
    }

    /// This plan with `cgroup` doing what it does instead (what could really be made).
    pub(crate) fn with_cgroup(
        self,
        settings: &Spec,
        cgroup: Option<cgroup::Placement>,
    ) -> Result<Plan, Error> {
        Plan::assemble(settings, cgroup, self.isolation, self.detected)
    }

    fn assemble(
        settings: &Spec,
        cgroup: Option<cgroup::Placement>,
        isolation: Isolation,
        detected: Vec<Hierarchy>,
    ) -> Result<Plan, Error> {
        let by = by_cgroup(cgroup.as_ref());
        // The fork gate holds the count: no RLIMIT_NPROC, no count of the user's tasks (a
        // scan of every process). In a user namespace of its own the session's count starts
        // at zero: no need to count the user's other processes either.
        let gated = isolation.fork_gate.is_ok();
        let apart = isolation.counts_processes_apart;
        let rlimits = resolve_rlimits(settings, by, || match (gated, apart) {
            (true, _) => None,
            (false, true) => Some(0),
            (false, false) => tasks_of_this_user(),
        })?;
        let rows = rows(settings, &rlimits, cgroup.as_ref(), &isolation);
        let shared_nproc = shared_nproc(settings, &rlimits, apart);
        Ok(Plan {
            cgroup,
            rlimits,
            isolation,
            rows,
            detected,
            shared_nproc,
        })
    }

    /// Which session limits the cgroup holds.
    pub(crate) fn by_cgroup(&self) -> ByCgroup {
        by_cgroup(self.cgroup.as_ref())
    }
}

/// Under `--read`, the command's program, which must stay readable (a command that cannot
/// be found fails later, as it would without `--read`).
fn program_to_read(settings: &Spec) -> Option<std::path::PathBuf> {
    settings.reach.reads.as_ref()?;
    let name = settings.command.first()?;
    crate::machine::command_path::resolve(name)
        .ok()
        .and_then(|path| std::fs::canonicalize(path).ok())
}

/// The jobs a cgroup would do for these settings.
pub(crate) fn jobs(settings: &Spec) -> Vec<Job> {
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
/// settings need what this machine cannot give.
fn cgroup_plan(
    settings: &Spec,
    detected: &[Hierarchy],
    probe: fn(&Hierarchy) -> Option<Hierarchy>,
) -> Result<Option<cgroup::Placement>, Error> {
    if settings.cgroup == Mode::Off {
        if settings.cpu_rate.is_some() {
            return Err(CgroupError::CpuRateWithoutCgroup.into());
        }
        return Ok(None);
    }
    let plan = cgroup::Placement::probing(
        detected,
        &jobs(settings),
        cgroup::kernel_has_kill_file(),
        probe,
    );
    check(settings.cgroup, &plan)?;
    Ok((!plan.jobs.is_empty()).then_some(plan))
}

/// Refuse what cannot be had: `--cpu-rate` without a cpu controller, anything missing
/// under `--cgroup require`.
pub(crate) fn check(mode: Mode, plan: &cgroup::Placement) -> Result<(), Error> {
    if plan.missing.contains(&Job::CpuRate) {
        return Err(CgroupError::NoCpuController.into());
    }
    if mode == Mode::Require && !plan.missing.is_empty() {
        let missing: Vec<String> = plan.missing.iter().map(ToString::to_string).collect();
        let hint = if plan.hierarchies.is_empty() {
            "no cgroup below the ones leash runs in (/proc/self/cgroup) is writable; \
             run leash as root or inside `systemd-run --user --scope -p Delegate=yes`"
        } else {
            "the writable cgroups here lack it"
        };
        return Err(CgroupError::Missing {
            missing: missing.iter().map(ToString::to_string).collect(),
            hint: hint.to_string(),
        }
        .into());
    }
    Ok(())
}

/// What a cgroup, planned or made from `plan`, does for the session limits.
fn by_cgroup(plan: Option<&cgroup::Placement>) -> ByCgroup {
    let does = |job| plan.is_some_and(|p| p.hierarchy_of(job).is_some());
    ByCgroup {
        memory: does(Job::Memory),
        tasks: does(Job::Pids),
    }
}

/// The RLIMIT_NPROC backstop leash added for `--procs`, where it is shared with the
/// user's other processes (not `apart` in a user namespace of the session's own; one the
/// user set is the user's own limit).
fn shared_nproc(settings: &Spec, rlimits: &[ResolvedRlimit], apart: bool) -> Option<u64> {
    let users_own = settings
        .rlimits
        .iter()
        .any(|flagged| flagged.request.rlimit == Rlimit::NPROC);
    if apart || users_own || settings.limits.tasks.is_none() {
        return None;
    }
    rlimits
        .iter()
        .find(|r| r.rlimit() == Rlimit::NPROC)
        .map(ResolvedRlimit::soft)
}

/// The rlimits the user asked for, checked, plus the backstops of the session limits for
/// resources the user left alone and no cgroup holds.
fn resolve_rlimits(
    settings: &Spec,
    by_cgroup: ByCgroup,
    user_tasks: impl FnOnce() -> Option<u64>,
) -> Result<Vec<ResolvedRlimit>, Error> {
    let mut rlimits = settings
        .rlimits
        .iter()
        .map(|flagged| {
            flagged
                .request
                .resolve(may_raise_hard_limits)
                .map_err(|why| {
                    Error::Usage(UsageError::Rlimit {
                        flag: flagged.flag,
                        rlimit: flagged.request.rlimit.name(),
                        why,
                    })
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for backstop in settings.limits.backstops(by_cgroup, user_tasks) {
        if !rlimits.iter().any(|r| r.rlimit() == backstop.rlimit) {
            let resolved = ResolvedRlimit::backstop(backstop.rlimit, backstop.soft, backstop.hard)
                .map_err(|errno| SetupError::RlimitUnreadable {
                    rlimit: backstop.rlimit.name(),
                    errno,
                })?;
            rlimits.push(resolved);
        }
    }
    Ok(rlimits)
}
