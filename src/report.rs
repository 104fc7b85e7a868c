//! What leash says on stderr: errors, the line when it stops a session, verbose detail.
//!
//! Each message is written with a single `write` so that it cannot be split by the
//! session's own output to the same stream.

use std::io::Write;

/// How much leash says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors and one line when leash stops a session.
    #[default]
    Normal,
    /// Also what leash sets up and how the session ended.
    Verbose,
}

/// Write `leash: <message>` as one line to stderr.
pub fn say(message: &str) {
    let line = format!("leash: {message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Something went wrong in leash itself.
pub fn error(message: &str) {
    say(message);
}

/// A notice shown unless `--quiet`.
pub fn notice(verbosity: Verbosity, message: &str) {
    if verbosity >= Verbosity::Normal {
        say(message);
    }
}

/// Detail shown with `--verbose`.
pub fn detail(verbosity: Verbosity, message: &str) {
    if verbosity >= Verbosity::Verbose {
        say(message);
    }
}

/// `1 process`, `3 processes`.
pub fn processes(count: usize) -> String {
    match count {
        1 => "1 process".into(),
        n => format!("{n} processes"),
    }
}
