//! The `LEASH_<KEY>` layer: one variable per setting. A variable close to a setting's
//! name (a typo that would lose a limit) is refused; any other `LEASH_` name (a script's
//! own, `LEASH_BIN`) is ignored, as git, cargo and docker ignore unknown names of their
//! prefix, and named under `--verbose`.

use super::flags::Flags;
use super::{Origin, Setting, Settings};
use crate::machine::error::{ConfigError, Error};

/// The settings from `LEASH_<KEY>` variables (`LEASH_KILL_AFTER` for `kill-after`), and
/// the `LEASH_` variables ignored.
pub(super) fn environment_layer(flags: &Flags) -> Result<(Settings, Vec<String>), Error> {
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
    let ignored = unknown_variables(flags)?;
    Ok((settings, ignored))
}

/// The `LEASH_` variables that are not settings.
const OTHER_VARIABLES: [&str; 2] = ["LEASH_PROFILE", "LEASH_SYSTEM_CONFIG"];

/// The `LEASH_` variables that name no setting, to ignore; an error for one that names a
/// flag only the command line takes (`LEASH_EXPLAIN`), or that is close to a setting's
/// (`LEASH_WAL`, `LEASH_MEMORY`): the setting meant would be silently lost.
fn unknown_variables(flags: &Flags) -> Result<Vec<String>, Error> {
    let known = |var: &str| {
        OTHER_VARIABLES.contains(&var) || flags.keys.iter().any(|key| env_var(key) == var)
    };
    let mut ignored = Vec::new();
    let unknown = std::env::vars_os()
        .filter_map(|(var, _)| var.into_string().ok())
        .filter(|var| var.starts_with("LEASH_") && !known(var));
    for var in unknown {
        let key = var["LEASH_".len()..].to_lowercase().replace('_', "-");
        if flags.is_flag(&key) {
            return Err(ConfigError::VarCommandLineOnly { var, flag: key }.into());
        }
        match flags.keys.iter().find(|setting| close(&key, setting)) {
            Some(meant) => {
                let meant = env_var(meant);
                return Err(ConfigError::NoSuchVar { var, meant }.into());
            }
            None => ignored.push(var),
        }
    }
    ignored.sort();
    Ok(ignored)
}

/// Whether `key` looks like a mistyped `setting`: one begins the other (`wal`, `memory`),
/// or they are one edit apart (two, for longer names).
fn close(key: &str, setting: &str) -> bool {
    let shortest = key.len().min(setting.len());
    let edits = if shortest >= 6 { 2 } else { 1 };
    (shortest >= 3 && (key.starts_with(setting) || setting.starts_with(key)))
        || strsim::damerau_levenshtein(key, setting) <= edits
}

/// The variable that sets `key`: `LEASH_KILL_AFTER` for `kill-after`.
fn env_var(key: &str) -> String {
    format!("LEASH_{}", key.to_uppercase().replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::close;

    #[test]
    fn a_typo_or_a_longer_name_is_close_and_a_name_of_ones_own_is_not() {
        for (key, setting) in [
            ("wal", "wall"),
            ("memory", "mem"),
            ("procss", "procs"),
            ("kill-afer", "kill-after"),
        ] {
            assert!(close(key, setting), "{key} {setting}");
        }
        for (key, setting) in [
            ("bin", "env"),
            ("home", "name"),
            ("path", "rate"),
            ("ok", "cpu"),
        ] {
            assert!(!close(key, setting), "{key} {setting}");
        }
    }
}
