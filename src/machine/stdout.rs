//! Writing to stdout: whole, flushed, and a failure returned to be said in one line
//! (`print!` panics when stdout is full or closed: `> /dev/full`, `| head -1`).

use std::fmt;
use std::io::{self, Write};

/// Write `text` to stdout and flush it.
pub(crate) fn write(text: &str) -> Result<(), WriteError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(WriteError)
}

/// stdout could not be written, as GNU tools say it: `write error: No space left on device`.
#[derive(Debug)]
pub(crate) struct WriteError(pub(crate) io::Error);

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&said(&self.0))
    }
}

/// A failed write, as GNU's tools say it: the errno's words, without Rust's `(os error N)`.
pub(crate) fn said(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(errno) => format!("write error: {}", nix::errno::Errno::from_raw(errno).desc()),
        None => format!("write error: {error}"),
    }
}
