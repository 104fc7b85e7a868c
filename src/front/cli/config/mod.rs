//! Config files and profiles: the layers below the command line, merged into the
//! arguments clap parses, each setting remembering where it came from.
//!
//! From lowest to highest: the built-in profile, `/etc/leash/config.toml`, the user's
//! `$XDG_CONFIG_HOME/leash/config.toml` (or `~/.config/leash/config.toml`), `--config
//! FILE`, `LEASH_<KEY>` environment variables, and the command line. A file's top-level
//! keys always apply; `[profile.NAME]` applies with `--profile NAME` (or `LEASH_PROFILE`).
//! Keys are the long flags without dashes (`wall`, `mem`, `kill-after`, ...).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

mod flags;
mod precedence;
mod variables;

use crate::machine::error::{ConfigError, Error};
use flags::Flags;
use precedence::{overlay, supersede};
use variables::environment_layer;

/// The built-in profiles, in the config files' own format.
pub const BUILT_IN: &str = include_str!("built_in.toml");

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The built-in profile of that name.
    BuiltIn(String),
    /// A file and line.
    File(PathBuf, usize),
    /// An environment variable.
    Env(String),
    /// The command line.
    Flag,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn(profile) => write!(f, "built-in profile {profile}"),
            Origin::File(path, line) => write!(f, "{}:{line}", path.display()),
            Origin::Env(var) => write!(f, "environment {var}"),
            Origin::Flag => f.write_str("command line"),
        }
    }
}

/// The command line with the lower layers' settings put before it.
#[derive(Debug)]
pub(crate) struct Layered {
    /// The arguments for clap.
    pub(crate) args: Vec<OsString>,
    /// Where each setting of the result came from, by key.
    pub(crate) origins: BTreeMap<String, Origin>,
    /// `LEASH_` variables that name no setting, and were ignored.
    pub(crate) ignored: Vec<String>,
    /// The command line's definition, built and ready for the final parse.
    pub(crate) command: clap::Command,
}

/// A setting from a layer: the arguments it stands for, and where it came from.
#[derive(Clone, Debug)]
struct Setting {
    args: Vec<String>,
    origin: Origin,
}

/// Settings of one layer, by key.
type Settings = BTreeMap<String, Setting>;

/// The command line `args` with every lower layer's settings put before it. `command` is
/// the command line's definition; `is_setting` says which of its long flags a layer may
/// set.
pub(crate) fn layered(
    args: Vec<OsString>,
    command: clap::Command,
    is_setting: fn(&str) -> bool,
) -> Result<Layered, Error> {
    if !any_layer(&args) {
        // Nothing below the command line: leave it alone (start-up is on every run's path).
        return Ok(Layered {
            args,
            origins: BTreeMap::new(),
            ignored: Vec::new(),
            command,
        });
    }
    let flags = Flags::new(command, is_setting);
    let early = flags
        .early(&args)
        .map_err(|e| ConfigError::Unparsable { why: e.to_string() })?;
    let from_command_line = flags.given_on_command_line(&early);
    let (mut merged, ignored) = lower_layers(&early, &flags)?;
    for key in &from_command_line {
        let values = flags.given(&early, key);
        supersede(&mut merged, key, &values, &flags);
    }
    let mut origins: BTreeMap<String, Origin> = merged
        .iter()
        .map(|(key, setting)| (key.clone(), setting.origin.clone()))
        .collect();
    origins.extend(from_command_line.into_iter().map(|key| (key, Origin::Flag)));
    let mut layered: Vec<OsString> = args.iter().take(1).cloned().collect();
    for setting in merged.into_values() {
        layered.extend(setting.args.into_iter().map(OsString::from));
    }
    layered.extend(args.into_iter().skip(1));
    Ok(Layered {
        args: layered,
        origins,
        ignored,
        command: flags.into_command(),
    })
}

/// The settings of every layer below the command line (`early`, as clap read it) merged,
/// higher over lower: profile, files, environment; and the `LEASH_` variables ignored.
fn lower_layers(early: &clap::ArgMatches, flags: &Flags) -> Result<(Settings, Vec<String>), Error> {
    let profile = early
        .get_one::<String>("profile")
        .cloned()
        .or_else(|| std::env::var("LEASH_PROFILE").ok());
    let mut merged = Settings::new();
    let mut profile_found = false;
    let named = profile
        .as_deref()
        .and_then(|n| Some((n, built_in_table(n)?)));
    if let Some((name, table)) = named {
        let built_in = parse(table, "built-in profiles")?;
        let settings = layer(&built_in, BUILT_IN, None, Some(name), flags)?;
        profile_found |= !settings.is_empty();
        overlay(&mut merged, settings, flags);
    }
    let asked_for = early.get_one::<PathBuf>("config").cloned();
    let mut files = vec![system_config()];
    files.extend(user_config());
    files.extend(asked_for.clone());
    for path in files {
        // A file named by --config must be there; the standard places may well have none.
        let given = Some(&path) == asked_for.as_ref();
        let text = match crate::machine::small_file::read(&path) {
            Ok(text) => text,
            Err(e) if !given && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(ConfigError::Unreadable { path, given, error }.into()),
        };
        let file = file_layers(&text, &path, profile.as_deref(), flags)?;
        profile_found |= file.has_profile;
        overlay(&mut merged, file.top, flags);
        overlay(&mut merged, file.profile, flags);
    }
    if let Some(name) = &profile
        && !profile_found
    {
        return Err(ConfigError::NoProfile { name: name.clone() }.into());
    }
    let (environment, ignored) = environment_layer(flags)?;
    overlay(&mut merged, environment, flags);
    Ok((merged, ignored))
}

/// The built-in profile `name`: its `[profile.NAME]` table alone, from its header to the
/// next. Parsing all of them cost every start of a profile 50 us more.
fn built_in_table(name: &str) -> Option<&'static str> {
    let header = format!("[profile.{name}]");
    let mut at = 0;
    let mut start = None;
    for line in BUILT_IN.split_inclusive('\n') {
        match start {
            None if line.trim_end() == header => start = Some(at),
            Some(from) if line.starts_with('[') => return Some(&BUILT_IN[from..at]),
            _ => {}
        }
        at += line.len();
    }
    start.map(|from| &BUILT_IN[from..])
}

/// Whether any layer below the command line may have something: a config file exists, a
/// `LEASH_` variable is set, or the command line names a profile or a config file.
fn any_layer(args: &[OsString]) -> bool {
    let named = args
        .iter()
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str())
        .any(|a| a.starts_with("--profile") || a.starts_with("--config") || a == "--print-config");
    let files = std::iter::once(system_config())
        .chain(user_config())
        .any(|path| path.exists());
    let env = std::env::vars_os().any(|(key, _)| key.as_encoded_bytes().starts_with(b"LEASH_"));
    named || files || env
}

/// `/etc/leash/config.toml`, or where `LEASH_SYSTEM_CONFIG` says (for packagers, and for
/// tests that must not touch /etc).
fn system_config() -> PathBuf {
    std::env::var_os("LEASH_SYSTEM_CONFIG")
        .map_or_else(|| "/etc/leash/config.toml".into(), PathBuf::from)
}

fn user_config() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("leash/config.toml"))
}

/// What one config file sets.
struct FileLayers {
    /// Its top-level settings.
    top: Settings,
    /// Its `[profile.NAME]` settings.
    profile: Settings,
    /// Whether it has that profile.
    has_profile: bool,
}

fn file_layers(
    text: &str,
    path: &Path,
    profile: Option<&str>,
    flags: &Flags,
) -> Result<FileLayers, Error> {
    let table = parse(text, &path.display().to_string())?;
    let top = layer(&table, text, Some(path), None, flags)?;
    let named = match profile {
        Some(name) => layer(&table, text, Some(path), Some(name), flags)?,
        None => Settings::new(),
    };
    let has_profile =
        profile.is_some_and(|name| table.get("profile").and_then(|p| p.get(name)).is_some());
    Ok(FileLayers {
        top,
        profile: named,
        has_profile,
    })
}

/// A config text as TOML; errors name `file`.
fn parse(text: &str, file: &str) -> Result<toml::Table, Error> {
    text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(0, |span| {
            1 + text.get(..span.start).unwrap_or(text).matches('\n').count()
        });
        Error::Config(ConfigError::NotToml {
            file: file.to_string(),
            line,
            message: e.message().to_string(),
        })
    })
}

/// The settings of one table of a parsed config `text`: the top level (`profile` `None`)
/// or `[profile.NAME]`. Unknown keys and bad values name the file, line and key.
fn layer(
    table: &toml::Table,
    text: &str,
    path: Option<&Path>,
    profile: Option<&str>,
    flags: &Flags,
) -> Result<Settings, Error> {
    let place = |key: &str| {
        let line = line_of(text, profile, key);
        match path {
            Some(path) => (
                format!("{}:{line}", path.display()),
                Origin::File(path.into(), line),
            ),
            None => (
                format!("built-in profile {}", profile.unwrap_or("")),
                Origin::BuiltIn(profile.unwrap_or("").into()),
            ),
        }
    };
    let file = path.map_or_else(|| "built-in profiles".into(), |p| p.display().to_string());
    let table = match profile {
        None => table,
        Some(name) => match table.get("profile").and_then(|p| p.get(name)) {
            Some(toml::Value::Table(profile)) => profile,
            Some(_) => {
                return Err(ConfigError::ProfileNotTable {
                    file: file.clone(),
                    name: name.to_string(),
                }
                .into());
            }
            None => return Ok(Settings::new()),
        },
    };
    let mut settings = Settings::new();
    for (key, value) in table {
        if profile.is_none() && key == "profile" {
            refuse_a_picked_profile(value, &place(key).0)?;
            continue;
        }
        let (at, origin) = place(key);
        let args = arguments(flags, key, value, at)?;
        settings.insert(key.clone(), Setting { args, origin });
    }
    // The built-in profiles are judged by the tests (every_key_of_the_built_in_profiles...),
    // not at every start: a judgement is a parse of its own.
    if path.is_some() {
        flags.judge(&settings, |key, _| format!("{}: {key}", place(key).0))?;
    }
    Ok(settings)
}

/// The arguments that `key = value` (at `at`) stands for; a key that is no setting, or a
/// value that does not fit its key, is refused.
fn arguments(
    flags: &Flags,
    key: &str,
    value: &toml::Value,
    at: String,
) -> Result<Vec<String>, Error> {
    let key = key.to_string();
    if flags.is_flag(&key) && !flags.knows(&key) {
        return Err(ConfigError::KeyCommandLineOnly { at, key }.into());
    }
    if !flags.knows(&key) {
        return Err(ConfigError::UnknownKey { at, key }.into());
    }
    flags.arguments(&key, value).map_err(|e| {
        Error::Config(ConfigError::BadValue {
            at,
            why: e.to_string(),
            key,
        })
    })
}

/// A top-level `profile` is the table of `[profile.NAME]`s; `profile = "NAME"` (at `at`)
/// would pick nothing.
fn refuse_a_picked_profile(value: &toml::Value, at: &str) -> Result<(), Error> {
    if value.is_table() {
        return Ok(());
    }
    Err(ConfigError::TopLevelProfile { at: at.to_string() }.into())
}

/// The line (from 1) on which `key` is set, in `[profile.NAME]` or at the top level.
fn line_of(text: &str, profile: Option<&str>, key: &str) -> usize {
    let header = profile.map(|name| format!("[profile.{name}]"));
    let mut in_table = header.is_none();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_table = header.as_deref() == Some(trimmed);
            continue;
        }
        let set_here = trimmed
            .split_once('=')
            .is_some_and(|(k, _)| k.trim().trim_matches('"') == key);
        if in_table && set_here {
            return index + 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::{Arg, ArgAction, value_parser};

    /// A command line like leash's, with a few of its flags.
    fn command() -> clap::Command {
        clap::Command::new("leash")
            .arg(Arg::new("wall").long("wall"))
            .arg(Arg::new("mem").long("mem").value_parser(value_parser!(u64)))
            .arg(Arg::new("procs").long("procs"))
            .arg(
                Arg::new("preserve-status")
                    .long("preserve-status")
                    .action(ArgAction::SetTrue),
            )
            .arg(Arg::new("rlimit").long("rlimit").action(ArgAction::Append))
            .arg(Arg::new("profile").long("profile"))
            .arg(Arg::new("command").num_args(0..).trailing_var_arg(true))
    }

    /// The settings of `text` (a file `c.toml`, or the built-in profiles without a path).
    fn layer_of(text: &str, path: Option<&Path>, profile: Option<&str>) -> Result<Settings, Error> {
        let flags = Flags::new(command(), |long| long != "profile");
        layer(&parse(text, "test")?, text, path, profile, &flags)
    }

    #[test]
    fn a_built_in_profile_is_read_from_its_own_table() {
        for name in ["interpreter", "agent-command"] {
            let alone = parse(built_in_table(name).unwrap(), "test").unwrap();
            let whole = parse(BUILT_IN, "test").unwrap();
            assert_eq!(alone["profile"][name], whole["profile"][name], "{name}");
            assert_eq!(alone["profile"].as_table().unwrap().len(), 1);
        }
        assert_eq!(built_in_table("agent"), None);
    }

    #[test]
    fn a_profile_is_a_table_of_its_own() {
        let text = "wall = \"1m\"\n[profile.p]\nwall = \"5m\"\nprocs = 9\n";
        let settings = layer_of(text, Some(Path::new("c.toml")), Some("p")).unwrap();
        assert_eq!(settings["wall"].args, ["--wall", "5m"]);
        assert_eq!(settings["wall"].origin, Origin::File("c.toml".into(), 3));
        assert!(layer_of(text, None, Some("other")).unwrap().is_empty());
        let error = layer_of("profile = 1\n", Some(Path::new("c.toml")), None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("c.toml:1: 'profile' at the top level picks no"),
            "{error}"
        );
    }

    #[test]
    fn values_become_arguments() {
        let text = "wall = \"5m\"\npreserve-status = true\nrlimit = [\"nofile=64\", \"nproc=9\"]\n";
        let settings = layer_of(text, Some(Path::new("c.toml")), None).unwrap();
        assert_eq!(settings["wall"].args, ["--wall", "5m"]);
        assert_eq!(settings["preserve-status"].args, ["--preserve-status"]);
        assert_eq!(
            settings["rlimit"].args,
            ["--rlimit", "nofile=64", "--rlimit", "nproc=9"]
        );
        assert_eq!(settings["wall"].origin, Origin::File("c.toml".into(), 1));
    }

    #[test]
    fn mistakes_name_the_file_line_and_key() {
        let unknown = "wall = \"5m\"\n\n[profile.x]\nwal = \"1s\"\n";
        let error = layer_of(unknown, Some(Path::new("c.toml")), Some("x")).unwrap_err();
        assert_eq!(error.to_string(), "c.toml:4: unknown key 'wal'");
        // Among good settings, the bad one is named.
        let bad = "wall = \"5m\"\nmem = \"lots\"\nprocs = 9\n";
        let error = layer_of(bad, Some(Path::new("c.toml")), None)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("c.toml:2: mem: "), "{error}");
    }
}
