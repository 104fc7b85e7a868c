//! What each flag of the command line is for: a setting the config layers may set, a
//! layer to read, or an action only the command line asks for.

/// What a flag of the command line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A setting of the session: config files, profiles and `LEASH_` variables may set it,
    /// and `--print-config` shows it.
    Setting,
    /// Which layers to read (`--config`, `--profile`): shown, never set by a layer.
    Layer,
    /// Something to do instead of running a session, or the command itself: only the
    /// command line may ask for it, and it is not shown.
    Action,
}

/// The flags that are not settings, by long name; every other flag is a setting.
const NOT_SETTINGS: [(&str, Role); 7] = [
    ("config", Role::Layer),
    ("profile", Role::Layer),
    ("explain", Role::Action),
    ("print-config", Role::Action),
    ("generate", Role::Action),
    ("help", Role::Action),
    ("version", Role::Action),
];

/// The role of the flag `--long`.
pub fn role(long: &str) -> Role {
    NOT_SETTINGS
        .iter()
        .find(|(name, _)| *name == long)
        .map_or(Role::Setting, |(_, role)| *role)
}

/// Whether a config layer may set `--long`.
pub fn is_setting(long: &str) -> bool {
    role(long) == Role::Setting
}
