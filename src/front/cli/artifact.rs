//! The files the hidden `--generate` mode prints.

use clap::ValueEnum;

/// Files the hidden `--generate` mode prints: leash's, those of the `timeout` and
/// `prlimit` personalities (for a link of that name), and `leashctl`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Artifact {
    /// The man page, leash.1.
    Man,
    /// Completions for bash.
    Bash,
    /// Completions for zsh.
    Zsh,
    /// Completions for fish.
    Fish,
    /// The `timeout` personality's man page, leash-timeout.1.
    TimeoutMan,
    /// Its completions for bash.
    TimeoutBash,
    /// Its completions for zsh.
    TimeoutZsh,
    /// Its completions for fish.
    TimeoutFish,
    /// The `prlimit` personality's man page, leash-prlimit.1.
    PrlimitMan,
    /// Its completions for bash.
    PrlimitBash,
    /// Its completions for zsh.
    PrlimitZsh,
    /// Its completions for fish.
    PrlimitFish,
    /// `leashctl`'s man page, leashctl.1.
    LeashctlMan,
    /// Its completions for bash.
    LeashctlBash,
    /// Its completions for zsh.
    LeashctlZsh,
    /// Its completions for fish.
    LeashctlFish,
}
