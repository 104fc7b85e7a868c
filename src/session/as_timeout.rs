//! The `timeout` personality's watch and end: GNU `timeout`'s signals, waits and exit
//! statuses over leash's start, with leash's stop of what the command leaves behind.
//!
//! As GNU's: at DURATION (or a SIGALRM) the command and its process group (the
//! session's; not the groups its processes made of their own) get the signal, then
//! SIGCONT; `-k` sends SIGKILL that long after the first signal, whatever sent it; any
//! other terminating signal leash gets is passed on the same way, and the command is
//! waited for. Unlike GNU's, leash then stops whatever the command left (the same signal,
//! then SIGKILL after `-k` or leash's grace), however it detached.
//!
//! Its loop reads the session through the watch loop's seam ([`Events`]: the time,
//! reaping, waiting for signals; a script in the tests), but it is a loop of its own, not
//! phase 4's: GNU's rules differ from a session's in each decision. No limit but one
//! timer, which `-k` re-arms; every signal but SIGCHLD and SIGALRM is passed on, not only
//! SIGUSR1 and SIGUSR2, and none of them ends supervision; signals go to the command and
//! its process group, not to every process of the session; and the end is the command's,
//! not the first breach. Phase 4's loop would need a switch at each of those.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::plan::Plan;
use super::start::{Running, start};
use super::stop::stop;
use super::watch::{Ending, Events};
use crate::machine::error::Error;
use crate::machine::exit::{Exit, LEASH_FAILED, LIMIT_REACHED, shell_status};
use crate::machine::signals::number::SignalNumber;
use crate::machine::wait::Status;
use crate::session::message::say;
use crate::session::spec::Spec;

/// What `timeout`'s command line asked for.
#[derive(Clone, Debug)]
pub(crate) struct TimeoutRules {
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

impl Default for TimeoutRules {
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
pub(crate) fn run(settings: &Spec, rules: &TimeoutRules) -> Exit {
    let started = Plan::make(settings).and_then(|plan| start(settings, plan, false));
    let mut running = match started {
        Ok(running) => running,
        Err(error) => return failed(&error, &rules.command_name),
    };
    let mut watch = TimeoutWatch::new(rules, running.processes.started());
    watch.run(&mut running);
    // What the command left behind: stopped now, as leash stops every session's rest.
    stop(&mut running, Ending::MainExited, settings);
    watch.exit(running.processes.main_status())
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
    Exit::after(error)
}

/// What `timeout`'s watch does beyond what it reads through [`Events`].
pub(crate) trait Commands: Events {
    /// The real-time signals that came since the last call (`wait` lists the others).
    fn realtime(&mut self) -> Vec<i32>;
    /// Send `signal` to the command, then (unless `foreground`) to its process group,
    /// with SIGCONT after it.
    fn send(&mut self, signal: SignalNumber, foreground: bool);
}

impl Commands for Running {
    fn realtime(&mut self) -> Vec<i32> {
        self.processes.take_realtime_signals()
    }

    fn send(&mut self, signal: SignalNumber, foreground: bool) {
        // The command's process group, not every process of the session: one that made a
        // group of its own (a nested timeout) handles its group itself. The rest of the
        // session is stopped once the command has ended.
        let main = self.processes.main();
        let _ = signal.send(main);
        if !foreground {
            let _ = signal.send_to_group(main);
            let kill_or_cont = [Signal::SIGKILL, Signal::SIGCONT].map(SignalNumber::from);
            if !kill_or_cont.contains(&signal) {
                let _ = nix::sys::signal::kill(main, Signal::SIGCONT);
                let _ = nix::sys::signal::killpg(main, Signal::SIGCONT);
            }
        }
    }
}

/// The watch's state: GNU `timeout`'s, with its single timer as two deadlines.
struct TimeoutWatch<'r> {
    rules: &'r TimeoutRules,
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

impl<'r> TimeoutWatch<'r> {
    fn new(rules: &'r TimeoutRules, started: Instant) -> Self {
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
    fn run(&mut self, events: &mut impl Commands) {
        loop {
            if events.children_changed() {
                return;
            }
            let now = events.now();
            if self.deadline.is_some_and(|at| now >= at) {
                self.deadline = None;
                self.time_out(events);
                continue;
            }
            if self.kill_at.is_some_and(|at| now >= at) {
                self.kill_at = None;
                self.time_out(events);
                continue;
            }
            let wake = self.deadline.into_iter().chain(self.kill_at).min();
            let signals = events.wait(wake.map(|at| at.saturating_duration_since(now)));
            let realtime = events.realtime();
            let numbers = signals.into_iter().map(|s| s as i32).chain(realtime);
            for number in numbers {
                match Signal::try_from(number) {
                    Ok(Signal::SIGCHLD | Signal::SIGTTIN | Signal::SIGTTOU) => {}
                    Ok(Signal::SIGALRM) => self.time_out(events),
                    _ => self.send(events, SignalNumber::from_number(number)),
                }
            }
        }
    }

    /// DURATION (or `-k`'s time) is over, or SIGALRM came: send the signal due now.
    fn time_out(&mut self, events: &mut impl Commands) {
        self.timed_out = true;
        self.send(events, self.signal);
    }

    /// Send `signal` as GNU `timeout` does; the first signal sent arms `-k`.
    fn send(&mut self, events: &mut impl Commands, signal: SignalNumber) {
        if let Some(kill_after) = self.kill_after.take() {
            // GNU's one timer now counts down to SIGKILL instead of DURATION.
            self.deadline = None;
            self.kill_at = events.now().checked_add(kill_after);
            self.signal = Signal::SIGKILL.into();
        }
        if self.rules.verbose {
            say(&format!(
                "sending signal {signal} to command '{}'",
                self.rules.command_name
            ));
        }
        events.send(signal, self.rules.foreground);
    }

    /// How `timeout` exits once its command ended with `status`.
    fn exit(&self, status: Option<Status>) -> Exit {
        let mut preserve = self.rules.preserve_status;
        let code = match status {
            Some(Status::Exited(code)) => u8::try_from(code).unwrap_or(LEASH_FAILED),
            Some(Status::Signaled {
                signal,
                core_dumped,
            }) => {
                if core_dumped {
                    say("the monitored command dumped core");
                }
                if !self.timed_out {
                    return Exit::Signal(signal);
                }
                // That the command was killed shows, -p or not.
                preserve |= signal == Signal::SIGKILL.into();
                shell_status(signal)
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

#[cfg(test)]
mod tests {
    //! GNU `timeout`'s decisions, driven by a scripted command: time, signals and the
    //! command's end as a test says, no processes.

    use std::collections::VecDeque;

    use super::*;
    use crate::session::warning::Warning;
    use crate::session::watch::{OutputState, Sample};

    /// The status of a command `signal` ended.
    fn killed_by(signal: Signal) -> Status {
        Status::Signaled {
            signal: signal.into(),
            core_dumped: false,
        }
    }

    /// A command in a script: time moves only when the watch waits and no signal comes
    /// (by the whole timeout); it ends at the first signal it does not ignore.
    struct TimeoutScript {
        start: Instant,
        now: Instant,
        /// Signals to leash, one batch per wait.
        incoming: VecDeque<Vec<i32>>,
        ignores: Vec<i32>,
        ended: bool,
        /// What was sent: the signal, the second it went at, whether in the foreground.
        sent: Vec<(SignalNumber, u64, bool)>,
    }

    impl TimeoutScript {
        fn new(ignores: &[Signal]) -> TimeoutScript {
            let start = Instant::now();
            TimeoutScript {
                start,
                now: start,
                incoming: VecDeque::new(),
                ignores: ignores.iter().map(|&s| s as i32).collect(),
                ended: false,
                sent: Vec::new(),
            }
        }

        fn sent(&self) -> Vec<(i32, u64)> {
            self.sent
                .iter()
                .map(|(s, at, _)| (s.number(), *at))
                .collect()
        }
    }

    impl Events for TimeoutScript {
        fn now(&self) -> Instant {
            self.now
        }
        fn children_changed(&mut self) -> bool {
            self.ended
        }
        fn samples(&self) -> bool {
            false
        }
        fn sample(&mut self) -> Sample {
            Sample::default()
        }
        fn output(&self) -> Option<OutputState> {
            None
        }
        fn pump_output(&mut self) {}
        fn wait(&mut self, timeout: Option<Duration>) -> Vec<Signal> {
            let batch = self.incoming.pop_front().unwrap_or_default();
            if batch.is_empty() {
                self.now += timeout.expect("a wait that never ends");
            }
            self.incoming.push_front(batch);
            Vec::new()
        }
        fn forward(&mut self, _: Signal) {
            unreachable!("timeout's watch sends, it does not forward");
        }
        fn warn(&mut self, _: &Warning) {
            unreachable!("timeout's watch gives no warning");
        }
    }

    impl Commands for TimeoutScript {
        fn realtime(&mut self) -> Vec<i32> {
            // Each batch in full: what the real source splits in two, `wait` and this.
            self.incoming.pop_front().unwrap_or_default()
        }
        fn send(&mut self, signal: SignalNumber, foreground: bool) {
            let at = self.now.duration_since(self.start).as_secs();
            self.sent.push((signal, at, foreground));
            let number = signal.number();
            self.ended |= number != Signal::SIGCONT as i32 && !self.ignores.contains(&number);
        }
    }

    fn rules(after: u64, kill_after: Option<u64>) -> TimeoutRules {
        TimeoutRules {
            after: Some(Duration::from_secs(after)),
            kill_after: kill_after.map(Duration::from_secs),
            ..TimeoutRules::default()
        }
    }

    fn watched<'r>(rules: &'r TimeoutRules, script: &mut TimeoutScript) -> TimeoutWatch<'r> {
        let mut watch = TimeoutWatch::new(rules, script.start);
        watch.run(script);
        watch
    }

    const TERM: i32 = Signal::SIGTERM as i32;
    const KILL: i32 = Signal::SIGKILL as i32;

    #[test]
    fn at_duration_the_signal_goes_and_timeout_exits_124() {
        let rules = rules(5, None);
        let mut script = TimeoutScript::new(&[]);
        let watch = watched(&rules, &mut script);
        assert_eq!(script.sent(), [(TERM, 5)]);
        let status = killed_by(Signal::SIGTERM);
        assert_eq!(watch.exit(Some(status)), Exit::Code(LIMIT_REACHED));
    }

    #[test]
    fn kill_after_counts_from_the_first_signal_and_sends_sigkill() {
        let rules = rules(5, Some(2));
        let mut script = TimeoutScript::new(&[Signal::SIGTERM]);
        let watch = watched(&rules, &mut script);
        assert_eq!(script.sent(), [(TERM, 5), (KILL, 7)]);
        // Killed shows, whatever -p says: 128 + 9, as GNU's.
        let status = killed_by(Signal::SIGKILL);
        assert_eq!(watch.exit(Some(status)), Exit::Code(128 + 9));
    }

    #[test]
    fn sigalrm_times_out_at_once_and_other_signals_are_passed_on() {
        let rules = rules(60, None);
        let mut script = TimeoutScript::new(&[Signal::SIGINT, Signal::SIGUSR1]);
        let rtmin = libc::SIGRTMIN();
        script.ignores.push(rtmin);
        script.incoming = VecDeque::from([
            vec![Signal::SIGINT as i32, Signal::SIGCHLD as i32],
            vec![rtmin],
            vec![Signal::SIGALRM as i32],
        ]);
        watched(&rules, &mut script);
        // SIGCHLD is leash's own business; SIGALRM is the timer's, and sends -s's TERM.
        assert_eq!(
            script.sent(),
            [(Signal::SIGINT as i32, 0), (rtmin, 0), (TERM, 0)]
        );
    }

    #[test]
    fn a_signal_passed_on_arms_kill_after_and_is_not_a_timeout() {
        let rules = rules(60, Some(3));
        let mut script = TimeoutScript::new(&[Signal::SIGHUP, Signal::SIGTERM]);
        script.incoming = VecDeque::from([vec![Signal::SIGHUP as i32]]);
        let watch = watched(&rules, &mut script);
        assert_eq!(script.sent(), [(Signal::SIGHUP as i32, 0), (KILL, 3)]);
        // The command died of what it was sent: timeout dies of the same.
        let hup = killed_by(Signal::SIGHUP);
        assert!(!TimeoutWatch::new(&rules, script.start).timed_out);
        assert_eq!(
            TimeoutWatch::new(&rules, script.start).exit(Some(hup)),
            Exit::Signal(Signal::SIGHUP.into())
        );
        assert!(watch.timed_out, "-k's SIGKILL is a timeout");
    }

    #[test]
    fn preserve_status_and_foreground_are_kept() {
        let rules = TimeoutRules {
            preserve_status: true,
            foreground: true,
            ..rules(5, None)
        };
        let mut script = TimeoutScript::new(&[Signal::SIGTERM]);
        script.ignores.clear();
        let watch = watched(&rules, &mut script);
        assert_eq!(script.sent, [(Signal::SIGTERM.into(), 5, true)]);
        let exited = Status::Exited(3);
        assert_eq!(watch.exit(Some(exited)), Exit::Code(3));
        let killed = killed_by(Signal::SIGTERM);
        assert_eq!(watch.exit(Some(killed)), Exit::Code(128 + 15));
    }
}
