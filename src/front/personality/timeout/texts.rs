//! What `timeout --help` and `timeout --version` print in the `timeout` personality.

use crate::front::personality::getopt::{Documented, documented_args};

/// `timeout --help`: GNU's usage, options and exit statuses, and what leash adds.
pub(crate) const HELP: &str = "\
Usage: timeout [OPTION]... DURATION COMMAND [ARG]...
  or:  timeout [OPTION]
Start COMMAND, and kill it if still running after DURATION.

Mandatory arguments to long options are mandatory for short options too.
  -f, --foreground
         when not running timeout directly from a shell prompt,
         allow COMMAND to read from the TTY and get TTY signals;
         in this mode, only COMMAND itself is sent the timeout's signals
  -k, --kill-after=DURATION
         also send a KILL signal if COMMAND is still running
         this long after the initial signal was sent
  -p, --preserve-status
         exit with the same status as COMMAND,
         even when the command times out
  -s, --signal=SIGNAL
         specify the signal to be sent on timeout;
         SIGNAL may be a name like 'HUP' or a number;
         see 'kill -l' for a list of signals
  -v, --verbose
         diagnose to standard error any signal sent upon timeout
      --help        display this help and exit
      --version     output version information and exit

DURATION is a floating point number with an optional suffix:
's' for seconds (the default), 'm' for minutes, 'h' for hours or 'd' for days.
A duration of 0 disables the associated timeout.

Upon timeout, send the TERM signal to COMMAND, if no other SIGNAL specified.
The TERM signal kills any process that does not block or catch that signal.
It may be necessary to use the KILL signal, since this signal can't be caught.

Exit status:
  124  if COMMAND times out, and --preserve-status is not specified
  125  if the timeout command itself fails
  126  if COMMAND is found but cannot be invoked
  127  if COMMAND cannot be found
  137  if COMMAND (or timeout itself) is sent the KILL (9) signal (128+9)
  -    the exit status of COMMAND otherwise

This timeout is leash (run as 'timeout'): when COMMAND ends, whatever it started
is stopped too (the same signal, then KILL after --kill-after or 2 seconds),
however it detached (setsid, double fork). Run 'leash --help' for the rest.
";

/// `timeout --version`.
pub(crate) fn version() -> String {
    format!(
        "timeout (leash) {}\nGNU timeout's command line, run by leash: nothing the command starts outlives it.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Each option as the man page shows it: long name, letter, value, help.
const DOCUMENTED: [Documented; 7] = [
    (
        "foreground",
        Some('f'),
        None,
        "Leave COMMAND in the caller's process group, so that it can read from the terminal \
         and get its signals; only COMMAND itself is sent the timeout's signals",
    ),
    (
        "kill-after",
        Some('k'),
        Some("DURATION"),
        "Also send KILL if COMMAND is still running this long after the first signal",
    ),
    (
        "preserve-status",
        Some('p'),
        None,
        "Exit with COMMAND's status even when it timed out",
    ),
    (
        "signal",
        Some('s'),
        Some("SIGNAL"),
        "The signal sent on timeout (default TERM): a name (HUP, SIGHUP), a number, or 0",
    ),
    (
        "verbose",
        Some('v'),
        None,
        "Say on stderr each signal sent on timeout",
    ),
    ("help", None, None, "Print the help"),
    ("version", None, None, "Print the version"),
];

/// The command line as a clap definition, for the man page and completions only (the
/// personality reads its command line with [`super::OPTIONS`], as getopt does).
pub(crate) fn documented() -> clap::Command {
    use clap::{Arg, Command, ValueHint};
    let options = documented_args(&DOCUMENTED);
    Command::new("timeout")
        .about("Start COMMAND, and kill it if still running after DURATION")
        .long_about(
            "leash run as timeout: GNU coreutils timeout's command line, options, messages \
             and exit statuses, with leash's process tree underneath (what COMMAND leaves \
             behind when it ends is stopped too). Make a link named timeout to leash, first \
             on PATH.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(options)
        .arg(
            Arg::new("duration")
                .value_name("DURATION")
                .required(true)
                .help("A floating-point number with an optional s, m, h or d; 0 is no timeout"),
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .required(true)
                .num_args(1..)
                .trailing_var_arg(true)
                .value_hint(ValueHint::CommandWithArguments)
                .help("The command and its arguments"),
        )
}

/// The man page's sections beyond what clap knows, in roff.
pub(crate) const MAN_EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB124\fR
COMMAND timed out (and \fB\-\-preserve\-status\fR was not given).
.TP
\fB125\fR
timeout itself failed: a bad DURATION, signal or option.
.TP
\fB126\fR
COMMAND was found but cannot be run.
.TP
\fB127\fR
COMMAND was not found.
.TP
\fB137\fR
COMMAND (or timeout) was sent KILL, by \fB\-\-kill\-after\fR or \fB\-s KILL\fR.
.PP
Otherwise COMMAND's own status; if it died of a signal that timeout did not send on timeout, timeout dies of the same signal.
.SH SIGNALS
At DURATION, or when timeout receives SIGALRM, COMMAND and its process group get the signal (then SIGCONT); with \fB\-\-foreground\fR only COMMAND does. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, the real-time signals and the other signals that would end timeout are passed on the same way, unless the caller ignored them; \fB\-\-kill\-after\fR counts from the first signal sent, whatever sent it. Signals the caller ignored stay ignored for COMMAND, but for SIGALRM and the timeout's signal. If timeout is killed, COMMAND gets the timeout's signal (PR_SET_PDEATHSIG).
.SH "DIFFERENCES FROM GNU TIMEOUT"
When COMMAND ends, whatever it started that is still running is stopped: the timeout's signal (TERM for \fB\-s 0\fR), then KILL after \fB\-\-kill\-after\fR or 2 seconds, however it detached (setsid, a double fork: leash is a subreaper). GNU timeout leaves such processes running. DURATIONs beyond 584 years are no timeout. Nothing else differs by intent: there is no cgroup, Landlock domain or seccomp filter, so COMMAND may do what it may under GNU timeout. Use \fBleash\fR(1) itself for limits and containment.
.SH "SEE ALSO"
\fBleash\fR(1), \fBtimeout\fR(1), \fBleash\-prlimit\fR(1)
"#;
