//! Phase 1, parse: the command line's one clap definition, and parsing it (with the config
//! layers below it) into what leash was asked to do. The typed settings are built in
//! `settings`, `--print-config`'s text in `print_config`.

mod artifact;
pub(crate) mod config;
pub(crate) mod explain;
mod print_config;
mod roles;
mod settings;
mod short_form;
mod texts;
mod values;

use crate::machine::VERSION;
use crate::session::spec::Spec;
pub(crate) use artifact::Artifact;
pub(crate) use roles::{Role, is_setting, role};
use texts::{ABOUT, EXAMPLES, LONG_ABOUT};

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::machine::cgroup;
use crate::machine::error::Error;
use crate::machine::rlimit::{Rlimit, RlimitRequest};
use crate::machine::signals::number::SignalNumber;
use crate::machine::units::{
    parse_cpu_share, parse_duration, parse_fraction, parse_positive_count, parse_positive_duration,
    parse_positive_size,
};
use crate::session::isolation::Network;
use values::{parse_assignment, parse_niceness, parse_umask, rlimit_value};

/// The command line as clap reads it.
#[derive(Debug, Parser)]
#[allow(clippy::struct_excessive_bools)] // independent flags, as clap reads them
#[command(
    name = "leash",
    version = VERSION,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    override_usage = "leash [OPTIONS] [--] COMMAND [ARGS]...",
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// Wall-clock limit for the whole session, e.g. 90s, 5m, 1h30m; a bare number is seconds.
    /// The clock keeps running while the session is suspended.
    #[arg(short = 't', long, value_name = "DURATION", value_parser = parse_positive_duration,
          allow_hyphen_values = true, help_heading = "Limits")]
    wall: Option<Duration>,

    /// Memory of the whole session, e.g. 512M, 2GiB: the memory cgroup's limit (swap
    /// included; an OOM kill stops the session), else counted by leash (proportional set
    /// size: pages shared after a fork count once), sampled faster the closer it is.
    #[arg(short = 'm', long = "mem", value_name = "SIZE", value_parser = parse_positive_size,
          help_heading = "Limits")]
    memory: Option<u64>,

    /// CPU time (user + system) of the whole session, including processes that have ended,
    /// e.g. 30s, 5m (from the cgroup where there is one). Also sets RLIMIT_CPU a second above
    /// it for each process.
    #[arg(short = 'c', long, value_name = "DURATION", value_parser = parse_positive_duration,
          allow_hyphen_values = true, help_heading = "Limits")]
    cpu: Option<Duration>,

    /// Processes and threads alive in the session at once: pids.max of the session's
    /// cgroup, else counted by leash (and, without privilege, RLIMIT_NPROC set to your tasks
    /// at start plus N plus one). Reaching it stops the session with SIGKILL at once.
    #[arg(short = 'p', long, value_name = "N", value_parser = parse_positive_count,
          help_heading = "Limits")]
    procs: Option<u64>,

    /// Bytes the whole session writes to storage, including processes that have ended.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size, help_heading = "Limits")]
    disk_write: Option<u64>,

    /// Bytes the session may write to stdout and stderr together, e.g. 16MiB; leash then
    /// relays its output (a terminal stays a terminal) and passes nothing beyond the limit.
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size, help_heading = "Limits")]
    output: Option<u64>,

    /// Stop the session when it has written nothing to stdout or stderr for this long,
    /// e.g. 5m; leash then relays its output.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration,
          allow_hyphen_values = true, help_heading = "Limits")]
    idle: Option<Duration>,

    /// Throttle the whole session to this share of one CPU (0.5 = half a core, 2 = two
    /// cores, or 50%). Needs a writable cgroup with the cpu controller; refused without one.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpu_share, help_heading = "Limits")]
    cpu_rate: Option<f64>,

    /// Use a cgroup for the session: auto (where one is writable), require (refuse to start
    /// unless the cgroup holds the session and enforces --mem, --procs and --cpu), off.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = cgroup::Mode::Auto,
          help_heading = "Limits")]
    cgroup: cgroup::Mode,

    /// What SIGINT sent to leash does: stop the session (passing SIGINT on first), or
    /// forward it to every process of the session, which runs on.
    #[arg(
        long,
        value_name = "WHAT",
        default_value = "stop",
        help_heading = "Stopping"
    )]
    on_sigint: crate::machine::signals::OnSigint,

    /// Stop the session when leash's parent dies (its parent-death signal: Linux counts
    /// the thread that started leash), as if leash were sent SIGTERM.
    #[arg(long, help_heading = "Stopping")]
    die_with_parent: bool,

    /// Stop the session when process PID ends, as --die-with-parent does for leash's
    /// parent, however far up PID is (an agent gives its own: its commands end with it,
    /// even when it is killed).
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(i32).range(1..),
          help_heading = "Stopping")]
    die_with: Option<i32>,

    /// Signal sent first when the session is stopped: a name (TERM, SIGTERM), a real-time
    /// one (RTMIN+2, RTMAX-1), a number, or 0 (none: only the SIGKILL after the grace).
    #[arg(short, long, value_name = "SIG", default_value = "TERM", value_parser = SignalNumber::parse,
          help_heading = "Stopping")]
    signal: SignalNumber,

    /// Grace between that signal and SIGKILL; 0 sends SIGKILL at once.
    #[arg(short = 'k', long, value_name = "DURATION", default_value = "2s",
          value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Stopping")]
    kill_after: Duration,

    /// When a limit stops the command, exit with the command's status (128+N if it died of
    /// signal N) instead of 124.
    #[arg(long, help_heading = "Stopping")]
    preserve_status: bool,

    /// When the command exits by itself, say so in one line if leash stopped processes it
    /// left running (a server, a `&` job): whoever reads the output learns they are gone.
    #[arg(long, help_heading = "Stopping")]
    say_leftovers: bool,

    /// Accepted for compatibility with GNU timeout: leash always hands the terminal to the
    /// session when it runs in the terminal's foreground (Ctrl-C reaches the command).
    #[arg(long, help_heading = "Stopping")]
    foreground: bool,

    /// Largest file each process may create (RLIMIT_FSIZE), e.g. 100M, 1GiB, 500MB.
    #[arg(long, value_name = "SIZE", value_parser = rlimit_value(Rlimit::FSIZE), help_heading = "Per-process rlimits")]
    fsize: Option<RlimitRequest>,

    /// Open files per process (RLIMIT_NOFILE).
    #[arg(long, value_name = "N", value_parser = rlimit_value(Rlimit::NOFILE), help_heading = "Per-process rlimits")]
    nofile: Option<RlimitRequest>,

    /// Stack size per process (RLIMIT_STACK), e.g. 8M.
    #[arg(long, value_name = "SIZE", value_parser = rlimit_value(Rlimit::STACK), help_heading = "Per-process rlimits")]
    stack: Option<RlimitRequest>,

    /// Core dump size per process (RLIMIT_CORE) [default: 0, no core dumps].
    #[arg(long, value_name = "SIZE", value_parser = rlimit_value(Rlimit::CORE), help_heading = "Per-process rlimits")]
    core: Option<RlimitRequest>,

    /// Any rlimit prlimit knows: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice,
    /// nofile, nproc, rss, rtprio, rttime, sigpending, stack. One value sets soft and hard;
    /// SOFT: or :HARD sets one. Sizes take K, M, G, T (powers of 1024) or KB, MB.. (of
    /// 1000); cpu and rttime take durations; `unlimited` is allowed. Repeatable.
    #[arg(long = "rlimit", value_name = "NAME=SOFT[:HARD]", value_parser = RlimitRequest::parse_assignment,
          help_heading = "Per-process rlimits")]
    rlimits: Vec<RlimitRequest>,

    /// Run the command as this user (a name or a uid); root only. Its supplementary groups
    /// are reset to its group.
    #[arg(long, value_name = "USER", help_heading = "Privileges")]
    user: Option<String>,

    /// Run the command with this group (a name or a gid) [default: the user's]; root only.
    #[arg(long, value_name = "GROUP", help_heading = "Privileges")]
    group: Option<String>,

    /// Let the command gain privileges through set-user-ID programs and file capabilities
    /// (by default leash sets no_new_privs, so it cannot).
    #[arg(long, help_heading = "Privileges")]
    allow_new_privs: bool,

    /// Let the command inherit this descriptor above 2 (all others are closed). Repeatable.
    #[arg(long, value_name = "N", help_heading = "Privileges")]
    keep_fd: Vec<i32>,

    /// Start the command with an empty environment (plus --env-keep and --env).
    #[arg(long, help_heading = "Privileges")]
    env_clear: bool,

    /// Keep this variable when the environment is cleared. Repeatable.
    #[arg(long, value_name = "KEY", help_heading = "Privileges")]
    env_keep: Vec<String>,

    /// Set a variable for the command. Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_assignment, help_heading = "Privileges")]
    env: Vec<(String, String)>,

    /// Run the command in this directory.
    #[arg(long, value_name = "DIR", help_heading = "Privileges")]
    chdir: Option<PathBuf>,

    /// The command's umask, in octal (e.g. 077).
    #[arg(long, value_name = "MODE", value_parser = parse_umask, help_heading = "Privileges")]
    umask: Option<u32>,

    /// Add this to the command's niceness (a positive number lowers its priority).
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        value_parser = parse_niceness,
        help_heading = "Privileges"
    )]
    nice: Option<i32>,

    /// Let the session signal, stop and ptrace processes outside itself (leash and your
    /// other processes included) and connect to abstract unix sockets made outside it. By
    /// default a Landlock scope forbids that where the kernel has one (Linux 6.12).
    #[arg(long, help_heading = "Isolation")]
    allow_signals_outside: bool,

    /// Run the session in a PID namespace of its own, with leash's init as its PID 1 and its
    /// own /proc: it sees and signals only itself, and when leash dies, even by SIGKILL,
    /// the kernel kills all of it. Without privilege, through a user namespace that maps
    /// you to yourself; refused (125) where none can be made.
    #[arg(long, help_heading = "Isolation")]
    pid_ns: bool,

    /// The session's network: `host` (leash's own), `none` (a network namespace of its own
    /// with only a loopback interface: nothing outside is reachable, the host's loopback
    /// services included; where no namespace can be made, a seccomp filter refuses every
    /// socket but unix ones), or `ports=LIST` (TCP connect and bind only to these
    /// comma-separated ports, by Landlock, Linux 6.7; UDP is not covered).
    #[arg(long, value_name = "MODE", default_value = "host", value_parser = Network::parse,
          help_heading = "Isolation")]
    network: Network,

    /// Let the session create, change and delete files only below PATH (repeatable), the
    /// devices /dev/null, /dev/zero, /dev/full, /dev/tty and /dev/pts, and its private
    /// /tmp. Relative paths are taken from leash's working directory. Landlock.
    #[arg(long, value_name = "PATH", help_heading = "Isolation")]
    write: Vec<PathBuf>,

    /// Let the session write nowhere but those devices, its private /tmp and the --write
    /// paths, if any. Landlock.
    #[arg(long, help_heading = "Isolation")]
    read_only: bool,

    /// Let the session read and execute only below PATH (repeatable), the paths it may
    /// write, the system's libraries and loader, /proc, and the command with its
    /// interpreters (for `#!` scripts): it does not see the rest of the machine. Landlock.
    #[arg(long, value_name = "PATH", help_heading = "Isolation")]
    read: Vec<PathBuf>,

    /// Give the session a /tmp and /dev/shm of its own: a tmpfs of SIZE each (in a mount
    /// namespace), writable even under --read-only and gone when the session ends. Paths
    /// given to --write, --read or --chdir below /tmp are kept in it.
    #[arg(long, value_name = "SIZE", value_parser = values::parse_tmpfs_size, help_heading = "Isolation")]
    private_tmp: Option<u64>,

    /// Write the session's report, one JSON document (schema in docs/report.md), to FILE
    /// when the session ends, however it ends (`-`: stdout, after the command's output). Written atomically.
    #[arg(long, value_name = "FILE", help_heading = "Records")]
    report: Option<PathBuf>,

    /// Append the report as one JSON line to FILE (safe with many leash writing at once).
    #[arg(long, value_name = "FILE", help_heading = "Records")]
    audit_log: Option<PathBuf>,

    /// Warn when a figure passes what this --name usually takes: the p99 of its exited
    /// sessions in the audit log FILE (at least 30 of them; cached beside it).
    #[arg(long, value_name = "FILE", help_heading = "Records")]
    baseline: Option<PathBuf>,

    /// Write Prometheus metrics of the session to FILE (for node_exporter's textfile
    /// collector); counters add up over the sessions that write the same file.
    #[arg(long, value_name = "FILE", help_heading = "Records")]
    metrics: Option<PathBuf>,

    /// A name for the session in reports and metrics (the `name` label).
    #[arg(long, value_name = "NAME", value_parser = values::parse_name, help_heading = "Records")]
    name: Option<String>,

    /// Warn once on stderr (and in the report) when a usage first reaches this share of
    /// its limit, e.g. 0.8.
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction, help_heading = "Records")]
    warn: Option<f64>,

    /// Say what leash sets up and how the session ended.
    #[arg(short, long, conflicts_with = "quiet")]
    verbose: bool,

    /// Say nothing unless leash itself fails.
    #[arg(short, long)]
    quiet: bool,

    /// Print the effective limits and what enforces each on this machine, then exit
    /// without running anything.
    #[arg(long)]
    explain: bool,

    /// At most N sessions with this key run at once on this machine (for this user); the
    /// others wait for a slot, which does not count against --wall.
    #[arg(long, value_name = "KEY:N", value_parser = crate::session::slots::parse_slots, help_heading = "Concurrency")]
    slots: Option<crate::session::slots::Slots>,

    /// At most N sessions with this key start per period, e.g. api:10/1m; the others wait.
    #[arg(long, value_name = "KEY:N/PERIOD", value_parser = crate::session::slots::parse_rate, help_heading = "Concurrency")]
    rate: Option<crate::session::slots::Rate>,

    /// Do not wait for a slot or a start: exit 75 at once.
    #[arg(long, help_heading = "Concurrency")]
    no_wait: bool,

    /// Wait at most this long for a slot or a start, then exit 75.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, help_heading = "Concurrency")]
    slot_timeout: Option<Duration>,

    /// Take the settings of this profile: a built-in one (interpreter, agent-command) or a
    /// `[profile.NAME]` of a config file. Also LEASH_PROFILE.
    #[arg(long, value_name = "NAME", help_heading = "Configuration")]
    profile: Option<String>,

    /// Read this config file too, above /etc/leash/config.toml and
    /// ~/.config/leash/config.toml (see the man page, FILES).
    #[arg(long, value_name = "FILE", help_heading = "Configuration")]
    config: Option<PathBuf>,

    /// Print the effective settings and where each came from (command line, environment,
    /// file and line, profile, default), then exit without running anything.
    #[arg(long, help_heading = "Configuration")]
    print_config: bool,

    /// Print a generated file (man page or completions) and exit.
    #[arg(long, value_name = "WHAT", hide = true)]
    generate: Option<Artifact>,

    /// The command to run and its arguments.
    #[arg(
        value_name = "COMMAND",
        required_unless_present_any = ["generate", "explain", "print_config"],
        trailing_var_arg = true
    )]
    command: Vec<OsString>,
}

/// What leash was asked to do.
#[derive(Debug)]
pub(crate) enum Invocation {
    /// Run a command as a session.
    Run(Box<Spec>),
    /// Print the plan of a session: each limit and what enforces it here.
    Explain(Box<Spec>),
    /// Print a generated file.
    Generate(Artifact),
    /// Print the effective settings and their origins.
    PrintConfig(String),
}

/// Parse the command line, with the config layers below it. `Err` carries clap's error
/// (help and version included, which the caller prints as they are).
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    // --help and --version need no setting: a broken one must not hide the help.
    let layered = crate::front::cli::config::layered(args.clone(), command(), is_setting)
        .map_err(|e| roles::help_or_version(&mut command(), args).unwrap_or(e))?;
    let mut command = layered.command;
    let matches = match command.try_get_matches_from_mut(layered.args.clone()) {
        Ok(matches) => matches,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            return Err(values::not_utf8(&layered.args));
        }
        Err(e) => return Err(Error::Clap(e)),
    };
    let mut cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(Error::Clap)?;
    if cli.verbose {
        for var in &layered.ignored {
            crate::session::message::say(&format!("{var}: not a setting of leash's, ignored"));
        }
    }
    let wall_typed = roles::typed(&command, &matches, &layered.origins, "wall");
    short_form::take_wall(&mut cli, &matches, &layered.args, wall_typed)?;
    if let Some(artifact) = cli.generate {
        return Ok(Invocation::Generate(artifact));
    }
    if cli.print_config {
        let text = print_config::render(&command, &matches, &layered.origins);
        return Ok(Invocation::PrintConfig(text));
    }
    settings::refuse_unpaired(&cli, |long| {
        roles::typed(&command, &matches, &layered.origins, long)
    })?;
    let explain = cli.explain;
    let settings = Box::new(settings::from_cli(cli)?);
    Ok(if explain {
        Invocation::Explain(settings)
    } else {
        Invocation::Run(settings)
    })
}

/// The clap command, for parsing and for generating the man page and completions.
pub(crate) fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod fuzz_tests;

#[cfg(test)]
mod tests;
