//! Config values judged as clap would judge them on the command line: which keys a layer
//! may set, which take no value, and the arguments a value stands for.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::parser::ValueSource;

use super::Setting;
use crate::machine::error::{ConfigError, Error};

/// The command line's definition: which keys a layer may set, which take no value, and
/// clap to judge the values as it would on the command line. One definition serves every
/// parse of a start, the final one too: building and copying it cost more than parsing.
pub(super) struct Flags {
    command: RefCell<clap::Command>,
    pub(super) keys: Vec<String>,
}

impl Flags {
    pub(super) fn new(command: clap::Command, is_setting: fn(&str) -> bool) -> Flags {
        let keys = command
            .get_arguments()
            .filter_map(|a| a.get_long())
            .filter(|k| is_setting(k))
            .map(String::from)
            .collect();
        Flags {
            command: RefCell::new(command),
            keys,
        }
    }

    /// The definition, for the final parse.
    pub(super) fn into_command(self) -> clap::Command {
        self.command.into_inner()
    }

    /// `args` as clap reads them with errors ignored: what the command line itself says.
    pub(super) fn early(&self, args: &[OsString]) -> clap::error::Result<clap::ArgMatches> {
        let mut command = self.command.take().ignore_errors(true);
        let early = command.try_get_matches_from_mut(args);
        self.command.replace(command.ignore_errors(false));
        early
    }

    /// What `found` says of the long flag `key`, if the command line has such a flag.
    fn with_flag<T>(&self, key: &str, found: impl FnOnce(&clap::Arg) -> T) -> Option<T> {
        let command = self.command.borrow();
        command
            .get_arguments()
            .find(|a| a.get_long() == Some(key))
            .map(found)
    }

    /// The values `matches` has for the flag `key`, as given (none if it has none).
    pub(super) fn given(&self, matches: &clap::ArgMatches, key: &str) -> Vec<String> {
        self.with_flag(key, |a| a.get_id().to_string())
            .and_then(|id| matches.get_raw(&id))
            .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// The long flags `matches` has from the command line itself.
    pub(super) fn given_on_command_line(&self, matches: &clap::ArgMatches) -> Vec<String> {
        let command = self.command.borrow();
        command
            .get_arguments()
            .filter(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
            .filter_map(|a| a.get_long().map(String::from))
            .collect()
    }

    /// Whether a layer may set `key`.
    pub(super) fn knows(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// Whether `key` is a flag of the command line at all (a setting or not).
    pub(super) fn is_flag(&self, key: &str) -> bool {
        self.with_flag(key, |_| ()).is_some()
    }

    /// The flags that cannot be given with `key` (clap's conflicts, either way round).
    pub(super) fn conflicting(&self, key: &str) -> Vec<String> {
        let command = self.command.borrow();
        let long_of = |arg: &clap::Arg| arg.get_long().map(String::from);
        let conflicts = |arg: &clap::Arg| command.get_arg_conflicts_with(arg);
        let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(key)) else {
            return Vec::new();
        };
        let one_way = conflicts(arg).into_iter().filter_map(long_of);
        let other_way = command
            .get_arguments()
            .filter(|other| conflicts(other).iter().any(|a| a.get_long() == Some(key)))
            .filter_map(long_of);
        one_way.chain(other_way).collect()
    }

    /// Whether the flag `key` takes no value.
    pub(super) fn is_switch(&self, key: &str) -> bool {
        self.with_flag(key, |a| !a.get_action().takes_values())
            .unwrap_or(false)
    }

    /// The command-line arguments a config value stands for; `Err` says what is wrong
    /// with the value.
    pub(super) fn arguments(
        &self,
        key: &str,
        value: &toml::Value,
    ) -> Result<Vec<String>, BadValue> {
        let flag = format!("--{key}");
        let scalar = |value: &toml::Value| match value {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(n) => Ok(n.to_string()),
            toml::Value::Float(x) => Ok(x.to_string()),
            _ => Err(BadValue("expected a string or a number".to_string())),
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
            other if switch => Err(BadValue(format!("expected true or false, not {other}"))),
            other => Ok(vec![flag, scalar(other)?]),
        }
    }

    /// Let clap judge `args`, as it would on the command line.
    fn check(&self, args: &[String]) -> Result<(), Error> {
        let line = std::iter::once("leash".to_string())
            .chain(args.iter().cloned())
            .chain(["--".to_string(), "true".to_string()]);
        self.command
            .borrow_mut()
            .try_get_matches_from_mut(line)
            .map(|_| ())
            .map_err(Error::Clap)
    }

    /// Judge a layer's settings in one parse; only when that fails, each on its own, so
    /// that the error names the setting (`at` says where it is). Settings that are only
    /// wrong together are left to the final parse, as any two flags are.
    pub(super) fn judge(
        &self,
        settings: &BTreeMap<String, Setting>,
        at: impl Fn(&str, &Setting) -> String,
    ) -> Result<(), Error> {
        if settings.is_empty() {
            return Ok(());
        }
        let all: Vec<String> = settings.values().flat_map(|s| s.args.clone()).collect();
        if self.check(&all).is_ok() {
            return Ok(());
        }
        for (key, setting) in settings {
            self.check(&setting.args)
                .map_err(|e| ConfigError::Refused {
                    at: at(key, setting),
                    why: e.to_string(),
                })?;
        }
        Ok(())
    }
}

/// What is wrong with a config value, before the file, line and key are put in front.
#[derive(Debug)]
pub(super) struct BadValue(String);

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
