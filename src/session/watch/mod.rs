//! Phase 4, watch: wait for the first thing that ends supervision (the main process
//! ending, a limit reached, a terminating signal to leash), forwarding SIGUSR1 and SIGUSR2
//! meanwhile, sampling the session's usage as its limits need, and giving `--warn`'s
//! warnings.
//!
//! The decisions are [`watch`]'s, over an event source ([`Events`]): the running session
//! in leash (`live`), a script in the tests.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::machine::signals::{FORWARDED, ends_supervision};
use crate::session::accounting::Usage;
use crate::session::baseline::Baseline;
use crate::session::cadence::{FIRST_SAMPLE, next_interval, within_budget};
use crate::session::session_limits::{Breach, SessionLimits};
use crate::session::warning::{Warner, Warning};

/// Why supervision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The main process exited by itself.
    MainExited,
    /// The session went beyond a limit.
    Limit(Breach),
    /// leash was asked to terminate with this signal.
    Signaled(Signal),
}

/// What the watch saw: why it ended, and the warnings it gave.
#[derive(Debug)]
pub(crate) struct Watched {
    /// Why supervision ended.
    pub(crate) ending: Ending,
    /// The `--warn` warnings given.
    pub(crate) warnings: Vec<Warning>,
    /// How long after the start it ended.
    pub(crate) after: Duration,
}

/// The output relay's state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputState {
    /// Bytes passed on so far.
    pub(crate) passed: u64,
    /// Whether the session wrote more than `--output` allows.
    pub(crate) exceeded: bool,
    /// When the session last wrote anything.
    pub(crate) last: Instant,
}

/// One sample of the session's usage, and the CPU time it cost leash.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sample {
    /// What the session uses now.
    pub(crate) usage: Usage,
    /// leash's own CPU time for taking the sample.
    pub(crate) cost: Duration,
}

/// What the watch loop reads and does; the running session in leash.
pub(crate) trait Events {
    /// The time now.
    fn now(&self) -> Instant;
    /// Children changed (a SIGCHLD came): reap them, and say whether the session is over
    /// (the main process ended, or no process is left).
    fn children_changed(&mut self) -> bool;
    /// Whether the session's usage is sampled at all.
    fn samples(&self) -> bool;
    /// Sample the session's usage now.
    fn sample(&mut self) -> Sample;
    /// The output relay's state, where output is relayed.
    fn output(&self) -> Option<OutputState>;
    /// Relay the output that is there now, without waiting (the relay's state then counts
    /// it).
    fn pump_output(&mut self);
    /// Wait until a signal arrives or `timeout` passes (`None`: no timeout), relaying the
    /// session's output meanwhile; returns the signals, SIGCHLD included.
    fn wait(&mut self, timeout: Option<Duration>) -> Vec<Signal>;
    /// Whether a new task of the session was refused at the process limit since the last
    /// call (the fork gate's refusal: a breach the next sample reports).
    fn refused_a_task(&mut self) -> bool {
        false
    }
    /// Pass `signal` on to every process of the session.
    fn forward(&mut self, signal: Signal);
    /// Give a `--warn` warning.
    fn warn(&mut self, warning: &Warning);
}

/// What the watch holds the session to, beside its clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules<'a> {
    /// The session limits.
    pub(crate) limits: &'a SessionLimits,
    /// `--warn`: the share of each limit to warn at.
    pub(crate) warn_at: Option<f64>,
    /// `--baseline`: what the session's name usually takes.
    pub(crate) baseline: Option<&'a Baseline>,
    /// `--on-sigint forward`: SIGINT to leash goes to the session, which runs on.
    pub(crate) forward_sigint: bool,
}

/// Watch the session that started at `started` until supervision ends.
pub(crate) fn watch(events: &mut impl Events, started: Instant, rules: Rules) -> Watched {
    let limits = rules.limits;
    let mut watch = Watch {
        limits,
        started,
        deadline: limits.wall.and_then(|wall| started.checked_add(wall)),
        warner: rules.warn_at.map(Warner::new),
        unusual: rules
            .baseline
            .map(|b| (Warner::of_baseline(b), b.thresholds)),
        forward_sigint: rules.forward_sigint,
        warnings: Vec::new(),
        interval: FIRST_SAMPLE,
        last: (Usage::default(), started),
        next_sample: started + FIRST_SAMPLE,
    };
    let ending = watch.run(events);
    Watched {
        ending,
        warnings: watch.warnings,
        after: events.now().saturating_duration_since(started),
    }
}

/// The watch loop's state.
struct Watch<'a> {
    limits: &'a SessionLimits,
    started: Instant,
    /// When the wall-clock limit is reached.
    deadline: Option<Instant>,
    warner: Option<Warner>,
    /// `--baseline`'s warner, and the thresholds it warns above.
    unusual: Option<(Warner, SessionLimits)>,
    /// SIGINT is passed on, not an ending.
    forward_sigint: bool,
    warnings: Vec<Warning>,
    /// The pause before the next sample, as last decided.
    interval: Duration,
    /// The last sample and when it was taken.
    last: (Usage, Instant),
    next_sample: Instant,
}

impl Watch<'_> {
    fn run(&mut self, events: &mut impl Events) -> Ending {
        // Children are waited for only after a SIGCHLD: a relay busy with a flood wakes the
        // loop thousands of times a second, and a wait4 each time would cost more than the
        // relaying.
        let mut children_changed = true;
        loop {
            if std::mem::take(&mut children_changed) && events.children_changed() {
                return self.main_ended(events);
            }
            let now = events.now();
            if let Some(ending) = self.check(events, now) {
                return ending;
            }
            let wake = self.wake_at(events);
            let signals = events.wait(wake.map(|w| w.saturating_duration_since(now)));
            if events.refused_a_task() {
                // Sample at once: the refusal is a breach, and the bomb must not wait.
                self.next_sample = self.started;
            }
            for signal in signals {
                children_changed |= signal == Signal::SIGCHLD;
                if signal == Signal::SIGALRM {
                    let after = events.now().saturating_duration_since(self.started);
                    return Ending::Limit(Breach::Alarm(after));
                }
                let forwarded = FORWARDED.contains(&signal)
                    || (signal == Signal::SIGINT && self.forward_sigint);
                if forwarded {
                    events.forward(signal);
                } else if ends_supervision(signal) {
                    return Ending::Signaled(signal);
                }
            }
        }
    }

    /// The limits at `now`: the wall clock, the output, and the usage when a sample is due.
    fn check(&mut self, events: &mut impl Events, now: Instant) -> Option<Ending> {
        if let (Some(deadline), Some(wall)) = (self.deadline, self.limits.wall)
            && now >= deadline
        {
            return Some(Ending::Limit(Breach::Wall(wall)));
        }
        if let Some(breach) = self.output_breach(events.output(), now) {
            return Some(Ending::Limit(breach));
        }
        if events.samples() && now >= self.next_sample {
            return self.sample(events, now).map(Ending::Limit);
        }
        None
    }

    /// Sample, warn, and decide when to sample next; a breach ends the watch.
    fn sample(&mut self, events: &mut impl Events, now: Instant) -> Option<Breach> {
        let Sample { usage, cost } = events.sample();
        if let Some(breach) = self.limits.breach(&usage) {
            return Some(breach);
        }
        let output = events.output().map(|o| o.passed);
        let elapsed = now - self.started;
        let mut due = Vec::new();
        if let Some(warner) = self.warner.as_mut() {
            due.extend(warner.check(self.limits, &usage, elapsed, output));
        }
        if let Some((warner, thresholds)) = self.unusual.as_mut() {
            due.extend(warner.check(thresholds, &usage, elapsed, output));
        }
        for warning in due {
            events.warn(&warning);
            self.warnings.push(warning);
        }
        // CPU time, not wall time: on a loaded machine a sample waits for a CPU, and
        // stretching the interval then would blind leash just when a bomb runs.
        let (before, then) = self.last;
        let interval = next_interval(self.limits, &before, &usage, now - then, self.interval);
        self.interval = within_budget(interval, cost, usage.processes);
        self.last = (usage, now);
        self.next_sample = now + self.interval;
        None
    }

    /// The output limits: too much output, or none for too long.
    fn output_breach(&self, output: Option<OutputState>, now: Instant) -> Option<Breach> {
        let output = output?;
        if let Some(limit) = self.limits.output.filter(|_| output.exceeded) {
            return Some(Breach::Output(limit));
        }
        let idle = self.limits.idle?;
        (now >= output.last + idle).then_some(Breach::Idle(idle))
    }

    /// When the loop must look again, whatever happens: the wall deadline, the idle
    /// deadline, the next sample.
    fn wake_at(&self, events: &impl Events) -> Option<Instant> {
        let idle_deadline = self
            .limits
            .idle
            .zip(events.output())
            .map(|(idle, output)| output.last + idle);
        let next_sample = events.samples().then_some(self.next_sample);
        [self.deadline, idle_deadline, next_sample]
            .into_iter()
            .flatten()
            .min()
    }

    /// How supervision ends once the main process has ended: by itself, at a limit that
    /// what it left still running shows (the kernel's OOM kill or refused fork, or a last
    /// sample beyond a limit: a fork bomb whose main process returned at once), or beyond
    /// `--output` with what it wrote just before it ended (still in the pipe when its end
    /// was seen).
    fn main_ended(&self, events: &mut impl Events) -> Ending {
        let last = events.samples().then(|| events.sample().usage);
        if let Some(breach) = last.and_then(|usage| self.limits.breach(&usage)) {
            return Ending::Limit(breach);
        }
        events.pump_output();
        let exceeded = events.output().is_some_and(|output| output.exceeded);
        match self.limits.output.filter(|_| exceeded) {
            Some(limit) => Ending::Limit(Breach::Output(limit)),
            None => Ending::MainExited,
        }
    }
}

#[cfg(test)]
mod tests;
