//! The pseudo-terminal the session writes to where leash's own stream is a terminal: the
//! real terminal's size and modes, without its output processing.

use std::io;
use std::os::fd::OwnedFd;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::pty::{Winsize, openpty};
use nix::sys::stat::fstat;
use nix::sys::termios::{OutputFlags, tcgetattr};
use nix::unistd::isatty;

use super::StdStream;

/// Whether leash's `stream` is a terminal.
pub(super) fn is_terminal(stream: StdStream) -> bool {
    isatty(stream.handle()).unwrap_or(false)
}

/// Whether leash's stdout and stderr are the same file (one terminal on both).
pub(super) fn stdout_is_stderr() -> bool {
    match (
        fstat(StdStream::Out.handle()),
        fstat(StdStream::Err.handle()),
    ) {
        (Ok(a), Ok(b)) => (a.st_dev, a.st_ino, a.st_rdev) == (b.st_dev, b.st_ino, b.st_rdev),
        _ => false,
    }
}

fn window_size(stream: StdStream) -> Option<Winsize> {
    let size = rustix::termios::tcgetwinsize(stream.handle()).ok()?;
    Some(Winsize {
        ws_row: size.ws_row,
        ws_col: size.ws_col,
        ws_xpixel: size.ws_xpixel,
        ws_ypixel: size.ws_ypixel,
    })
}

/// A pseudo-terminal like the real terminal on `stream`: its size and modes, but no output
/// processing (the real terminal does that, once). Returns (master, slave).
pub(super) fn pseudo_terminal(stream: StdStream) -> io::Result<(OwnedFd, OwnedFd)> {
    let real = stream.handle();
    let mut modes = tcgetattr(real).ok();
    if let Some(modes) = modes.as_mut() {
        modes.output_flags.remove(OutputFlags::OPOST);
    }
    let pty = openpty(window_size(stream).as_ref(), modes.as_ref())?;
    for end in [&pty.master, &pty.slave] {
        fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((pty.master, pty.slave))
}
