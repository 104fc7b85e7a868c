//! The running session as leash sees it: its main process, its cgroup and output relay,
//! reaping, and waiting for signals while the output is relayed.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::cgroup::SessionCgroup;
use crate::relay::Relay;
use crate::signals::Inbox;

/// How often the size of a relayed terminal is checked.
const RESIZE_CHECK: Duration = Duration::from_millis(100);

/// A started session: the main process and everything it started since.
pub struct Session {
    main: Pid,
    main_status: Option<WaitStatus>,
    started: Instant,
    inbox: Inbox,
    cgroup: Option<SessionCgroup>,
    relay: Option<Relay>,
}

impl Session {
    /// A session whose main process `main` was just started (in `cgroup`, and writing
    /// through `relay`, if any).
    pub fn new(
        main: Pid,
        inbox: Inbox,
        cgroup: Option<SessionCgroup>,
        relay: Option<Relay>,
    ) -> Self {
        Self {
            main,
            main_status: None,
            started: Instant::now(),
            inbox,
            cgroup,
            relay,
        }
    }

    /// The relay of the session's output, if it has one.
    pub fn relay(&self) -> Option<&Relay> {
        self.relay.as_ref()
    }

    /// Pass on whatever output the ended session left.
    pub fn drain_output(&mut self) {
        if let Some(relay) = self.relay.as_mut() {
            relay.drain();
        }
    }

    /// The session's own cgroup, if it has one.
    pub fn cgroup(&self) -> Option<&SessionCgroup> {
        self.cgroup.as_ref()
    }

    /// The main process (also the id of the session's process group).
    pub fn main(&self) -> Pid {
        self.main
    }

    /// When the main process was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// How the main process ended, once it has been reaped.
    pub fn main_status(&self) -> Option<WaitStatus> {
        self.main_status
    }

    /// Reap every ended child (the main process and any orphan re-parented to leash).
    /// Returns whether any process of the session is still alive. Because leash is a
    /// subreaper, "leash has no child" is exactly "the session is empty".
    pub fn reap(&mut self) -> bool {
        // __WALL: also children that were cloned without SIGCHLD as their exit signal,
        // which a plain waitpid would not report and so would look like no child at all.
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::__WALL;
        loop {
            match waitpid(Pid::from_raw(-1), Some(flags)) {
                Ok(WaitStatus::StillAlive) => return true,
                Ok(status @ (WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _))) => {
                    if pid == self.main {
                        self.main_status = Some(status);
                    }
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => return false,
            }
        }
    }

    /// If the main process was stopped by job control (Ctrl-Z, or reading or writing the
    /// terminal from the background), the signal that stopped it. Reaps it if it ended.
    pub fn main_stopped(&mut self) -> Option<Signal> {
        if self.main_status.is_some() {
            return None;
        }
        match waitpid(
            self.main,
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED),
        ) {
            Ok(WaitStatus::Stopped(_, signal))
                if matches!(signal, Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU) =>
            {
                Some(signal)
            }
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                self.main_status = Some(status);
                None
            }
            _ => None,
        }
    }

    /// Relay the session's output (and keep a pseudo-terminal the real terminal's size)
    /// until a signal arrives or `timeout` passes (`None`: no timeout). Returns the signals
    /// that arrived, SIGCHLD included.
    pub fn relay_until_signal(&mut self, timeout: Option<Duration>) -> Vec<Signal> {
        // A resized terminal signals (SIGWINCH) its foreground group, the session, not
        // leash: with a pseudo-terminal relay leash looks at the size every 100 ms.
        let terminal_relay = self.relay.as_ref().is_some_and(Relay::has_terminal);
        let timeout = match timeout {
            Some(t) if terminal_relay => Some(t.min(RESIZE_CHECK)),
            None if terminal_relay => Some(RESIZE_CHECK),
            other => other,
        };
        let timeout = timeout.map_or(PollTimeout::NONE, |t| {
            // Round up: waking a little early would only spin until the deadline.
            let millis = t.as_nanos().div_ceil(1_000_000);
            PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
        });
        let mut fds = vec![PollFd::new(self.inbox.as_fd(), PollFlags::POLLIN)];
        if let Some(relay) = &self.relay {
            fds.extend(relay.poll_fds());
        }
        let ready = poll(&mut fds, timeout).unwrap_or(0);
        let signalled = fds[0].revents().is_some_and(|r| !r.is_empty());
        let relayed: Vec<bool> = fds[1..]
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if let Some(relay) = self.relay.as_mut() {
            if relayed.contains(&true) {
                relay.pump(&relayed);
            }
            if terminal_relay {
                relay.sync_sizes();
            }
        }
        if ready > 0 && signalled {
            self.inbox.drain()
        } else {
            Vec::new()
        }
    }
}
