//! The cases of what was given wrong: flags that do not fit together or this machine, and
//! config layers; each with the values that say what (the flag, the path, the key) and
//! the one line that says it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

use super::Invalid;

/// Flags that do not fit together or do not fit this machine.
#[derive(Debug)]
pub(crate) enum UsageError {
    /// One rlimit asked for twice (`--fsize 1M --rlimit fsize=2M`).
    RlimitTwice {
        flag: &'static str,
        rlimit: &'static str,
        earlier: &'static str,
    },
    /// An rlimit that cannot be had here (above the hard limit, say).
    Rlimit {
        flag: &'static str,
        rlimit: &'static str,
        why: Invalid,
    },
    /// `--procs` above the kernel's pid_max.
    ProcsAbovePidMax { procs: u64, max: u64 },
    /// A typed flag that does nothing without another.
    DoesNothing {
        flag: &'static str,
        why: &'static str,
    },
    /// A value (`Some(flag)`) or an argument that is not UTF-8.
    NotUtf8 { flag: Option<String> },
    /// `leash 5m` with no command after the duration.
    WallWithoutCommand { first: String },
    /// A path a flag names that cannot be used (`--write`, `--report`, `--baseline`).
    Path {
        flag: &'static str,
        path: PathBuf,
        why: String,
    },
    /// A path with a NUL byte in it (`flag`: the flag that gave it, if one did).
    Nul {
        flag: Option<&'static str>,
        path: PathBuf,
    },
    /// `--user`/`--group` without root.
    NotRoot { flag: &'static str },
    /// No such user or group (`flag` says which).
    NoSuchIdentity { flag: &'static str, name: String },
    /// A user or group that could not be looked up.
    Lookup {
        flag: &'static str,
        name: String,
        errno: Errno,
    },
    /// More `--private-tmp` paths to keep than it can.
    TooManyKept { max: usize, below: String },
}

impl UsageError {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            UsageError::RlimitTwice { .. } => "rlimit_twice",
            UsageError::Rlimit { .. } => "rlimit",
            UsageError::ProcsAbovePidMax { .. } => "procs_above_pid_max",
            UsageError::DoesNothing { .. } => "does_nothing",
            UsageError::NotUtf8 { .. } => "not_utf8",
            UsageError::WallWithoutCommand { .. } => "wall_without_command",
            UsageError::Path { .. } => "path",
            UsageError::Nul { .. } => "nul_byte",
            UsageError::NotRoot { .. } => "not_root",
            UsageError::NoSuchIdentity { .. } => "no_such_identity",
            UsageError::Lookup { .. } => "lookup",
            UsageError::TooManyKept { .. } => "too_many_kept",
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::RlimitTwice {
                flag,
                rlimit,
                earlier,
            } => write!(f, "{flag} {rlimit}: already set by {earlier}"),
            UsageError::Rlimit { flag, rlimit, why } => write!(f, "{flag} {rlimit}: {why}"),
            UsageError::ProcsAbovePidMax { procs, max } => write!(
                f,
                "--procs {procs}: above the kernel's pid_max ({max}), so not a limit"
            ),
            UsageError::DoesNothing { flag, why } => write!(f, "--{flag} does nothing: {why}"),
            UsageError::NotUtf8 { flag: Some(flag) } => {
                write!(f, "{flag}: the value is not valid UTF-8")
            }
            UsageError::NotUtf8 { flag: None } => f.write_str("an argument is not valid UTF-8"),
            UsageError::WallWithoutCommand { first } => write!(
                f,
                "{first}: a wall limit and no command (leash {first} COMMAND...; a program of \
                 that name runs with leash -- {first})"
            ),
            UsageError::Path { flag, path, why } => write!(f, "{flag} {}: {why}", path.display()),
            UsageError::Nul {
                flag: Some(flag), ..
            } => {
                write!(f, "{flag}: the path contains a NUL byte")
            }
            UsageError::Nul { flag: None, path } => {
                write!(f, "{} contains a NUL byte", path.display())
            }
            UsageError::NotRoot { flag } => write!(
                f,
                "{flag}: only root can run the command as another user or group"
            ),
            UsageError::NoSuchIdentity { flag, name } => {
                let what = if *flag == "--user" { "user" } else { "group" };
                write!(f, "{flag}: no {what} '{name}'")
            }
            UsageError::Lookup { flag, name, errno } => {
                write!(f, "{flag}: cannot look '{name}' up: {errno}")
            }
            UsageError::TooManyKept { max, below } => write!(
                f,
                "--private-tmp: at most {max} paths below {below} can be kept"
            ),
        }
    }
}

/// A config file, profile or `LEASH_` variable that is wrong; each says where.
#[derive(Debug)]
pub(crate) enum ConfigError {
    /// A boolean variable with another value.
    NotBool { var: String, value: String },
    /// A variable for a flag only the command line may give.
    VarCommandLineOnly { var: String, flag: String },
    /// A `LEASH_` variable that is no setting.
    NoSuchVar { var: String, meant: String },
    /// A config file that cannot be read (`given`: named by `--config`).
    Unreadable {
        path: PathBuf,
        given: bool,
        error: io::Error,
    },
    /// `--profile NAME` that no layer defines.
    NoProfile { name: String },
    /// A file that is not TOML, where the parser says.
    NotToml {
        file: String,
        line: usize,
        message: String,
    },
    /// `profile.NAME` that is not a table.
    ProfileNotTable { file: String, name: String },
    /// A key for a flag only the command line may give.
    KeyCommandLineOnly { at: String, key: String },
    /// A key that is no setting.
    UnknownKey { at: String, key: String },
    /// A setting whose value does not fit its key.
    BadValue {
        at: String,
        key: String,
        why: String,
    },
    /// A setting clap refused, as it said.
    Refused { at: String, why: String },
    /// `profile = ...` at the top level of a file.
    TopLevelProfile { at: String },
    /// The layers could not be read at all, as clap said.
    Unparsable { why: String },
}

impl ConfigError {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            ConfigError::NotBool { .. } => "not_bool",
            ConfigError::VarCommandLineOnly { .. } | ConfigError::KeyCommandLineOnly { .. } => {
                "command_line_only"
            }
            ConfigError::NoSuchVar { .. } => "no_such_variable",
            ConfigError::Unreadable { .. } => "unreadable",
            ConfigError::NoProfile { .. } => "no_profile",
            ConfigError::NotToml { .. } => "not_toml",
            ConfigError::ProfileNotTable { .. } => "profile_not_table",
            ConfigError::UnknownKey { .. } => "unknown_key",
            ConfigError::BadValue { .. } | ConfigError::Refused { .. } => "bad_value",
            ConfigError::TopLevelProfile { .. } => "top_level_profile",
            ConfigError::Unparsable { .. } => "unparsable",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotBool { var, value } => {
                write!(f, "{var}: '{value}' is not true or false")
            }
            ConfigError::VarCommandLineOnly { var, flag } => {
                write!(f, "{var}: only the command line can ask for --{flag}")
            }
            ConfigError::NoSuchVar { var, meant } => {
                write!(f, "{var}: no such setting; did you mean {meant}?")
            }
            ConfigError::Unreadable { path, given, error } => {
                let flag = if *given { "--config " } else { "" };
                write!(f, "{flag}{}: {error}", path.display())
            }
            ConfigError::NoProfile { name } => {
                write!(f, "--profile: no profile '{name}' (built in: interpreter)")
            }
            ConfigError::NotToml {
                file,
                line,
                message,
            } => write!(f, "{file}:{line}: {message}"),
            ConfigError::ProfileNotTable { file, name } => {
                write!(f, "{file}: profile.{name} is not a table")
            }
            ConfigError::KeyCommandLineOnly { at, key } => write!(
                f,
                "{at}: '{key}' is not a setting: only the command line can ask for --{key}"
            ),
            ConfigError::UnknownKey { at, key } => write!(f, "{at}: unknown key '{key}'"),
            ConfigError::BadValue { at, key, why } => write!(f, "{at}: {key}: {why}"),
            ConfigError::Refused { at, why } => write!(f, "{at}: {why}"),
            ConfigError::TopLevelProfile { at } => write!(
                f,
                "{at}: 'profile' at the top level picks no profile: use --profile or \
                 LEASH_PROFILE ([profile.NAME] tables define them)"
            ),
            ConfigError::Unparsable { why } => f.write_str(why),
        }
    }
}
