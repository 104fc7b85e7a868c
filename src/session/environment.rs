//! The command's environment: leash's own, or only the kept variables after
//! `--env-clear`, then the `--env` settings.

use std::ffi::OsString;

use crate::session::confinement::Request;

/// The variables the command starts with, as `request` says.
pub(crate) fn environment(request: &Request) -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(key, _)| !request.env_clear || request.env_keep.iter().any(|k| key == k.as_str()))
        .collect();
    for (key, value) in &request.env {
        vars.retain(|(k, _)| k != key.as_str());
        vars.push((key.into(), value.into()));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_cleared_kept_and_set() {
        let request = Request {
            env_clear: true,
            env_keep: vec!["PATH".into()],
            env: vec![("LEASH_TEST_X".into(), "1".into())],
            ..Request::default()
        };
        let vars = environment(&request);
        let keys: Vec<_> = vars
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert!(keys.contains(&"LEASH_TEST_X".to_string()));
        assert!(
            keys.iter().all(|k| k == "PATH" || k == "LEASH_TEST_X"),
            "{keys:?}"
        );
    }
}
