//! The `LEASH_<KEY>` layer: one variable per setting, and no variable silently ignored.

use super::flags::Flags;
use super::{Origin, Setting, Settings};
use crate::machine::error::{ConfigError, Error};

/// The settings from `LEASH_<KEY>` variables (`LEASH_KILL_AFTER` for `kill-after`).
pub(super) fn environment_layer(flags: &Flags) -> Result<Settings, Error> {
    let mut settings = Settings::new();
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
                _ => {
                    return Err(ConfigError::NotBool {
                        var: var.clone(),
                        value: value.clone(),
                    }
                    .into());
                }
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
    refuse_unknown_variables(flags)?;
    Ok(settings)
}

/// The `LEASH_` variables that are not settings.
const OTHER_VARIABLES: [&str; 2] = ["LEASH_PROFILE", "LEASH_SYSTEM_CONFIG"];

/// A `LEASH_` variable that names no setting (`LEASH_WAL`) would be silently ignored.
fn refuse_unknown_variables(flags: &Flags) -> Result<(), Error> {
    let known = |var: &str| {
        OTHER_VARIABLES.contains(&var) || flags.keys.iter().any(|key| env_var(key) == var)
    };
    let unknown = std::env::vars_os()
        .filter_map(|(var, _)| var.into_string().ok())
        .find(|var| var.starts_with("LEASH_") && !known(var));
    // A flag that is not a setting (`LEASH_EXPLAIN` for --explain): only typed.
    let action = |var: &str| {
        let key = var["LEASH_".len()..].to_lowercase().replace('_', "-");
        flags.is_flag(&key).then_some(key)
    };
    match unknown.map(|var| (action(&var), var)) {
        Some((Some(flag), var)) => Err(ConfigError::VarCommandLineOnly {
            var: var.clone(),
            flag: flag.clone(),
        }
        .into()),
        Some((None, var)) => Err(ConfigError::NoSuchVar { var: var.clone() }.into()),
        None => Ok(()),
    }
}

/// The variable that sets `key`: `LEASH_KILL_AFTER` for `kill-after`.
fn env_var(key: &str) -> String {
    format!("LEASH_{}", key.to_uppercase().replace('-', "_"))
}
