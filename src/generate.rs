//! The man page and shell completions, generated from the one clap definition.

use std::io::Write;

use clap_complete::Shell;

use crate::cli::{Artifact, command};

/// Write `artifact` to `out`.
pub fn write(artifact: Artifact, out: &mut impl Write) -> std::io::Result<()> {
    let mut command = command();
    let shell = match artifact {
        Artifact::Man => return clap_mangen::Man::new(command).render(out),
        Artifact::Bash => Shell::Bash,
        Artifact::Zsh => Shell::Zsh,
        Artifact::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "leash", out);
    Ok(())
}
