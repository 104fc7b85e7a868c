//! The man pages and shell completions, generated from the one clap definition (and the
//! personalities' definitions of their command lines).

use std::io::Write;

use clap_complete::Shell;

use crate::front::cli::{Artifact, command};

/// Sections of the man page beyond what clap knows, in roff.
const MAN_EXTRA: &str = r#".SH "THE SESSION CGROUP"
Where a cgroup below the one leash runs in is writable (as root; inside \fBsystemd\-run \-\-user \-\-scope \-p Delegate=yes\fR; in many CI containers), leash makes one for the session, named \fIleash\-PID\-START\fR after its own PID and start time, in each hierarchy it needs: cgroup v2 (the child is created in it with clone3, so nothing of the command runs outside; cgroup.kill stops everything at once) and, for controllers v2 does not offer there, cgroup v1 (memory, pids, cpuacct, cpu, freezer). The cgroup is removed when the session ends. A leash that was SIGKILLed cannot remove its cgroup: the next leash started from the same cgroup finds it (its PID and start time name no live process), kills whatever still runs in it and removes it.
.PP
\fB\-\-cgroup auto\fR (the default) uses a cgroup where it can and falls back to supervision where not; \fB\-\-cgroup require\fR refuses to start (exit 125) unless a cgroup holds the session and enforces every \fB\-\-mem\fR, \fB\-\-procs\fR and \fB\-\-cpu\fR asked for; \fB\-\-cgroup off\fR never uses one. \fB\-\-explain\fR shows which mechanism enforces each limit here.
.SH "HOW LIMITS ARE ENFORCED"
.TP
\fB\-\-wall\fR
Wall-clock time from the start of the command, kept by leash's own timer.
.TP
\fB\-\-mem\fR
With a memory cgroup: memory.max (v2) or memory.limit_in_bytes (v1), swap included, so the kernel holds the limit; an OOM kill in the session is the breach, and files the session writes to tmpfs (/dev/shm) count. Without: the proportional set size of every live process summed, so pages shared after a fork or from libraries count once, sampled from /proc, the more often the closer usage is to the limit (at the rate memory can fill, so that it cannot pass the limit between two samples). Tmpfs files are not counted then.
.TP
\fB\-\-cpu\fR
User and system CPU time of every process the session ever ran, including those that have ended: cpu.stat (v2) or cpuacct.usage (v1), else sampled (the kernel charges a reaped child to its reaper, and leash reaps every orphan). Each process also gets RLIMIT_CPU a second above the limit.
.TP
\fB\-\-cpu\-rate\fR
A share of one CPU for the whole session: cpu.max (v2) or cpu.cfs_quota_us (v1). Only with a cpu controller; refused without one.
.TP
\fB\-\-procs\fR
Processes and threads alive at once. With a pids cgroup: pids.max, so the kernel refuses the fork that would exceed it; that refusal is the breach. Without: sampled, and without privilege RLIMIT_NPROC is also set to the user's tasks at start plus the limit plus one (it counts all of the user's processes; root is exempt from it). A process-limit breach stops the session with SIGKILL at once: a fork bomb gets no grace.
.TP
\fB\-\-output\fR, \fB\-\-idle\fR
Bytes written to stdout and stderr together, and the time since the last of them, counted by leash's output relay: the session writes to pipes (or, where leash's stdout or stderr is a terminal, to a pseudo-terminal of the same size) and leash passes every byte on unchanged, up to the limit. Without these flags the session writes to leash's own stdout and stderr directly.
.TP
\fB\-\-disk\-write\fR
Bytes the session wrote to storage (write_bytes of /proc/PID/io), including ended processes; always sampled.
.PP
Sampled limits are checked every 5 ms at first, every 100 ms when usage is calm (up to every second for a session so large that sampling would cost more than 0.25% of a CPU), sooner as usage approaches a limit. A sampler can be outrun: a bomb may overshoot a limit before it is stopped. The per-process rlimits (\fB\-\-fsize\fR, \fB\-\-nofile\fR, \fB\-\-stack\fR, \fB\-\-core\fR, \fB\-\-rlimit\fR) are set in the command before it runs and enforced by the kernel.
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
.TP
\fB75\fR
\fB\-\-slots\fR or \fB\-\-rate\fR: no slot or start could be had with \fB\-\-no\-wait\fR or within \fB\-\-slot\-timeout\fR. Nothing was started.
.PP
If the command died of a signal, leash dies of the same signal (without dumping core), so a calling shell sees what it would have seen without leash.
.SH SIGNALS
SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to leash are forwarded to every process of the session; leash then stops the session (the signal, then SIGKILL after the grace) and dies of the same signal. A second one during the grace sends SIGKILL at once. SIGUSR1 and SIGUSR2 are forwarded to every process of the session, which goes on running. SIGALRM is the wall limit, now, as for \fBtimeout\fR: the session is stopped and leash exits 124. Every other signal whose default action would end leash (SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS) stops the session with \fB\-\-signal\fR, and leash then dies of it. SIGTSTP, SIGTTIN and SIGTTOU do not stop leash; a job-control stop of the command stops the whole session and leash with it.
.PP
If leash itself is killed with SIGKILL, its direct child is killed too (PR_SET_PDEATHSIG); processes that detached from it survive until the next leash started from the same cgroup stops them (with a session cgroup), or for good (without one). With \fB\-\-pid\-ns\fR nothing survives: the direct child is the namespace's init, and when it dies the kernel kills every process of the namespace.
.PP
The session cannot signal leash or any other process outside itself where the kernel has Landlock scopes (Linux 6.12): the command runs in a Landlock domain of its own (\fB\-\-allow\-signals\-outside\fR turns that off). \fB\-\-explain\fR says whether it holds here.
.SH ENVIRONMENT
\fBPATH\fR is searched for COMMAND as \fBexecvp\fR(3) would. The command gets leash's environment unchanged unless \fB\-\-env\-clear\fR, \fB\-\-env\-keep\fR or \fB\-\-env\fR say otherwise.
.TP
\fBLEASH_PROFILE\fR
The profile to use when \fB\-\-profile\fR is not given.
.TP
\fBLEASH_\fR\fIKEY\fR
Any setting, as its long flag in capitals with underscores (\fBLEASH_WALL=10m\fR, \fBLEASH_KILL_AFTER=5s\fR, \fBLEASH_PRESERVE_STATUS=1\fR); above the config files, below the command line.
.TP
\fBXDG_CONFIG_HOME\fR, \fBHOME\fR
Where the user's config file is.
.TP
\fBLEASH_SYSTEM_CONFIG\fR
Another path for the system config file (for packagers and tests).
.SH FILES
.TP
\fI/etc/leash/config.toml\fR, \fI$XDG_CONFIG_HOME/leash/config.toml\fR (or \fI~/.config/leash/config.toml\fR), \fB\-\-config\fR \fIFILE\fR
TOML config files, in rising precedence, below \fBLEASH_\fR\fIKEY\fR variables and the command line. Keys are the long flags without dashes (\fBwall = "10m"\fR, \fBkill\-after = "5s"\fR, \fBrlimit = ["nofile=64"]\fR, \fBpreserve\-status = true\fR); top-level keys always apply, a \fB[profile.\fR\fINAME\fR\fB]\fR table with \fB\-\-profile\fR \fINAME\fR. An unknown key or a bad value is an error naming the file, line and key. \fB\-\-print\-config\fR shows where each setting came from. The built-in profile \fBinterpreter\fR needs no file.
.TP
\fB\-\-report\fR \fIFILE\fR, \fB\-\-audit\-log\fR \fIFILE\fR, \fB\-\-metrics\fR \fIFILE\fR
The session's record (docs/report.md): replaced atomically, appended under \fBflock\fR(2), and rewritten atomically with \fIFILE\fR\fB.lock\fR serializing concurrent sessions.
.TP
\fIleash\-PID\-START\fR
The session's cgroup, below leash's own in each hierarchy it uses (see THE SESSION CGROUP).
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
\fBleashctl\fR(1), \fBtimeout\fR(1), \fBprlimit\fR(1), \fBsystemd\-run\fR(1), \fBsetrlimit\fR(2), \fBcgroups\fR(7)
"#;

/// What one artifact is made of: the command line, its name, and the man page's own
/// sections; `None` for the man page, else the shell to complete for.
fn parts(artifact: Artifact) -> (clap::Command, &'static str, &'static str, Option<Shell>) {
    use crate::front::personality::{prlimit_texts, timeout_texts};
    use Artifact as A;
    let (command, name, extra) = match artifact {
        A::Man | A::Bash | A::Zsh | A::Fish => (command(), "leash", MAN_EXTRA),
        A::TimeoutMan | A::TimeoutBash | A::TimeoutZsh | A::TimeoutFish => (
            timeout_texts::documented(),
            "timeout",
            timeout_texts::MAN_EXTRA,
        ),
        A::PrlimitMan | A::PrlimitBash | A::PrlimitZsh | A::PrlimitFish => (
            prlimit_texts::documented(),
            "prlimit",
            prlimit_texts::MAN_EXTRA,
        ),
        A::LeashctlMan | A::LeashctlBash | A::LeashctlZsh | A::LeashctlFish => (
            crate::front::ctl::command(),
            "leashctl",
            crate::front::ctl::MAN_EXTRA,
        ),
    };
    let shell = match artifact {
        A::Man | A::TimeoutMan | A::PrlimitMan | A::LeashctlMan => None,
        A::Bash | A::TimeoutBash | A::PrlimitBash | A::LeashctlBash => Some(Shell::Bash),
        A::Zsh | A::TimeoutZsh | A::PrlimitZsh | A::LeashctlZsh => Some(Shell::Zsh),
        A::Fish | A::TimeoutFish | A::PrlimitFish | A::LeashctlFish => Some(Shell::Fish),
    };
    (command, name, extra, shell)
}

/// Write `artifact` to `out`.
pub(crate) fn write(artifact: Artifact, out: &mut impl Write) -> std::io::Result<()> {
    let (command, name, extra, shell) = parts(artifact);
    // The generated files must not depend on the build profile the generator ran in.
    let mut command = command.version(env!("CARGO_PKG_VERSION"));
    match shell {
        None => write_man(command, name, extra, out),
        Some(shell) if name == "leashctl" => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, name, &mut script);
            let script = String::from_utf8_lossy(&script);
            out.write_all(crate::front::ctl::complete_ids(shell, &script).as_bytes())
        }
        Some(shell) => {
            clap_complete::generate(shell, &mut command, name, out);
            Ok(())
        }
    }
}

/// The man page of `command`; a personality's is named `leash-NAME`, beside the tool's own.
fn write_man(
    command: clap::Command,
    name: &str,
    extra: &str,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let title = if matches!(name, "timeout" | "prlimit") {
        format!("leash-{name}")
    } else {
        name.to_string()
    };
    let man = clap_mangen::Man::new(command).title(title);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    out.write_all(extra.as_bytes())?;
    man.render_version_section(out)
}
