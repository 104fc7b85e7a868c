//! What leashctl wired where (`installs.json` in its data directory), with each changed
//! file as it was before and as the install left it, so that `remove` can put it back
//! byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Agent;
use crate::front::ctl::{CtlError, replace_file};

/// One install, as the record keeps it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Wired {
    pub(super) agent: String,
    /// The settings file changed (Codex: its hooks.json).
    pub(super) settings: PathBuf,
    /// The shell written (Claude Code's: a copy of leash).
    pub(super) program: Option<PathBuf>,
    pub(super) leash_options: Vec<String>,
    /// The settings file before the install (none: there was none).
    pub(super) original: Option<String>,
    /// The settings file as the install left it.
    pub(super) installed: String,
    /// Other files changed (Codex: its config.toml, where it keeps trust).
    #[serde(default)]
    pub(super) also: Vec<Changed>,
}

/// A file an install added lines to.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Changed {
    pub(super) file: PathBuf,
    pub(super) original: Option<String>,
    pub(super) installed: String,
    /// The lines added at its end.
    pub(super) added: String,
}

/// Where the record of `agent`'s install in `file` is among `records`.
pub(super) fn position(records: &[Wired], agent: Agent, file: &Path) -> Option<usize> {
    records
        .iter()
        .position(|w| w.agent == agent.name() && w.settings == file)
}

/// `$XDG_DATA_HOME/leash/agents`, or `~/.local/share/leash/agents`.
pub(super) fn data_dir() -> Result<PathBuf, CtlError> {
    crate::front::ctl::user_data_home()
        .map(|data| data.join("leash/agents"))
        .ok_or_else(|| CtlError::Usage("agent: no HOME for leashctl's record".into()))
}

fn record_path() -> Result<PathBuf, CtlError> {
    Ok(data_dir()?.join("installs.json"))
}

pub(super) fn load() -> Result<Vec<Wired>, CtlError> {
    let path = record_path()?;
    match read(&path)? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            CtlError::Incomplete(format!("agent: {}: not leashctl's ({e})", path.display()))
        }),
    }
}

pub(super) fn save(records: &[Wired]) -> Result<(), CtlError> {
    let path = record_path()?;
    let text = serde_json::to_string_pretty(records).unwrap_or_default() + "\n";
    let failed =
        |e: std::io::Error| CtlError::Incomplete(format!("agent: {}: {e}", path.display()));
    fs::create_dir_all(data_dir()?).map_err(failed)?;
    replace_file(&path, &text, 0o600).map_err(failed)
}

/// The text of `file`, or none where there is no file.
pub(super) fn read(file: &Path) -> Result<Option<String>, CtlError> {
    match fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CtlError::Usage(format!("agent: {}: {e}", file.display()))),
    }
}

/// Write an agent's file, keeping its permissions where it exists.
pub(super) fn write_settings(file: &Path, text: &str) -> Result<(), CtlError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(file).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let failed =
        |e: std::io::Error| CtlError::Incomplete(format!("agent: {}: {e}", file.display()));
    fs::create_dir_all(file.parent().unwrap_or(Path::new("/"))).map_err(failed)?;
    replace_file(file, text, mode).map_err(failed)
}

/// Put an agent's file back: its text before the install, or no file.
pub(super) fn restore(file: &Path, original: Option<&str>) -> Result<(), CtlError> {
    match original {
        Some(text) => write_settings(file, text),
        None => fs::remove_file(file)
            .map_err(|e| CtlError::Incomplete(format!("agent: {}: {e}", file.display()))),
    }
}
