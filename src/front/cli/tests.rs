//! The command line's parsing: profiles, roles of flags, and layers.

use super::*;

#[test]
fn the_clap_definition_is_consistent() {
    command().debug_assert();
}

#[test]
fn every_key_of_the_built_in_profiles_is_a_setting() {
    for (profile, keys) in [
        (
            "interpreter",
            &["wall", "mem", "procs", "nofile", "warn"][..],
        ),
        ("agent-command", &["wall", "mem", "procs", "output"][..]),
    ] {
        let args = ["leash", "--profile", profile, "--print-config"].map(OsString::from);
        let Ok(Invocation::PrintConfig(text)) = parse(args) else {
            panic!("the built-in profile {profile} does not parse");
        };
        for key in keys {
            let line = format!("{key} = ");
            let set = text.lines().find(|l| l.starts_with(&line)).unwrap();
            assert!(
                set.ends_with(&format!("# built-in profile {profile}")),
                "{set}"
            );
        }
    }
}

#[test]
fn only_settings_are_set_by_layers() {
    assert!(is_setting("wall") && is_setting("kill-after"));
    for flag in ["explain", "print-config", "generate", "config", "profile"] {
        assert!(!is_setting(flag), "{flag}");
    }
    assert_eq!(role("profile"), Role::Layer);
}
