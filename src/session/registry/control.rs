//! What `leashctl` asked of a session (freeze, thaw, stop), who asked and when: one JSON
//! line per request, appended beside the session's entry, read by the supervisor for its
//! stop sequence and its record, and by `leashctl` for the session's state.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    /// Pause every process of the session.
    Freeze,
    /// Let it run again.
    Thaw,
    /// End it.
    Stop,
}

impl Action {
    /// Its name, as the record has it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::Freeze => "freeze",
            Action::Thaw => "thaw",
            Action::Stop => "stop",
        }
    }
}

/// One request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Event {
    /// What was asked.
    pub(crate) action: Action,
    /// When (seconds since the epoch).
    pub(crate) at: f64,
    /// Who asked: their user.
    pub(crate) by_uid: u32,
    /// Who asked: the `leashctl` process.
    pub(crate) by_pid: i32,
    /// For a stop: the first signal (`TERM`).
    pub(crate) signal: Option<String>,
    /// For a stop: the grace before SIGKILL.
    pub(crate) kill_after_seconds: Option<f64>,
    /// For a stop: the session was stopped by `leashctl` itself (its supervisor was gone
    /// or stopped), not by its supervisor.
    pub(crate) directly: bool,
}

impl Event {
    /// A request made now by this process.
    pub(crate) fn now(action: Action) -> Event {
        Event {
            action,
            at: super::now_seconds(),
            by_uid: nix::unistd::geteuid().as_raw(),
            by_pid: std::process::id().cast_signed(),
            signal: None,
            kill_after_seconds: None,
            directly: false,
        }
    }
}

/// Append `event` to the file at `path` (in one write, so lines never interleave), in
/// the directory of the session's user `owner`, which may be another user's: never
/// through a symlink or into a FIFO put there (opened without following or waiting),
/// only into a regular file of its own (one link, and the owner's or the caller's); a
/// file root makes there is given to the owner, whose supervisor reads it.
pub(crate) fn append(path: &Path, event: &Event, owner: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = crate::machine::small_file::open_without_waiting(
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600),
        libc::O_NOFOLLOW,
        path,
    )?;
    let metadata = file.metadata()?;
    let me = nix::unistd::geteuid().as_raw();
    if !metadata.is_file() || metadata.nlink() != 1 || ![owner, me].contains(&metadata.uid()) {
        return Err(std::io::Error::other(
            "not a file of the session's own (planted there?): left alone",
        ));
    }
    if metadata.uid() != owner {
        nix::unistd::fchown(&file, Some(owner.into()), None).map_err(std::io::Error::from)?;
    }
    file.write_all(&line)
}

/// The requests in the file at `path`, oldest first (none if there is no file, or what
/// is there is no regular file of its own).
pub(crate) fn read(path: &Path) -> Vec<Event> {
    let bytes = crate::machine::small_file::read_regular(path).map_or_else(|_| Vec::new(), |r| r.0);
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Since when the session is frozen, if it is: the last freeze not followed by a thaw.
pub(crate) fn frozen_since(events: &[Event]) -> Option<f64> {
    events
        .iter()
        .rev()
        .find(|e| e.action != Action::Stop)
        .filter(|e| e.action == Action::Freeze)
        .map(|e| e.at)
}

/// How long the session was frozen in all, up to `until` (seconds since the epoch).
pub(crate) fn frozen_seconds(events: &[Event], until: f64) -> f64 {
    let mut total = 0.0;
    let mut since = None;
    for event in events {
        match (event.action, since) {
            (Action::Freeze, None) => since = Some(event.at),
            (Action::Thaw, Some(from)) => {
                total += event.at - from;
                since = None;
            }
            _ => {}
        }
    }
    total + since.map_or(0.0, |from| (until - from).max(0.0))
}

/// The stop `leashctl` asked the supervisor for, if it asked for one.
pub(crate) fn stop_request(events: &[Event]) -> Option<&Event> {
    events
        .iter()
        .rev()
        .find(|e| e.action == Action::Stop && !e.directly)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(action: Action, at: f64) -> Event {
        Event {
            at,
            ..Event::now(action)
        }
    }

    #[test]
    fn frozen_time_adds_up_and_counts_an_open_freeze() {
        let events = [
            at(Action::Freeze, 10.0),
            at(Action::Thaw, 12.5),
            at(Action::Freeze, 20.0),
        ];
        assert!((frozen_seconds(&events, 21.0) - 3.5).abs() < 1e-9);
        assert_eq!(frozen_since(&events), Some(20.0));
        assert_eq!(frozen_since(&events[..2]), None);
        assert!(stop_request(&events).is_none());
    }

    #[test]
    fn lines_append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.events");
        append(
            &path,
            &at(Action::Freeze, 1.0),
            nix::unistd::geteuid().as_raw(),
        )
        .unwrap();
        let mut stop = at(Action::Stop, 2.0);
        stop.signal = Some("INT".into());
        append(&path, &stop, nix::unistd::geteuid().as_raw()).unwrap();
        let events = read(&path);
        assert_eq!(events.len(), 2);
        assert_eq!(stop_request(&events), Some(&stop));
    }
}
