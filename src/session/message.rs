//! Messages to stderr: errors, the line when leash stops a session, verbose detail.
//!
//! Each message is written with a single `write` so that it cannot be split by the
//! session's own output to the same stream, and starts on a line of its own: after a
//! half line that leash relayed, or that a stopped process left at the end of a file.

use std::io::Write;
use std::os::unix::fs::FileExt;

/// How much leash says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors and one line when leash stops a session.
    #[default]
    Normal,
    /// Also what leash sets up and how the session ended.
    Verbose,
}

/// The name messages start with: `leash`, or the personality's (`timeout`, `prlimit`).
static PROGRAM: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Speak as `name` from now on: each message starts with `name: `.
pub(crate) fn speak_as(name: &'static str) {
    let _ = PROGRAM.set(name);
}

/// The name messages start with.
pub(crate) fn program() -> &'static str {
    PROGRAM.get().copied().unwrap_or("leash")
}

/// Write `leash: <message>` (or the personality's name) as one line to stderr.
pub(crate) fn say(message: &str) {
    let fresh = if stderr_mid_line() { "\n" } else { "" };
    let line = format!("{fresh}{}: {message}\n", program());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Whether stderr is in the middle of a line: the relay knows what it passed on; a
/// regular file tells by its last byte. A terminal or a pipe that leash does not relay
/// cannot tell.
fn stderr_mid_line() -> bool {
    if crate::session::relay::stderr_mid_line() {
        return true;
    }
    // Only a regular file is opened (anew, for reading: the stderr leash got is usually
    // write-only); opening a terminal could make it leash's controlling terminal.
    let stderr = "/proc/self/fd/2";
    let Ok(metadata) = std::fs::metadata(stderr) else {
        return false;
    };
    if !metadata.is_file() || metadata.len() == 0 {
        return false;
    }
    let mut last = [0u8];
    std::fs::File::open(stderr)
        .and_then(|file| file.read_exact_at(&mut last, metadata.len() - 1))
        .is_ok()
        && last[0] != b'\n'
}

/// Something went wrong in leash itself.
pub(crate) fn error(error: &impl std::fmt::Display) {
    say(&error.to_string());
}

/// A notice shown unless `--quiet`.
pub(crate) fn notice(verbosity: Verbosity, message: &str) {
    if verbosity >= Verbosity::Normal {
        say(message);
    }
}

/// Detail shown with `--verbose`.
pub(crate) fn detail(verbosity: Verbosity, message: &str) {
    if verbosity >= Verbosity::Verbose {
        say(message);
    }
}

/// `1 process`, `3 processes`.
pub(crate) fn processes(count: usize) -> String {
    match count {
        1 => "1 process".into(),
        n => format!("{n} processes"),
    }
}
