//! The man page and shell completions, generated from the one clap definition.

use std::io::Write;

use clap_complete::Shell;

use crate::cli::{Artifact, command};

/// Sections of the man page beyond what clap knows, in roff.
const MAN_EXTRA: &str = r#".SH "HOW LIMITS ARE ENFORCED"
.TP
\fB\-\-wall\fR
Wall-clock time from the start of the command, kept by leash's own timer.
.TP
\fB\-\-mem\fR
Memory of the whole session: the proportional set size of every live process summed, so pages shared after a fork or from libraries count once. Sampled from /proc; each process also gets RLIMIT_DATA a sixteenth above the limit, so a single process cannot outrun the sampler by much.
.TP
\fB\-\-cpu\fR
User and system CPU time of every process the session ever ran, including those that have ended (the kernel charges a reaped child to its reaper, and leash reaps every orphan). Each process also gets RLIMIT_CPU a second above the limit.
.TP
\fB\-\-procs\fR
Processes and threads alive at once. Without privilege, RLIMIT_NPROC is also set to the user's tasks at start plus the limit plus one (it counts all of the user's processes; root is exempt from it).
.TP
\fB\-\-disk\-write\fR
Bytes the session wrote to storage (write_bytes of /proc/PID/io), including ended processes.
.PP
Without a cgroup these session limits are enforced by sampling the session's process tree: every 5 ms at first, every 100 ms when usage is calm, sooner as usage approaches a limit. A sampler can be outrun: a bomb may overshoot a limit before it is stopped. The per-process rlimits (\fB\-\-fsize\fR, \fB\-\-nofile\fR, \fB\-\-stack\fR, \fB\-\-core\fR, \fB\-\-rlimit\fR) are set in the command before it runs and enforced by the kernel.
.SH "EXIT STATUS"
.TP
\fIN\fR
The command exited with status \fIN\fR.
.TP
\fB124\fR
leash stopped the session because a limit was reached (with \fB\-\-preserve\-status\fR, the command's own status instead, 128+\fIN\fR if it died of signal \fIN\fR).
.TP
\fB125\fR
leash itself failed: bad input (one line on stderr names the flag), or the session could not be set up. Nothing was started.
.TP
\fB126\fR
The command was found but cannot be executed.
.TP
\fB127\fR
The command was not found.
.PP
If the command died of a signal, leash dies of the same signal (without dumping core), so a calling shell sees what it would have seen without leash.
.SH SIGNALS
SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to leash are forwarded to every process of the session; leash then stops the session (the signal, then SIGKILL after the grace) and dies of the same signal. A second one during the grace sends SIGKILL at once. SIGUSR1 and SIGUSR2 are forwarded to every process of the session, which goes on running.
.PP
If leash itself is killed with SIGKILL, its direct child is killed too (PR_SET_PDEATHSIG); processes that detached from it survive.
.SH ENVIRONMENT
\fBPATH\fR is searched for COMMAND as \fBexecvp\fR(3) would. The command gets leash's environment unchanged.
.SH EXAMPLES
.TP
\fBleash \-\-wall 10m \-\-mem 2GiB \-\-procs 128 \-\- interpreter \-y\fR
Run an LLM agent's interpreter with limits for its whole process tree; whatever its code starts is stopped with it.
.TP
\fBleash \-t 90s \-k 5s \-\- make test\fR
A CI step: TERM after 90 seconds, KILL 5 seconds later; exit status 124 if the limit was reached.
.TP
\fBleash \-\-fsize 1G \-\-rlimit nofile=1024:4096 \-\- ./script.sh\fR
Per-process rlimits, as \fBprlimit\fR(1) sets them.
.SH "SEE ALSO"
\fBtimeout\fR(1), \fBprlimit\fR(1), \fBsystemd\-run\fR(1), \fBsetrlimit\fR(2), \fBcgroups\fR(7)
"#;

/// Write `artifact` to `out`.
pub fn write(artifact: Artifact, out: &mut impl Write) -> std::io::Result<()> {
    // The generated files must not depend on the build profile the generator ran in.
    let mut command = command().version(env!("CARGO_PKG_VERSION"));
    let shell = match artifact {
        Artifact::Man => return write_man(command, out),
        Artifact::Bash => Shell::Bash,
        Artifact::Zsh => Shell::Zsh,
        Artifact::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "leash", out);
    Ok(())
}

fn write_man(command: clap::Command, out: &mut impl Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    out.write_all(MAN_EXTRA.as_bytes())?;
    man.render_version_section(out)
}
