//! `leashctl`'s texts beyond its clap definition: the man page's own sections, and the
//! completion of session ids added to the generated completions.

use clap_complete::Shell;

/// The subcommands that take a session id.
const TAKE_AN_ID: [&str; 4] = ["show", "freeze", "thaw", "stop"];

/// What lists the ids to complete.
const IDS: &str = "leashctl list --ids 2>/dev/null";

/// Complete session ids (from `leashctl list --ids`) where `script`, clap's completions
/// for `shell`, completes a subcommand's ID (clap knows no values for it).
pub(crate) fn complete_ids(shell: Shell, script: &str) -> String {
    match shell {
        Shell::Bash => {
            // Each such subcommand's case offers `opts` for its operand: add the ids there.
            let mut lines: Vec<String> = Vec::new();
            let mut in_id_case = false;
            for line in script.lines() {
                let trimmed = line.trim();
                if let Some(case) = trimmed.strip_prefix("leashctl__subcmd__") {
                    in_id_case = TAKE_AN_ID.iter().any(|c| case == format!("{c})"));
                }
                match line.strip_suffix('"') {
                    Some(opts) if in_id_case && trimmed.starts_with("opts=\"") => {
                        lines.push(format!("{opts} $({IDS})\""));
                        in_id_case = false;
                    }
                    _ => lines.push(line.to_string()),
                }
            }
            lines.join("\n") + "\n"
        }
        Shell::Zsh => {
            let helper = format!(
                "_leashctl_ids() {{\n    local -a ids\n    ids=(${{(f)\"$({IDS})\"}})\n    \
                 compadd -a ids\n}}\n"
            );
            let script = script.replace(":_default' \\", ":_leashctl_ids' \\");
            match script.split_once('\n') {
                Some((compdef, rest)) => format!("{compdef}\n\n{helper}{rest}"),
                None => script,
            }
        }
        Shell::Fish => format!(
            "{script}complete -c leashctl -n \"__fish_leashctl_using_subcommand {}\" -f -a \
             \"({IDS})\" -d 'session'\n",
            TAKE_AN_ID.join(" ")
        ),
        _ => script.to_string(),
    }
}

/// Sections of the man page beyond what clap knows, in roff.
pub(crate) const MAN_EXTRA: &str = r#".SH "THE REGISTRY"
Each \fBleash\fR session leaves an entry while it runs: a JSON file \fIID.PID.START.json\fR in \fIRUNTIME\fR/sessions, where \fIRUNTIME\fR is \fB$XDG_RUNTIME_DIR\fR/leash, else /run/leash for root, else /tmp/leash\-\fIUID\fR (the directory \fB\-\-slots\fR uses; the user's own, mode 0700). \fIPID\fR and \fISTART\fR are the supervisor's PID and start time: an entry whose supervisor no longer runs is shown as \fBstale\fR and removed by the next leash the same user starts. Beside it, \fIID.PID.START.events\fR holds what \fBleashctl\fR asked of the session (one JSON line per freeze, thaw or stop, with who asked and when) and \fIID.PID.START.figures\fR the supervisor's latest peaks and output count (at most a second old).
.PP
An entry counts only if its file and directory belong to the user it names and its supervisor runs as that user: one user cannot forge another's session. Under \fB\-\-write\fR or \fB\-\-read\-only\fR (Landlock) the session cannot change or remove its own entry; without them it can, since it runs as the same user, but it can still reach only that user's sessions.
.SH "FREEZE AND STOP"
\fBfreeze\fR uses the session's cgroup freezer (cgroup v2 cgroup.freeze, or the v1 freezer) where the session has one, else sends SIGSTOP to every process below the supervisor, walking the tree again until a walk finds nobody new. The supervisor goes on running: the wall clock counts the frozen time, and the report's \fBfrozen_seconds\fR says how long it was.
.PP
\fBstop\fR records the request, then sends the supervisor SIGTERM: it runs its stop sequence with the \fB\-\-signal\fR and \fB\-\-kill\-after\fR given (else TERM and the session's own grace), writes its record (\fBcontrol\fR names who stopped it), and dies of SIGTERM, as a SIGTERM would have made it. If the supervisor is gone or stopped, \fBleashctl\fR kills the session itself: its cgroup (cgroup.kill, or frozen and killed), and, for a stopped supervisor, every process below it (a PID namespace's init among them). A PID namespace of a supervisor that is gone ended with it. A session with neither cgroup nor namespace whose supervisor is gone cannot be told from other processes: \fBleashctl\fR says so and stops nothing. An entry is written as soon as the command runs (while it starts, not before: that takes the file system's work off every start), so a session is listed within a moment of its start.
.SH "AUDIT"
\fBaudit\fR \fIFILE\fR... reads audit logs that \fBleash \-\-audit\-log\fR wrote (plain or gzip, \fB\-\fR for stdin), line by line, and prints for each \fB\-\-name\fR and for all sessions: how many, their outcomes (\fBlimit\fR by the limit that stopped them), and the median, p95, p99 and max of wall time, CPU, peak memory, peak tasks, bytes written and output (each over the sessions that measured it). Percentiles are by nearest rank, exact up to 65,536 sessions per name and figure; beyond that within 0.5% (a logarithmic sketch), so memory does not grow with the log. A line that is no session record is named on stderr with its number and skipped. \fB\-\-since\fR and \fB\-\-until\fR take an RFC 3339 time, a date, or a duration ago (\fB2h\fR); on a terminal each figure gets a small histogram.
.PP
\fBaudit \-\-anomalies\fR lists instead the sessions whose figures lie far above their name's history: above Tukey's far\-out fence on a log scale (q3 + 3(q3 \- q1) of ln(1 + x)), four times the median, and a floor of the unit (1 s, 1 MiB, 16 tasks), judged only where the name has at least 30 sessions that measured the figure. It reads each log twice, so it takes files, not stdin.
.PP
\fBaudit \-\-suggest\fR prints, for each name, the limits that would have let 99.9% of its exited sessions through with 50% headroom (the sessions \fB\-\-anomalies\fR flags left out, so that the limits stop what they were), never below 10 s, 64 MiB, 32 tasks or 16 MiB of output, and how many sessions each limit stopped before: \fB[profile.\fR\fINAME\fR\fB]\fR blocks to paste into a config file and use with \fBleash \-\-profile\fR \fINAME\fR.
.SH "JUPYTER KERNELS"
\fBkernel install\fR writes a kernelspec (default name \fBleash\-python3\fR, in the user's Jupyter data directory, \fB$JUPYTER_DATA_DIR\fR or ~/.local/share/jupyter, or with \fB\-\-prefix\fR \fIDIR\fR in \fIDIR\fR/share/jupyter) whose kernel runs under \fBleash\fR with the options given after \fB\-\-\fR, behind a launcher: a Python script written beside the kernel.json that needs only the ipykernel, jupyter_client and pyzmq of the interpreter (\fB\-\-python\fR, checked to have them). The frontend starts the launcher; it starts ipykernel under \fBleash\fR \fIOPTIONS\fR \fB\-\-die\-with\-parent \-\-on\-sigint forward\fR on sockets of its own and relays the shell, control, stdin and IOPub channels. When \fBleash\fR stops the kernel at a limit, the launcher answers the running cell for it (an error output with leash's reason, the execute_reply, the idle) and starts a fresh kernel. \fB\-\-cell\-wall\fR and \fB\-\-cell\-cpu\fR budget each cell from when the launcher passes it on: at the budget the cell is interrupted (SIGINT to every process of the kernel's session) and told why; if it has not ended \fB\-\-cell\-grace\fR later, its kernel is stopped and restarted. A kernel that cannot start under its limits is not restarted: every request is answered with the reason. One stopped between cells is restarted on the next request. A frontend that dies takes the launcher and the kernel with it. \fB\-\-name python3\fR is refused without \fB\-\-prefix\fR (it would replace every frontend's default kernel), as are \fB\-\-idle\fR and \fB\-\-output\fR (a cell's output travels over ZeroMQ, not the kernel's stdout). \fBkernel list\fR shows the kernelspecs leashctl installed where frontends look (\fB$JUPYTER_PATH\fR, the user's and the system's directories); \fBkernel remove\fR removes one, and refuses a kernelspec leashctl did not write.
.SH "EXIT STATUS"
.TP
\fB0\fR
Done.
.TP
\fB1\fR
No session has that id, among those the caller may see.
.TP
\fB2\fR
A bad command line.
.TP
\fB3\fR
The request could not be carried out in full (a log that cannot be read, among others); the line on stderr says what and why.
.TP
\fB4\fR
The session belongs to another user.
.SH "SEE ALSO"
\fBleash\fR(1), \fBsystemctl\fR(1), \fBcgroups\fR(7)
"#;
