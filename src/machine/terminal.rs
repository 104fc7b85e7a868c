//! The controlling terminal: handing its foreground to the session and taking it back.
//!
//! Only when stdin is a terminal and leash is in its foreground process group does leash
//! touch it, as a job-control shell would; otherwise it makes no terminal calls at all.

use std::io::stdin;

use nix::sys::termios::{SetArg, Termios, tcgetattr, tcsetattr};
use nix::unistd::{Pid, getpgrp, isatty, tcgetpgrp, tcsetpgrp};

/// The terminal leash runs in the foreground of, and its modes when leash started.
pub(crate) struct Terminal {
    modes: Termios,
    leash_group: Pid,
}

impl Terminal {
    /// The terminal on stdin, if leash is in its foreground process group.
    pub(crate) fn foreground() -> Option<Self> {
        let fd = stdin();
        if !isatty(&fd).unwrap_or(false) {
            return None;
        }
        let leash_group = getpgrp();
        if tcgetpgrp(&fd).ok()? != leash_group {
            return None;
        }
        let modes = tcgetattr(&fd).ok()?;
        Some(Self { modes, leash_group })
    }

    /// Whether leash's own group is the terminal's foreground group now (it is not after
    /// the shell continued leash in the background with `bg`).
    pub(crate) fn leash_in_foreground(&self) -> bool {
        tcgetpgrp(stdin()).is_ok_and(|group| group == self.leash_group)
    }

    /// Make `group` the foreground process group: the terminal's input, Ctrl-C and Ctrl-Z
    /// go to it. leash blocks SIGTTOU, so this works from the background too.
    #[allow(clippy::unused_self)] // only the terminal leash took over is handed on
    pub(crate) fn hand_to(&self, group: Pid) {
        let _ = tcsetpgrp(stdin(), group);
    }

    /// Take the foreground back for leash's own group and restore the modes the terminal
    /// had when leash started (a killed program may leave it raw or without echo).
    pub(crate) fn take_back(&self) {
        let _ = tcsetpgrp(stdin(), self.leash_group);
        let _ = tcsetattr(stdin(), SetArg::TCSADRAIN, &self.modes);
    }
}
