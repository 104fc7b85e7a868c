//! The session's spec built from what clap read: every value checked and in its own type
//! before anything starts.

use super::Cli;
use crate::machine::error::{Error, UsageError};
use crate::machine::rlimit::{Rlimit, RlimitRequest};
use crate::session::message::Verbosity;
use crate::session::session_limits::SessionLimits;
use crate::session::spec::{FlaggedRlimit, Spec};

/// The settings clap read, checked where flags must agree with each other.
pub(super) fn from_cli(cli: Cli) -> Result<Spec, Error> {
    refuse_impossible_procs(cli.procs)?;
    let rlimits = rlimits_of(&cli)?;
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    Ok(Spec {
        limits: SessionLimits {
            wall: cli.wall,
            memory: cli.memory,
            cpu: cli.cpu,
            tasks: cli.procs,
            disk_write: cli.disk_write,
            output: cli.output,
            idle: cli.idle,
        },
        cpu_rate: cli.cpu_rate,
        cgroup: cli.cgroup,
        signal: cli.signal,
        kill_after: cli.kill_after,
        preserve_status: cli.preserve_status,
        say_leftovers: cli.say_leftovers,
        rlimits,
        verbosity,
        confinement: confinement_of(&cli),
        allow_signals_outside: cli.allow_signals_outside,
        pid_ns: cli.pid_ns,
        reach: crate::session::isolation::Reach::from_flags(
            cli.network.clone(),
            &cli.write,
            cli.read_only,
            &cli.read,
            cli.private_tmp,
        )?,
        concurrency: crate::session::slots::Concurrency {
            slots: cli.slots,
            rate: cli.rate,
            wait: !cli.no_wait,
            timeout: cli.slot_timeout,
        },
        handled: crate::machine::signals::Handled::default(),
        child_signals: crate::machine::signals::caller::ChildSignals::fresh(),
        isolated: true,
        listed: true,
        command: cli.command,
        report: cli.report,
        report_only_on_breach: false,
        audit_log: cli.audit_log,
        metrics: cli.metrics,
        name: cli.name,
        warn: cli.warn,
        baseline: cli.baseline,
        on_sigint: cli.on_sigint,
        die_with_parent: cli.die_with_parent.then(nix::unistd::getppid),
        die_with: cli.die_with.map(nix::unistd::Pid::from_raw),
    })
}

/// The rlimits asked for, at most one per resource, and no core dumps unless asked.
fn rlimits_of(cli: &Cli) -> Result<Vec<FlaggedRlimit>, Error> {
    let named = [
        ("--fsize", cli.fsize),
        ("--nofile", cli.nofile),
        ("--stack", cli.stack),
        ("--core", cli.core),
    ];
    let flagged = named.into_iter().filter_map(|(flag, request)| {
        Some(FlaggedRlimit {
            flag,
            request: request?,
        })
    });
    let repeated = cli.rlimits.iter().map(|&request| FlaggedRlimit {
        flag: "--rlimit",
        request,
    });
    let mut rlimits: Vec<FlaggedRlimit> = Vec::new();
    for next in flagged.chain(repeated) {
        if let Some(earlier) = rlimits
            .iter()
            .find(|r| r.request.rlimit == next.request.rlimit)
        {
            return Err(UsageError::RlimitTwice {
                flag: next.flag,
                rlimit: next.request.rlimit.name(),
                earlier: earlier.flag,
            }
            .into());
        }
        rlimits.push(next);
    }
    if !rlimits.iter().any(|r| r.request.rlimit == Rlimit::CORE) {
        rlimits.push(FlaggedRlimit {
            flag: "default",
            request: RlimitRequest::both(Rlimit::CORE, 0),
        });
    }
    Ok(rlimits)
}

/// User, group, descriptors, directory, umask, niceness and environment.
/// More processes than the kernel can number cannot be a limit (a pids cgroup would
/// refuse the value, and the session would run without it).
fn refuse_impossible_procs(procs: Option<u64>) -> Result<(), Error> {
    let Some(procs) = procs else {
        return Ok(());
    };
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    match pid_max {
        Some(max) if procs > max => Err(UsageError::ProcsAbovePidMax { procs, max }.into()),
        _ => Ok(()),
    }
}

/// Refuse a flag typed on the command line that does nothing without another one: it was
/// meant to do something, and would be silently ignored. (From a config file or profile
/// it is a default for the sessions that do use it.) `typed` says which flags the user
/// typed.
pub(super) fn refuse_unpaired(cli: &Cli, typed: impl Fn(&str) -> bool) -> Result<(), Error> {
    let waits = cli.slots.is_some() || cli.rate.is_some();
    let limited = [
        cli.wall.is_some(),
        cli.memory.is_some(),
        cli.cpu.is_some(),
        cli.procs.is_some(),
        cli.disk_write.is_some(),
        cli.output.is_some(),
        cli.idle.is_some(),
    ]
    .contains(&true);
    let unpaired = [
        (
            "no-wait",
            !waits,
            "there is no --slots or --rate to wait for",
        ),
        (
            "slot-timeout",
            !waits,
            "there is no --slots or --rate to wait for",
        ),
        (
            "env-keep",
            !cli.env_clear,
            "without --env-clear the whole environment is kept",
        ),
        ("warn", !limited, "there is no session limit to warn about"),
        (
            "baseline",
            cli.name.is_none(),
            "the history it compares with is a --name's, and there is no --name",
        ),
    ];
    match unpaired
        .iter()
        .find(|(flag, lacking, _)| *lacking && typed(flag))
    {
        Some(&(flag, _, why)) => Err(UsageError::DoesNothing { flag, why }.into()),
        None => Ok(()),
    }
}

fn confinement_of(cli: &Cli) -> crate::session::confinement::Request {
    crate::session::confinement::Request {
        user: cli.user.clone(),
        group: cli.group.clone(),
        allow_new_privs: cli.allow_new_privs,
        keep_fds: cli.keep_fd.clone(),
        keep: crate::session::confinement::Kept::default(),
        chdir: cli.chdir.clone(),
        umask: cli.umask,
        nice: cli.nice,
        env_clear: cli.env_clear,
        env_keep: cli.env_keep.clone(),
        env: cli.env.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::time::Duration;

    use super::super::{Invocation, parse};
    use super::*;

    /// The settings of a `leash` command line that runs a session.
    fn parse_line(line: &str) -> Result<Spec, Error> {
        let args = std::iter::once("leash")
            .chain(line.split_whitespace())
            .map(OsString::from);
        match parse(args)? {
            Invocation::Run(settings) => Ok(*settings),
            other => panic!("{line:?} runs no session: {other:?}"),
        }
    }

    #[test]
    fn everything_after_the_command_belongs_to_it() {
        let settings = parse_line("-t 5 ls -l --wall 3").unwrap();
        assert_eq!(settings.limits.wall, Some(Duration::from_secs(5)));
        assert_eq!(settings.command, ["ls", "-l", "--wall", "3"]);
        assert_eq!(parse_line("-- -t").unwrap().command, ["-t"]);
    }

    #[test]
    fn defaults_are_term_two_seconds_and_no_core_dumps() {
        let settings = parse_line("true").unwrap();
        assert_eq!(settings.signal, nix::sys::signal::Signal::SIGTERM.into());
        assert_eq!(settings.kill_after, Duration::from_secs(2));
        assert_eq!(settings.limits.wall, None);
        assert_eq!(settings.rlimits.len(), 1);
        assert_eq!(settings.rlimits[0].request.rlimit, Rlimit::CORE);
    }

    #[test]
    fn mistakes_are_one_line_naming_the_flag() {
        let cases = [
            ("--wall 0 true", "--wall"),
            ("--wall -5 true", "negative"),
            ("--wall 5M true", "months"),
            ("--signal FOO true", "--signal"),
            ("--fsize 12Q true", "--fsize"),
            ("--nofile 10:5 true", "above"),
            ("--rlimit bogus=1 true", "not a resource"),
            ("--wal 5 true", "--wall"),
            ("--wall 5", "COMMAND"),
            (
                "--fsize 1M --rlimit fsize=2M true",
                "already set by --fsize",
            ),
        ];
        for (line, expected) in cases {
            let message = parse_line(line).unwrap_err().to_string();
            assert!(message.contains(expected), "{line:?} gave {message:?}");
            assert!(
                !message.contains('\n'),
                "{line:?} gave several lines: {message:?}"
            );
        }
    }
}
