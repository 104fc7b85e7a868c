//! The running session's processes as leash holds them: its main process (and init), its
//! cgroup and output relay, reaping, and waiting for signals while the output is relayed.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

use crate::machine::cgroup::SessionCgroup;
use crate::machine::signals::Inbox;
use crate::machine::signals::number::SignalNumber;
use crate::machine::wait::{Status, wait};
use crate::session::fork_gate::ForkGate;
use crate::session::relay::Relay;
use crate::session::spawn::{ENDED, STATUS_LEN, STOPPED, Spawned};

/// How often the size of a relayed terminal is checked.
const RESIZE_CHECK: Duration = Duration::from_millis(100);

/// A started session: the main process and everything it started since.
pub(crate) struct Processes {
    main: Pid,
    main_status: Option<Status>,
    started: Instant,
    inbox: Inbox,
    cgroup: Option<SessionCgroup>,
    relay: Option<Relay>,
    /// With `--pid-ns`: the namespace's init (leash's child, not the main process then),
    /// until it is reaped.
    init: Option<Pid>,
    /// Where init reports on the main process, until the end of its reports.
    reports: Option<OwnedFd>,
    /// A job-control stop of the main process that init reported.
    stop_reported: Option<Signal>,
    /// `--procs`' fork gate, where the session's new tasks wait for leash.
    fork_gate: Option<ForkGate>,
    /// The gate refused a task since the watch last asked.
    newly_refused: bool,
}

impl Processes {
    /// A session whose main process (and init) was just started (in `cgroup`, and writing
    /// through `relay`, if any).
    pub(crate) fn new(
        spawned: Spawned,
        inbox: Inbox,
        cgroup: Option<SessionCgroup>,
        relay: Option<Relay>,
    ) -> Self {
        Self {
            main: spawned.main,
            main_status: None,
            started: Instant::now(),
            inbox,
            cgroup,
            relay,
            init: spawned.init.as_ref().map(|init| init.pid),
            reports: spawned.init.map(|init| init.status),
            stop_reported: None,
            fork_gate: None,
            newly_refused: false,
        }
    }

    /// Hold the session's tasks at `gate` too.
    pub(crate) fn with_fork_gate(mut self, gate: Option<ForkGate>) -> Self {
        self.fork_gate = gate;
        self
    }

    /// The fork gate, if the session has one.
    pub(crate) fn fork_gate(&mut self) -> Option<&mut ForkGate> {
        self.fork_gate.as_mut()
    }

    /// Refuse every new task from now on (the session is being killed).
    pub(crate) fn close_fork_gate(&mut self) {
        if let Some(gate) = self.fork_gate.as_mut() {
            gate.close();
        }
    }

    /// Whether the fork gate refused a task since the last call.
    pub(crate) fn newly_refused(&mut self) -> bool {
        std::mem::take(&mut self.newly_refused)
    }

    /// The relay of the session's output, if it has one.
    pub(crate) fn relay(&self) -> Option<&Relay> {
        self.relay.as_ref()
    }

    /// Pass on the output that can be passed on now, without waiting.
    pub(crate) fn pump_output(&mut self) {
        if let Some(relay) = self.relay.as_mut() {
            relay.pump_available();
        }
    }

    /// Pass on whatever output the ended session left.
    pub(crate) fn drain_output(&mut self) {
        if let Some(relay) = self.relay.as_mut() {
            relay.drain();
        }
    }

    /// The session's own cgroup, if it has one.
    pub(crate) fn cgroup(&self) -> Option<&SessionCgroup> {
        self.cgroup.as_ref()
    }

    /// With `--pid-ns`, the namespace's init, until it is reaped.
    pub(crate) fn init(&self) -> Option<Pid> {
        self.init
    }

    /// The main process (also the id of the session's process group).
    pub(crate) fn main(&self) -> Pid {
        self.main
    }

    /// When the main process was started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// How the main process ended, once it has been reaped.
    pub(crate) fn main_status(&self) -> Option<Status> {
        self.main_status
    }

    /// Reap every ended child (the main process and any orphan re-parented to leash).
    /// Returns whether any process of the session is still alive. Because leash is a
    /// subreaper, "leash has no child" is exactly "the session is empty".
    pub(crate) fn reap(&mut self) -> bool {
        self.read_init_reports();
        // __WALL: also children that were cloned without SIGCHLD as their exit signal,
        // which a plain waitpid would not report and so would look like no child at all.
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::__WALL;
        loop {
            match wait(Pid::from_raw(-1), flags) {
                Ok(None) => return true,
                Ok(Some((pid, status))) if status.ended() => {
                    // Under --pid-ns the main process's status comes from init's reports:
                    // init is leash's child, and stands for the main process when that
                    // ended before leash could name it.
                    if self.init == Some(pid) {
                        self.init_ended();
                    } else if pid == self.main {
                        self.main_status = Some(status);
                    }
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => return false,
            }
        }
    }

    /// Read what init reported on the main process: its stops and its end.
    fn read_init_reports(&mut self) {
        let mut message = [0u8; STATUS_LEN];
        while let Some(reports) = &self.reports {
            match nix::unistd::read(reports, &mut message) {
                Ok(STATUS_LEN) => {}
                Err(Errno::EINTR) => continue,
                // Nothing more for now.
                Err(Errno::EAGAIN) => return,
                // Init is gone (the end of the pipe), or the pipe broke: no more reports.
                Ok(_) | Err(_) => {
                    self.reports = None;
                    return;
                }
            }
            let [kind, raw @ ..] = message;
            match (kind, Status::from_raw(i32::from_ne_bytes(raw))) {
                (STOPPED, Status::Stopped(signal)) => self.stop_reported = signal.standard(),
                (ENDED, status) if status.ended() => self.main_status = Some(status),
                _ => {}
            }
        }
    }

    /// Init was reaped: the namespace is gone. What it reported still stands; if it never
    /// reported the main process's end, the kernel killed it with the namespace.
    fn init_ended(&mut self) {
        self.read_init_reports();
        self.init = None;
        self.reports = None;
        if self.main_status.is_none() {
            self.main_status = Some(Status::Signaled {
                signal: SignalNumber::from(Signal::SIGKILL),
                core_dumped: false,
            });
        }
    }

    /// If the main process was stopped by job control (Ctrl-Z, or reading or writing the
    /// terminal from the background), the signal that stopped it. Reaps it if it ended.
    pub(crate) fn main_stopped(&mut self) -> Option<Signal> {
        if self.main_status.is_some() {
            return None;
        }
        if self.init.is_some() {
            self.read_init_reports();
            return self
                .stop_reported
                .take()
                .filter(|s| matches!(s, Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU));
        }
        match wait(self.main, WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED) {
            Ok(Some((_, Status::Stopped(signal)))) => signal
                .standard()
                .filter(|s| matches!(s, Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU)),
            Ok(Some((_, status))) if status.ended() => {
                self.main_status = Some(status);
                None
            }
            _ => None,
        }
    }

    /// The real-time signals that arrived (with the others) since the last call.
    pub(crate) fn take_realtime_signals(&mut self) -> Vec<i32> {
        self.inbox.take_realtime()
    }

    /// Relay the session's output (and keep a pseudo-terminal the real terminal's size)
    /// until a signal arrives or `timeout` passes (`None`: no timeout). Returns the signals
    /// that arrived, SIGCHLD included.
    pub(crate) fn relay_until_signal(&mut self, timeout: Option<Duration>) -> Vec<Signal> {
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
        // Init's reports count as a SIGCHLD: the main process is not leash's child then.
        if let Some(reports) = &self.reports {
            fds.push(PollFd::new(reports.as_fd(), PollFlags::POLLIN));
        }
        let gate_at = fds.len();
        if let Some(gate) = &self.fork_gate {
            fds.push(PollFd::new(gate.listener().as_fd(), PollFlags::POLLIN));
        }
        let first_relayed = fds.len();
        if let Some(relay) = &self.relay {
            fds.extend(relay.poll_fds());
        }
        let ready = poll(&mut fds, timeout).unwrap_or(0);
        let is_ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let signalled = is_ready(&fds[0]);
        let reported = self.reports.is_some() && is_ready(&fds[1]);
        let gated = first_relayed > gate_at && is_ready(&fds[gate_at]);
        let relayed: Vec<bool> = fds[first_relayed..].iter().map(is_ready).collect();
        drop(fds);
        if let Some(relay) = self.relay.as_mut() {
            if relayed.contains(&true) {
                relay.pump(&relayed);
            }
            if terminal_relay {
                relay.sync_sizes();
            }
        }
        if gated {
            self.answer_forks();
        }
        let mut signals = if ready > 0 && signalled {
            self.inbox.drain()
        } else {
            Vec::new()
        };
        if reported {
            // Read now: a pipe whose writer is gone stays readable until it is dropped.
            self.read_init_reports();
            signals.push(Signal::SIGCHLD);
        }
        signals
    }

    /// Answer the tasks waiting at the fork gate.
    fn answer_forks(&mut self) {
        if let Some(gate) = self.fork_gate.as_mut() {
            let before = gate.refused();
            gate.answer(Pid::this());
            self.newly_refused |= gate.refused() > before;
        }
    }
}
