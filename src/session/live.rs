//! The running session (`start::Running`) as the watch loop's event source: reaping and
//! job control, sampling with what it costs, the relay's state, waiting, forwarding and
//! warning.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::processes::Processes;
use super::start::Running;
use super::stop::signal_session;
use super::watch::{Events, OutputState, Sample};
use crate::machine::cgroup::SessionCgroup;
use crate::machine::terminal::Terminal;
use crate::session::message::notice;
use crate::session::registry::Figures;
use crate::session::relay::Relay;
use crate::session::warning::Warning;

impl Events for Running {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn children_changed(&mut self) -> bool {
        let session = &mut self.processes;
        if session.main_stopped().is_some() {
            suspend(session, self.terminal.as_ref());
        }
        !session.reap() || session.main_status().is_some()
    }

    fn samples(&self) -> bool {
        self.sampler.is_some()
    }

    fn sample(&mut self) -> Sample {
        let Some(sampler) = self.sampler.as_mut() else {
            return Sample::default();
        };
        let cpu_before = own_cpu();
        if let Some(gate) = self.processes.fork_gate() {
            gate.before_count();
        }
        let mut usage = sampler.sample(self.processes.cgroup().map(SessionCgroup::read));
        if let Some(gate) = self.processes.fork_gate() {
            gate.counted(usage.tasks);
            usage.refused_forks += gate.refused();
        }
        // What sampling costs sizes its cadence; publishing (once a second) is not part
        // of it, or a write to the registry would stretch the sampling.
        let cost = own_cpu().saturating_sub(cpu_before);
        if let Some(shared) = self.shared_nproc.as_mut() {
            shared.check(usage.tasks, Instant::now());
        }
        if let Some(registry) = self.registry.as_mut() {
            let peak = sampler.peak();
            let wanted = sampler.wanted();
            registry.publish_figures(&Figures {
                peak_memory_bytes: wanted.memory.then_some(peak.memory),
                peak_tasks: wanted.tasks.then_some(peak.tasks),
                written_bytes: wanted.written.then_some(usage.written),
                output_bytes: self.processes.relay().map(Relay::passed),
            });
        }
        Sample { usage, cost }
    }

    fn output(&self) -> Option<OutputState> {
        self.processes.relay().map(|relay: &Relay| OutputState {
            passed: relay.passed(),
            exceeded: relay.exceeded(),
            last: relay.last_output(),
        })
    }

    fn pump_output(&mut self) {
        self.processes.pump_output();
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Vec<Signal> {
        self.processes.relay_until_signal(timeout)
    }

    fn refused_a_task(&mut self) -> bool {
        self.processes.newly_refused()
    }

    fn forward(&mut self, signal: Signal) {
        signal_session(&self.processes, signal);
    }

    fn warn(&mut self, warning: &Warning) {
        notice(self.verbosity, &warning.message);
    }
}

/// The main process was stopped by job control (Ctrl-Z): stop the whole session, give the
/// terminal back, and stop leash itself, so the shell sees its job stopped. When the
/// shell continues leash (`fg`, `bg`), hand the terminal over again (if leash was in the
/// foreground) and continue the session. The limits' clocks keep running meanwhile.
pub(super) fn suspend(session: &Processes, terminal: Option<&Terminal>) {
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
