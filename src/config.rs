//! Configuration files and profiles: the layers below the command line, merged into the
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

use clap::parser::ValueSource;

/// The built-in profiles, in the config files' own format.
pub const BUILT_IN: &str = r#"
# For an LLM agent's interpreter session (open-interpreter and the like): long enough for
# real work, short enough that a runaway loop does not burn an afternoon.
[profile.interpreter]
# A session that has not finished in half an hour is stuck or looping.
wall = "30m"
# Two interpreters' worth of memory: data science libraries fit, a memory bomb does not.
mem = "2GiB"
# Enough for a kernel, a few worker pools and shell pipelines; a fork bomb hits it fast.
procs = 256
# No single file above 1 GiB; all writes together at most 4 GiB.
fsize = "1GiB"
disk-write = "4GiB"
# Plenty of descriptors for sockets and files, far from the system's maximum.
nofile = 1024
# What the model's code prints goes back into its context: 100 MiB is far beyond use.
output = "100MiB"
# Interactive sessions wait for a person; 15 minutes of silence is an abandoned session.
idle = "15m"
# Warn at 80% of any limit, before the hard stop.
warn = 0.8
"#;

/// Keys a configuration may not set: they are about this invocation only.
const NOT_CONFIGURABLE: [&str; 7] = [
    "help",
    "version",
    "generate",
    "command",
    "config",
    "profile",
    "print-config",
];

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
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

/// The arguments for clap, and where each setting came from (by key).
pub type Layered = (Vec<OsString>, Vec<(String, Origin)>);

/// A setting from a layer: the arguments it stands for, and where it came from.
#[derive(Clone, Debug)]
struct Setting {
    args: Vec<String>,
    origin: Origin,
}

/// The command line with every lower layer's settings put before it, and where each
/// setting of the result came from (by key).
pub fn layered(args: Vec<OsString>) -> Result<Layered, String> {
    if !any_layer(&args) {
        // Nothing below the command line: leave it alone (start-up is on every run's path).
        return Ok((args, Vec::new()));
    }
    let flags = Flags::new(crate::cli::command());
    let early = flags
        .command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&args)
        .map_err(|e| e.to_string())?;
    let from_command_line: Vec<String> = flags
        .command
        .get_arguments()
        .filter(|a| early.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .filter_map(|a| a.get_long().map(String::from))
        .collect();
    let profile = early
        .get_one::<String>("profile")
        .cloned()
        .or_else(|| std::env::var("LEASH_PROFILE").ok());
    let mut merged: BTreeMap<String, Setting> = BTreeMap::new();
    let mut profile_found = false;
    if let Some(name) = &profile {
        let built_in = parse(BUILT_IN, "built-in profiles")?;
        let settings = layer(&built_in, BUILT_IN, None, Some(name), &flags)?;
        profile_found |= !settings.is_empty();
        merged.extend(settings);
    }
    let mut files = vec![system_config()];
    files.extend(user_config());
    files.extend(early.get_one::<PathBuf>("config").cloned());
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let (top, named, found) = file_layers(&text, &path, profile.as_deref(), &flags)?;
        profile_found |= found;
        merged.extend(top);
        merged.extend(named);
    }
    if let Some(name) = &profile
        && !profile_found
    {
        return Err(format!(
            "--profile: no profile '{name}' (built in: interpreter)"
        ));
    }
    merged.extend(environment_layer(&flags)?);
    merged.retain(|key, _| !from_command_line.contains(key));
    let mut origins: Vec<(String, Origin)> = merged
        .iter()
        .map(|(key, setting)| (key.clone(), setting.origin.clone()))
        .collect();
    origins.extend(from_command_line.into_iter().map(|key| (key, Origin::Flag)));
    let mut layered: Vec<OsString> = args.iter().take(1).cloned().collect();
    for setting in merged.into_values() {
        layered.extend(setting.args.into_iter().map(OsString::from));
    }
    layered.extend(args.into_iter().skip(1));
    Ok((layered, origins))
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

/// A file's top-level settings, its `[profile.NAME]` settings, and whether it has that
/// profile.
type FileLayers = (BTreeMap<String, Setting>, BTreeMap<String, Setting>, bool);

fn file_layers(
    text: &str,
    path: &Path,
    profile: Option<&str>,
    flags: &Flags,
) -> Result<FileLayers, String> {
    let table = parse(text, &path.display().to_string())?;
    let top = layer(&table, text, Some(path), None, flags)?;
    let named = match profile {
        Some(name) => layer(&table, text, Some(path), Some(name), flags)?,
        None => BTreeMap::new(),
    };
    let found =
        profile.is_some_and(|name| table.get("profile").and_then(|p| p.get(name)).is_some());
    Ok((top, named, found))
}

/// A config text as TOML; errors name `file`.
fn parse(text: &str, file: &str) -> Result<toml::Table, String> {
    text.parse()
        .map_err(|e: toml::de::Error| format!("{file}: {}", e.message()))
}

/// The settings of one table of a parsed config `text`: the top level (`profile` `None`)
/// or `[profile.NAME]`. Unknown keys and bad values name the file, line and key.
fn layer(
    table: &toml::Table,
    text: &str,
    path: Option<&Path>,
    profile: Option<&str>,
    flags: &Flags,
) -> Result<BTreeMap<String, Setting>, String> {
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
            Some(_) => return Err(format!("{file}: profile.{name} is not a table")),
            None => return Ok(BTreeMap::new()),
        },
    };
    let mut settings = BTreeMap::new();
    for (key, value) in table {
        if profile.is_none() && key == "profile" {
            continue;
        }
        let (at, origin) = place(key);
        if !flags.knows(key) {
            return Err(format!("{at}: unknown key '{key}'"));
        }
        let args = flags
            .arguments(key, value)
            .map_err(|e| format!("{at}: {key}: {e}"))?;
        settings.insert(key.clone(), Setting { args, origin });
    }
    flags.judge(&settings, |key, _| format!("{}: {key}", place(key).0))?;
    Ok(settings)
}

/// The settings from `LEASH_<KEY>` variables (`LEASH_KILL_AFTER` for `kill-after`).
fn environment_layer(flags: &Flags) -> Result<BTreeMap<String, Setting>, String> {
    let mut settings = BTreeMap::new();
    for key in &flags.keys {
        let var = env_var(key);
        let Ok(value) = std::env::var(&var) else {
            continue;
        };
        let flag = format!("--{key}");
        let args = if flags.is_switch(key) {
            match value.as_str() {
                "1" | "true" | "yes" => vec![flag],
                "0" | "false" | "no" | "" => Vec::new(),
                _ => return Err(format!("{var}: '{value}' is not true or false")),
            }
        } else {
            vec![flag, value]
        };
        settings.insert(
            key.clone(),
            Setting {
                args,
                origin: Origin::Env(var),
            },
        );
    }
    flags.judge(&settings, |key, _| env_var(key))?;
    Ok(settings)
}

/// The variable that sets `key`: `LEASH_KILL_AFTER` for `kill-after`.
fn env_var(key: &str) -> String {
    format!("LEASH_{}", key.to_uppercase().replace('-', "_"))
}

/// The command line's definition, built once per start (building it is the costly part
/// of reading the layers): which keys a layer may set, which take no value, and clap
/// to judge the values as it would on the command line.
struct Flags {
    command: clap::Command,
    keys: Vec<String>,
}

impl Flags {
    fn new(command: clap::Command) -> Flags {
        let keys = command
            .get_arguments()
            .filter_map(|a| a.get_long().map(String::from))
            .filter(|k| !NOT_CONFIGURABLE.contains(&k.as_str()))
            .collect();
        Flags { command, keys }
    }

    fn knows(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// Whether the flag `key` takes no value.
    fn is_switch(&self, key: &str) -> bool {
        self.command
            .get_arguments()
            .find(|a| a.get_long() == Some(key))
            .is_some_and(|a| !a.get_action().takes_values())
    }

    /// The command-line arguments a config value stands for.
    fn arguments(&self, key: &str, value: &toml::Value) -> Result<Vec<String>, String> {
        let flag = format!("--{key}");
        let scalar = |value: &toml::Value| match value {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(n) => Ok(n.to_string()),
            toml::Value::Float(x) => Ok(x.to_string()),
            _ => Err("expected a string or a number".to_string()),
        };
        let switch = self.is_switch(key);
        match value {
            toml::Value::Boolean(on) if switch => Ok(if *on { vec![flag] } else { Vec::new() }),
            toml::Value::Array(items) => {
                let mut args = Vec::new();
                for item in items {
                    args.push(flag.clone());
                    args.push(scalar(item)?);
                }
                Ok(args)
            }
            other if switch => Err(format!("expected true or false, not {other}")),
            other => Ok(vec![flag, scalar(other)?]),
        }
    }

    /// Let clap judge `args`, as it would on the command line.
    fn check(&self, args: &[String]) -> Result<(), String> {
        let line = std::iter::once("leash".to_string())
            .chain(args.iter().cloned())
            .chain(["--".to_string(), "true".to_string()]);
        self.command
            .clone()
            .try_get_matches_from(line)
            .map(|_| ())
            .map_err(|e| crate::cli::ParseError::Clap(e).one_line())
    }

    /// Judge a layer's settings in one parse; only when that fails, each on its own, so
    /// that the error names the setting (`at` says where it is). Settings that are only
    /// wrong together are left to the final parse, as any two flags are.
    fn judge(
        &self,
        settings: &BTreeMap<String, Setting>,
        at: impl Fn(&str, &Setting) -> String,
    ) -> Result<(), String> {
        let all: Vec<String> = settings.values().flat_map(|s| s.args.clone()).collect();
        if self.check(&all).is_ok() {
            return Ok(());
        }
        for (key, setting) in settings {
            self.check(&setting.args)
                .map_err(|e| format!("{}: {e}", at(key, setting)))?;
        }
        Ok(())
    }
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

    /// The settings of `text` (a file `c.toml`, or the built-in profiles without a path).
    fn layer_of(
        text: &str,
        path: Option<&Path>,
        profile: Option<&str>,
    ) -> Result<BTreeMap<String, Setting>, String> {
        let flags = Flags::new(crate::cli::command());
        layer(&parse(text, "test")?, text, path, profile, &flags)
    }

    #[test]
    fn the_built_in_profile_parses_and_every_key_is_a_flag() {
        let settings = layer_of(BUILT_IN, None, Some("interpreter")).unwrap();
        assert!(settings.contains_key("wall") && settings.contains_key("mem"));
        assert!(matches!(settings["wall"].origin, Origin::BuiltIn(_)));
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
        assert_eq!(error, "c.toml:4: unknown key 'wal'");
        // Among good settings, the bad one is named.
        let bad = "wall = \"5m\"\nmem = \"lots\"\nprocs = 9\n";
        let error = layer_of(bad, Some(Path::new("c.toml")), None).unwrap_err();
        assert!(error.starts_with("c.toml:2: mem: "), "{error}");
    }
}
