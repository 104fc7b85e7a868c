//! Which setting wins where layers meet: a higher layer replaces the same key below it,
//! the flags clap says cannot go with it (`--quiet` replaces `--verbose`), and the same
//! rlimit set the other way (`--rlimit nofile=` and `nofile`).

use super::Settings;
use super::flags::Flags;

/// The rlimits that have a flag of their own as well as `--rlimit NAME=`.
const NAMED_RLIMITS: [&str; 4] = ["fsize", "nofile", "stack", "core"];

/// `higher`'s settings over `merged`'s: each replaces what it supersedes.
pub(super) fn overlay(merged: &mut Settings, higher: Settings, flags: &Flags) {
    for (key, setting) in higher {
        let values: Vec<String> = setting.args.iter().skip(1).step_by(2).cloned().collect();
        supersede(merged, &key, &values, flags);
        merged.insert(key, setting);
    }
}

/// Drop from a lower layer's `settings` what a higher layer's `key` (with `values`)
/// replaces: the same key, the flags that cannot be given with it (`--quiet` replaces
/// `--verbose`), and the same rlimit set the other way (`--rlimit nofile=` replaces
/// `nofile`, and the other way round).
pub(super) fn supersede(settings: &mut Settings, key: &str, values: &[String], flags: &Flags) {
    settings.remove(key);
    for conflicting in flags.conflicting(key) {
        settings.remove(&conflicting);
    }
    let resources: Vec<&str> = if key == "rlimit" {
        values
            .iter()
            .filter_map(|v| v.split_once('='))
            .map(|(name, _)| name)
            .collect()
    } else if NAMED_RLIMITS.contains(&key) {
        vec![key]
    } else {
        Vec::new()
    };
    for resource in resources {
        settings.remove(resource);
        if let Some(rlimit) = settings.get("rlimit") {
            let kept: Vec<String> = rlimit
                .args
                .chunks(2)
                .filter(|pair| !pair[1].starts_with(&format!("{resource}=")))
                .flatten()
                .cloned()
                .collect();
            if kept.is_empty() {
                settings.remove("rlimit");
            } else if let Some(rlimit) = settings.get_mut("rlimit") {
                rlimit.args = kept;
            }
        }
    }
}
