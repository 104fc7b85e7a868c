//! The running session as the watch loop's event source: reaping and job control,
//! sampling with what it costs, the relay's state, waiting, forwarding and warning.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::processes::Session;
use super::start::Running;
use super::stop::signal_session;
use super::watch::{Events, OutputState, Sample};
use crate::machine::cgroup::SessionCgroup;
use crate::machine::terminal::Terminal;
use crate::session::message::{Verbosity, notice};
use crate::session::registry::Figures;
use crate::session::relay::Relay;
use crate::session::warning::Warning;

/// The running session as the watch loop's event source. `verbosity` says whether its
/// warnings are shown.
pub(crate) struct Live<'a> {
    /// The session.
    pub(crate) running: &'a mut Running,
    /// How much leash says.
    pub(crate) verbosity: Verbosity,
}

impl Events for Live<'_> {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn children_changed(&mut self) -> bool {
        let session = &mut self.running.session;
        if session.main_stopped().is_some() {
            suspend(session, self.running.terminal.as_ref());
        }
        !session.reap() || session.main_status().is_some()
    }

    fn samples(&self) -> bool {
        self.running.sampler.is_some()
    }

    fn sample(&mut self) -> Sample {
        let Some(sampler) = self.running.sampler.as_mut() else {
            return Sample::default();
        };
        let cpu_before = own_cpu();
        let usage = sampler.sample(self.running.session.cgroup().map(SessionCgroup::read));
        // What sampling costs sizes its cadence; publishing (once a second) is not part
        // of it, or a write to the registry would stretch the sampling.
        let cost = own_cpu().saturating_sub(cpu_before);
        if let Some(shared) = self.running.shared_nproc.as_mut() {
            shared.check(usage.tasks, Instant::now());
        }
        if let Some(registry) = self.running.registry.as_mut() {
            let peak = sampler.peak();
            let wanted = sampler.wanted();
            registry.publish_figures(&Figures {
                peak_memory_bytes: wanted.memory.then_some(peak.memory),
                peak_tasks: wanted.tasks.then_some(peak.tasks),
                written_bytes: wanted.written.then_some(usage.written),
                output_bytes: self.running.session.relay().map(Relay::passed),
            });
        }
        Sample { usage, cost }
    }

    fn output(&self) -> Option<OutputState> {
        self.running
            .session
            .relay()
            .map(|relay: &Relay| OutputState {
                passed: relay.passed(),
                exceeded: relay.exceeded(),
                last: relay.last_output(),
            })
    }

    fn pump_output(&mut self) {
        self.running.session.pump_output();
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Vec<Signal> {
        self.running.session.relay_until_signal(timeout)
    }

    fn forward(&mut self, signal: Signal) {
        signal_session(&self.running.session, signal);
    }

    fn warn(&mut self, warning: &Warning) {
        notice(self.verbosity, &warning.message);
    }
}

/// The main process was stopped by job control (Ctrl-Z): stop the whole session, give the
/// terminal back, and stop leash itself, so the shell sees its job stopped. When the
/// shell continues leash (`fg`, `bg`), hand the terminal over again (if leash was in the
/// foreground) and continue the session. The limits' clocks keep running meanwhile.
pub(super) fn suspend(session: &Session, terminal: Option<&Terminal>) {
    signal_session(session, Signal::SIGSTOP);
    if let Some(terminal) = terminal {
        terminal.take_back();
    }
    let _ = nix::sys::signal::raise(Signal::SIGSTOP);
    if let Some(terminal) = terminal.filter(|t| t.leash_in_foreground()) {
        terminal.hand_to(session.main());
    }
    signal_session(session, Signal::SIGCONT);
}

/// CPU time leash's thread has used so far.
fn own_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(Duration::ZERO, Duration::from)
}
