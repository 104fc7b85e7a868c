//! The man page and shell completions, generated from the one clap definition.

use std::io::Write;

use clap_complete::Shell;

use crate::cli::{Artifact, command};

/// Sections of the man page beyond what clap knows, in roff.
const MAN_EXTRA: &str = r#".SH "EXIT STATUS"
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
