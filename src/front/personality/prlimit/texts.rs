//! What documents the `prlimit` personality: its command line as a clap definition (for
//! the man page and completions) and the man page's own sections.

use crate::front::personality::getopt::{Documented, documented_args};
use crate::machine::rlimit::RLIMITS;

/// The options besides the resources', as the man page shows them: long name, letter,
/// value, help.
const DOCUMENTED: [Documented; 7] = [
    (
        "pid",
        Some('p'),
        Some("PID"),
        "The process whose limits to show or change",
    ),
    (
        "output",
        Some('o'),
        Some("LIST"),
        "The columns: RESOURCE, DESCRIPTION, SOFT, HARD, UNITS",
    ),
    ("noheadings", None, None, "Print no headings"),
    ("raw", None, None, "The raw output format"),
    ("verbose", None, None, "Say each limit set with --pid"),
    ("help", Some('h'), None, "Print the help"),
    ("version", Some('V'), None, "Print the version"),
];

/// The command line as a clap definition, for the man page and completions only (the
/// personality reads its command line as getopt does).
pub(crate) fn documented() -> clap::Command {
    use clap::{Arg, Command, ValueHint};
    let options = documented_args(&DOCUMENTED);
    let resources = RLIMITS.iter().map(|resource| {
        Arg::new(resource.name())
            .short(resource.letter())
            .long(resource.name())
            .value_name("LIMIT")
            .num_args(0..=1)
            .require_equals(true)
            .help(resource.description())
    });
    Command::new("prlimit")
        .about("Show or change the resource limits of a process")
        .long_about(
            "leash run as prlimit: util-linux prlimit's command line. With COMMAND, set the \
             limits and run COMMAND in prlimit's place; without, show (and with values, \
             change) prlimit's own limits or those of --pid. Make a link named prlimit to \
             leash, first on PATH.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(options)
        .args(resources)
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .num_args(1..)
                .trailing_var_arg(true)
                .value_hint(ValueHint::CommandWithArguments)
                .help("The command to run with the limits, and its arguments"),
        )
}

/// The man page's sections beyond what clap knows, in roff.
pub(crate) const MAN_EXTRA: &str = r#".SH LIMITS
A LIMIT is \fISOFT\fR\fB:\fR\fIHARD\fR, \fISOFT\fR\fB:\fR (the hard limit kept), \fB:\fR\fIHARD\fR (the soft limit kept) or one value for both. A value is \fBunlimited\fR (or \fBinfinity\fR) or a number, which may end in \fBK\fR, \fBM\fR, \fBG\fR, \fBT\fR, \fBP\fR or \fBE\fR (or \fBKiB\fR... : powers of 1024) or \fBKB\fR... (powers of 1000). A resource option without a value shows that limit.
.SH "EXIT STATUS"
0 when the limits were shown or changed; 1 when a value, column, PID or option is wrong or a limit cannot be read or set; with COMMAND, COMMAND's own status, or 126 (it cannot be run) or 127 (not found).
.SH "DIFFERENCES FROM UTIL-LINUX PRLIMIT"
util-linux 2.38 reads the number of a value and silently drops a size suffix (\fB\-\-as=2G\fR is two bytes); leash takes the suffix. COMMAND runs in prlimit's place, as under util-linux: no supervision (use \fBleash\fR(1) for that).
.SH "SEE ALSO"
\fBleash\fR(1), \fBprlimit\fR(1), \fBleash\-timeout\fR(1), \fBsetrlimit\fR(2)
"#;
