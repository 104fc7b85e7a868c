//! `leashctl list --watch`: the table redrawn every second in place (the terminal's
//! alternate screen, as top uses), until q or Ctrl-C.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{LocalFlags, SetArg, Termios, tcgetattr, tcsetattr};

/// How often the table is redrawn.
const EVERY: Duration = Duration::from_secs(1);

/// The terminal's input, one key at a time and unechoed (Ctrl-C arrives as a key), until
/// dropped.
struct Keys {
    saved: Termios,
}

impl Keys {
    fn take() -> Option<Keys> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(Keys { saved })
    }

    /// Wait up to `timeout` for a key; whether it asks to quit (q, Q, Ctrl-C, end of input).
    #[allow(clippy::unused_self)] // keys are read only while the terminal is taken
    fn quit_within(&self, timeout: Duration) -> bool {
        let stdin = std::io::stdin();
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        if !matches!(poll(&mut fds, PollTimeout::from(millis)), Ok(n) if n > 0) {
            return false;
        }
        let mut key = [0u8; 16];
        match nix::unistd::read(stdin.as_fd(), &mut key) {
            Ok(0) => true,
            Ok(n) => key[..n].iter().any(|k| matches!(k, b'q' | b'Q' | 3)),
            Err(_) => false,
        }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Print `draw()` every second: in place on a terminal until q or Ctrl-C, else one table
/// after another until killed.
pub(crate) fn redraw(mut draw: impl FnMut() -> String) {
    let mut out = std::io::stdout();
    let keys = (out.is_terminal() && std::io::stdin().is_terminal())
        .then(Keys::take)
        .flatten();
    if keys.is_some() {
        // The alternate screen, the cursor hidden.
        let _ = write!(out, "\x1b[?1049h\x1b[?25l");
    }
    loop {
        let text = draw();
        let written = match keys {
            Some(_) => write!(out, "\x1b[H\x1b[2J{}", text.replace('\n', "\r\n")),
            None => writeln!(out, "{text}"),
        };
        if written.and_then(|()| out.flush()).is_err() {
            break;
        }
        match &keys {
            Some(keys) if keys.quit_within(EVERY) => break,
            Some(_) => {}
            None => std::thread::sleep(EVERY),
        }
    }
    if keys.is_some() {
        let _ = write!(out, "\x1b[?25h\x1b[?1049l");
        let _ = out.flush();
    }
}
