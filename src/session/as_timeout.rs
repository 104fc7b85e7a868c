//! The `timeout` personality's watch and end: GNU `timeout`'s signals, waits and exit
//! statuses over leash's start, with leash's stop of what the command leaves behind.
//!
//! As GNU's: at DURATION (or a SIGALRM) the command and its process group (the
//! session's; not the groups its processes made of their own) get the signal, then SIGCONT; `-k` sends SIGKILL that long after the first signal, whatever
//! sent it; any other terminating signal leash gets is passed on the same way, and the
//! command is waited for. Unlike GNU's, leash then stops whatever the command left (the
//! same signal, then SIGKILL after `-k` or leash's grace), however it detached.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::live::suspend;
use super::plan::Plan;
use super::start::{Running, start};
use super::stop::stop;
use super::watch::Ending;
use crate::machine::error::Error;
use crate::machine::exit::{Exit, LEASH_FAILED, LIMIT_REACHED};
use crate::machine::signal_number::SignalNumber;
use crate::session::message::say;
use crate::session::spec::Spec;

/// What `timeout`'s command line asked for.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    /// DURATION; `None`: no timeout.
    pub(crate) after: Option<Duration>,
    /// `-s`: the signal sent on timeout (0: none).
    pub(crate) signal: SignalNumber,
    /// `-k`: SIGKILL this long after the first signal; `None`: never.
    pub(crate) kill_after: Option<Duration>,
    /// `-f`: the command stays in leash's process group, and alone gets the signals.
    pub(crate) foreground: bool,
    /// `-p`: the command's status even when it timed out.
    pub(crate) preserve_status: bool,
    /// `-v`: say each signal sent on timeout.
    pub(crate) verbose: bool,
    /// The command as typed, for `-v`'s lines.
    pub(crate) command_name: String,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            after: None,
            signal: Signal::SIGTERM.into(),
            kill_after: None,
            foreground: false,
            preserve_status: false,
            verbose: false,
            command_name: String::new(),
        }
    }
}

/// Run the session `settings` describe under `rules`; returns how leash must exit.
pub(crate) fn run(settings: &Spec, rules: &Rules) -> Exit {
    let started = Plan::make(settings).and_then(|plan| start(settings, plan, false));
    let mut running = match started {
        Ok(running) => running,
        Err(error) => return failed(&error, &rules.command_name),
    };
    let mut watch = Watch::new(rules, running.session.started());
    watch.run(&mut running);
    // What the command left behind: stopped now, as leash stops every session's rest.
    stop(&mut running, Ending::MainExited, settings);
    watch.exit(running.session.main_status())
}

/// The session could not start: GNU's words where GNU has them (`command` as typed).
fn failed(error: &Error, command: &str) -> Exit {
    match error {
        Error::NotFound(_) => say(&format!(
            "failed to run command '{command}': No such file or directory"
        )),
        Error::CannotExecute(_, errno) => say(&format!(
            "failed to run command '{command}': {}",
            errno.desc()
        )),
        other => crate::session::message::error(other),
    }
    error.exit()
}

/// The watch's state: GNU `timeout`'s, with its single timer as two deadlines.
struct Watch<'r> {
    rules: &'r Rules,
    /// When DURATION is over, until it is (or the kill timer replaces it).
    deadline: Option<Instant>,
    /// When `-k`'s SIGKILL is due, once armed.
    kill_at: Option<Instant>,
    /// `-k`, until the first signal arms it.
    kill_after: Option<Duration>,
    /// What the next timeout sends: `-s`, then SIGKILL once `-k` is armed.
    signal: SignalNumber,
    timed_out: bool,
}

impl<'r> Watch<'r> {
    fn new(rules: &'r Rules, started: Instant) -> Self {
        Self {
            rules,
            deadline: rules.after.and_then(|after| started.checked_add(after)),
            kill_at: None,
            kill_after: rules.kill_after,
            signal: rules.signal,
            timed_out: false,
        }
    }

    /// Until the main process has ended.
    fn run(&mut self, running: &mut Running) {
        loop {
            let session = &mut running.session;
            if session.main_stopped().is_some() {
                suspend(session, running.terminal.as_ref());
            }
            if !session.reap() || session.main_status().is_some() {
                return;
            }
            let now = Instant::now();
            if self.deadline.is_some_and(|at| now >= at) {
                self.deadline = None;
                self.time_out(running);
                continue;
            }
            if self.kill_at.is_some_and(|at| now >= at) {
                self.kill_at = None;
                self.time_out(running);
                continue;
            }
            let wake = self.deadline.into_iter().chain(self.kill_at).min();
            let signals = running
                .session
                .relay_until_signal(wake.map(|at| at.saturating_duration_since(now)));
            let realtime = running.session.take_realtime_signals();
            let numbers = signals.into_iter().map(|s| s as i32).chain(realtime);
            for number in numbers {
                match Signal::try_from(number) {
                    Ok(Signal::SIGCHLD | Signal::SIGTTIN | Signal::SIGTTOU) => {}
                    Ok(Signal::SIGALRM) => self.time_out(running),
                    _ => self.send(running, SignalNumber::from_number(number)),
                }
            }
        }
    }

    /// DURATION (or `-k`'s time) is over, or SIGALRM came: send the signal due now.
    fn time_out(&mut self, running: &Running) {
        self.timed_out = true;
        self.send(running, self.signal);
    }

    /// Send `signal` as GNU `timeout` does: to the command, then (unless `-f`) to the rest
    /// of the session, with SIGCONT after it; the first signal sent arms `-k`.
    fn send(&mut self, running: &Running, signal: SignalNumber) {
        if let Some(kill_after) = self.kill_after.take() {
            // GNU's one timer now counts down to SIGKILL instead of DURATION.
            self.deadline = None;
            self.kill_at = Instant::now().checked_add(kill_after);
            self.signal = Signal::SIGKILL.into();
        }
        if self.rules.verbose {
            say(&format!(
                "sending signal {signal} to command '{}'",
                self.rules.command_name
            ));
        }
        // The command's process group, not every process of the session: one that made a
        // group of its own (a nested timeout) handles its group itself. The rest of the
        // session is stopped once the command has ended.
        let main = running.session.main();
        let _ = signal.send(main);
        if !self.rules.foreground {
            let _ = signal.send_to_group(main);
            let kill_or_cont = [Signal::SIGKILL, Signal::SIGCONT].map(SignalNumber::from);
            if !kill_or_cont.contains(&signal) {
                let _ = nix::sys::signal::kill(main, Signal::SIGCONT);
                let _ = nix::sys::signal::killpg(main, Signal::SIGCONT);
            }
        }
    }

    /// How `timeout` exits once its command ended with `status`.
    fn exit(&self, status: Option<WaitStatus>) -> Exit {
        let mut preserve = self.rules.preserve_status;
        let code = match status {
            Some(WaitStatus::Exited(_, code)) => u8::try_from(code).unwrap_or(LEASH_FAILED),
            Some(WaitStatus::Signaled(_, signal, core_dumped)) => {
                if core_dumped {
                    say("the monitored command dumped core");
                }
                if !self.timed_out {
                    return Exit::Signal(signal);
                }
                // That the command was killed shows, -p or not.
                preserve |= signal == Signal::SIGKILL;
                128u8.saturating_add(signal as u8)
            }
            _ => {
                crate::session::message::error(&Error::LostMainProcess);
                return Exit::Code(LEASH_FAILED);
            }
        };
        if self.timed_out && !preserve {
            Exit::Code(LIMIT_REACHED)
        } else {
            Exit::Code(code)
        }
    }
}
