//! The watch loop's decisions, driven by a scripted session: time, signals, samples and
//! output as a test says, no processes.

use std::collections::VecDeque;

use super::*;

/// The rules of a watch with `limits` and `warn_at`, nothing else.
fn rules(limits: &SessionLimits, warn_at: Option<f64>) -> Rules<'_> {
    Rules {
        limits,
        warn_at,
        baseline: None,
        forward_sigint: false,
    }
}

/// A session in a script: time moves only when the loop waits and no signal comes (by
/// the whole timeout, or a second without one); signals come in the order given, and
/// a SIGCHLD means the main process ended.
struct Script {
    now: Instant,
    signals: VecDeque<Vec<Signal>>,
    usage: Option<Usage>,
    output: Option<OutputState>,
    main_ended: bool,
    waits: Vec<Option<Duration>>,
    forwarded: Vec<Signal>,
    warned: Vec<String>,
}

impl Script {
    fn new(start: Instant) -> Script {
        Script {
            now: start,
            signals: VecDeque::new(),
            usage: None,
            output: None,
            main_ended: false,
            waits: Vec::new(),
            forwarded: Vec::new(),
            warned: Vec::new(),
        }
    }
}

impl Events for Script {
    fn now(&self) -> Instant {
        self.now
    }

    fn children_changed(&mut self) -> bool {
        self.main_ended
    }

    fn samples(&self) -> bool {
        self.usage.is_some()
    }

    fn sample(&mut self) -> Sample {
        Sample {
            usage: self.usage.unwrap_or_default(),
            cost: Duration::from_micros(50),
        }
    }

    fn output(&self) -> Option<OutputState> {
        self.output
    }

    fn pump_output(&mut self) {}

    fn wait(&mut self, timeout: Option<Duration>) -> Vec<Signal> {
        self.waits.push(timeout);
        assert!(self.waits.len() < 1000, "the loop never ended");
        let signals = self.signals.pop_front().unwrap_or_default();
        self.main_ended |= signals.contains(&Signal::SIGCHLD);
        if signals.is_empty() {
            self.now += timeout.unwrap_or(Duration::from_secs(1));
        }
        signals
    }

    fn forward(&mut self, signal: Signal) {
        self.forwarded.push(signal);
    }

    fn warn(&mut self, warning: &Warning) {
        self.warned.push(warning.message.clone());
    }
}

fn limits() -> SessionLimits {
    SessionLimits::default()
}

#[test]
fn the_wall_limit_ends_the_watch_at_its_deadline() {
    let start = Instant::now();
    let mut script = Script::new(start);
    let wall = Duration::from_secs(3);
    let limits = SessionLimits {
        wall: Some(wall),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(watched.ending, Ending::Limit(Breach::Wall(wall)));
    assert_eq!(script.waits, [Some(wall)]);
    assert_eq!(watched.after, wall);
}

#[test]
fn user_signals_are_forwarded_and_terminating_ones_end_the_watch() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.signals = VecDeque::from([vec![Signal::SIGUSR1], vec![Signal::SIGUSR2, Signal::SIGHUP]]);
    let watched = watch(&mut script, start, rules(&limits(), None));
    assert_eq!(watched.ending, Ending::Signaled(Signal::SIGHUP));
    assert_eq!(script.forwarded, [Signal::SIGUSR1, Signal::SIGUSR2]);
    // Nothing to wait for but signals.
    assert_eq!(script.waits, [None, None]);
}

#[test]
fn a_child_exit_is_looked_at_only_after_sigchld() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.signals = VecDeque::from([vec![], vec![Signal::SIGCHLD]]);
    let watched = watch(&mut script, start, rules(&limits(), None));
    assert_eq!(watched.ending, Ending::MainExited);
    assert_eq!(script.waits, [None, None]);
    assert_eq!(watched.after, Duration::from_secs(1));
}

#[test]
fn a_sample_over_a_limit_is_a_breach_and_sampling_starts_fast() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.usage = Some(Usage {
        memory: 300 << 20,
        ..Usage::default()
    });
    let limits = SessionLimits {
        memory: Some(256 << 20),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(
        watched.ending,
        Ending::Limit(Breach::Memory(256 << 20, 300 << 20))
    );
    assert_eq!(script.waits, [Some(FIRST_SAMPLE)]);
}

#[test]
fn an_oom_kill_at_the_main_process_end_is_a_memory_breach() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.main_ended = true;
    script.usage = Some(Usage {
        oom_kills: 1,
        ..Usage::default()
    });
    let limits = SessionLimits {
        memory: Some(64 << 20),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(watched.ending, Ending::Limit(Breach::MemoryOom(64 << 20)));
    script.usage = Some(Usage::default());
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(watched.ending, Ending::MainExited);
}

#[test]
fn processes_left_beyond_the_limit_at_the_main_process_end_are_a_breach() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.main_ended = true;
    script.usage = Some(Usage {
        tasks: 30,
        ..Usage::default()
    });
    let limits = SessionLimits {
        tasks: Some(20),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(watched.ending, Ending::Limit(Breach::Tasks(20, 30)));
}

#[test]
fn output_beyond_the_limit_is_a_breach_even_when_the_main_process_ended() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.main_ended = true;
    script.output = Some(OutputState {
        passed: 10,
        exceeded: true,
        last: start,
    });
    let limits = SessionLimits {
        output: Some(10),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(watched.ending, Ending::Limit(Breach::Output(10)));
}

#[test]
fn silence_past_the_idle_limit_ends_the_watch() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.output = Some(OutputState {
        passed: 10,
        exceeded: false,
        last: start + Duration::from_secs(1),
    });
    let idle = Duration::from_secs(2);
    let limits = SessionLimits {
        idle: Some(idle),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, None));
    assert_eq!(watched.ending, Ending::Limit(Breach::Idle(idle)));
    assert_eq!(script.waits, [Some(Duration::from_secs(3))]);
    script.output = Some(OutputState {
        exceeded: true,
        ..script.output.unwrap()
    });
    let limits = SessionLimits {
        output: Some(10),
        ..limits
    };
    assert_eq!(
        watch(&mut script, start, rules(&limits, None)).ending,
        Ending::Limit(Breach::Output(10))
    );
}

#[test]
fn warnings_are_given_once_and_kept_for_the_record() {
    let start = Instant::now();
    let mut script = Script::new(start);
    script.usage = Some(Usage {
        memory: 60,
        ..Usage::default()
    });
    script.signals = VecDeque::from([vec![], vec![], vec![], vec![Signal::SIGTERM]]);
    let limits = SessionLimits {
        memory: Some(100),
        ..limits()
    };
    let watched = watch(&mut script, start, rules(&limits, Some(0.5)));
    assert_eq!(watched.ending, Ending::Signaled(Signal::SIGTERM));
    assert_eq!(
        script.warned,
        ["warning: memory at 60% of its limit (60 B of 100 B)"]
    );
    assert_eq!(watched.warnings.len(), 1);
    assert_eq!(watched.warnings[0].message, script.warned[0]);
}
