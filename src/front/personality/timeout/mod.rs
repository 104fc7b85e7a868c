//! The `timeout` personality: leash invoked as `timeout` reads GNU `timeout`'s command
//! line and keeps its behaviour (signals, waits, messages, exit statuses), with leash's
//! process tree underneath: what the command leaves behind is stopped too.

mod duration;
pub(crate) mod texts;

use std::ffi::OsString;
use std::time::Duration;

use duration::Interval;
use nix::sys::signal::Signal;

use super::getopt::{self, Opt, Takes};
use crate::machine::cgroup::Mode;
use crate::machine::exit::{Exit, LEASH_FAILED};
use crate::machine::signals::caller::{ChildSignals, ignored_at_start};
use crate::machine::signals::number::SignalNumber;
use crate::machine::signals::{ENDING, FORWARDED, Handled, TERMINATING};
use crate::session::as_timeout::TimeoutRules;
use crate::session::message::{Verbosity, say};
use crate::session::spec::Spec;

/// `timeout`'s options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeoutKey {
    Foreground,
    KillAfter,
    PreserveStatus,
    Signal,
    Verbose,
    Help,
    Version,
}

const OPTIONS: [Opt<TimeoutKey>; 7] = [
    Opt {
        short: Some('f'),
        long: "foreground",
        takes: Takes::Nothing,
        key: TimeoutKey::Foreground,
    },
    Opt {
        short: Some('k'),
        long: "kill-after",
        takes: Takes::Value,
        key: TimeoutKey::KillAfter,
    },
    Opt {
        short: Some('p'),
        long: "preserve-status",
        takes: Takes::Nothing,
        key: TimeoutKey::PreserveStatus,
    },
    Opt {
        short: Some('s'),
        long: "signal",
        takes: Takes::Value,
        key: TimeoutKey::Signal,
    },
    Opt {
        short: Some('v'),
        long: "verbose",
        takes: Takes::Nothing,
        key: TimeoutKey::Verbose,
    },
    Opt {
        short: None,
        long: "help",
        takes: Takes::Nothing,
        key: TimeoutKey::Help,
    },
    Opt {
        short: None,
        long: "version",
        takes: Takes::Nothing,
        key: TimeoutKey::Version,
    },
];

/// What the command line asks for.
enum TimeoutLine {
    Run(TimeoutRules, Vec<OsString>),
    Help,
    Version,
}

/// Run as `timeout`: `args` without the program name.
pub(crate) fn run(args: &[OsString]) -> Exit {
    crate::session::message::speak_as("timeout");
    match read(args) {
        Ok(TimeoutLine::Help) => print_or_fail(texts::HELP),
        Ok(TimeoutLine::Version) => print_or_fail(&texts::version()),
        Ok(TimeoutLine::Run(rules, command)) => {
            let settings = settings(&rules, command);
            crate::session::as_timeout::run(&settings, &rules)
        }
        Err(TimeoutRefusal(line)) => {
            if let Some(line) = line {
                say(&line);
            }
            say_try_help();
            Exit::Code(LEASH_FAILED)
        }
    }
}

/// A command line `timeout` refuses: what it says first, if anything, before "Try ...".
struct TimeoutRefusal(Option<String>);

fn read(args: &[OsString]) -> Result<TimeoutLine, TimeoutRefusal> {
    let parsed = getopt::parse(args, &OPTIONS).map_err(|e| TimeoutRefusal(Some(e.to_string())))?;
    let mut rules = TimeoutRules::default();
    for (key, value) in parsed.options {
        let value = value.unwrap_or_default();
        match key {
            TimeoutKey::Foreground => rules.foreground = true,
            TimeoutKey::KillAfter => rules.kill_after = after(&value)?,
            TimeoutKey::PreserveStatus => rules.preserve_status = true,
            TimeoutKey::Signal => {
                rules.signal = signal(&value)
                    .ok_or_else(|| TimeoutRefusal(Some(format!("'{value}': invalid signal"))))?;
            }
            TimeoutKey::Verbose => rules.verbose = true,
            TimeoutKey::Help => return Ok(TimeoutLine::Help),
            TimeoutKey::Version => return Ok(TimeoutLine::Version),
        }
    }
    let [duration, command @ ..] = parsed.operands.as_slice() else {
        return Err(TimeoutRefusal(None));
    };
    if command.is_empty() {
        return Err(TimeoutRefusal(None));
    }
    rules.after = after(&duration.to_string_lossy())?;
    rules.command_name = command[0].to_string_lossy().into_owned();
    Ok(TimeoutLine::Run(rules, command.to_vec()))
}

/// A `-s` value as GNU reads it: a name (any case, with or without SIG), or a number,
/// which may also be a shell's status for a signal (`143`: TERM; ksh's `271` too).
fn signal(text: &str) -> Option<SignalNumber> {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        let number = text.parse::<i32>().ok()?;
        let number = number & if number >= 0xFF { 0xFF } else { 0x7F };
        return SignalNumber::parse(&number.to_string()).ok();
    }
    if text.is_empty() || text.trim() != text || text.starts_with(['+', '-']) {
        return None;
    }
    SignalNumber::parse(text).ok()
}

/// A DURATION operand or `-k` value.
fn after(text: &str) -> Result<Option<Duration>, TimeoutRefusal> {
    match duration::parse(text) {
        Ok(Interval::Never) => Ok(None),
        Ok(Interval::After(duration)) => Ok(Some(duration)),
        Err(_) => Err(TimeoutRefusal(Some(format!(
            "invalid time interval '{text}'"
        )))),
    }
}

/// leash's settings for the session `rules` describe: no cgroup (the wall limit needs
/// none, and `timeout` starts in about a millisecond), quiet but for errors, no record,
/// and the caller's signal state kept as GNU `timeout` keeps it.
fn settings(rules: &TimeoutRules, command: Vec<OsString>) -> Spec {
    let mut settings = Spec::plain(command);
    // The command may do what it may under GNU timeout: signal its parent, gain privileges
    // (sudo), use any system call, keep its OOM score (a database run under timeout must
    // not become the OOM killer's first pick). Containing it is leash's own business.
    settings.isolated = false;
    settings.listed = false;
    settings.confinement.allow_new_privs = true;
    settings.confinement.keep = crate::session::confinement::Kept {
        all_fds: true,
        oom_score: true,
    };
    settings.cgroup = Mode::Off;
    settings.verbosity = Verbosity::Quiet;
    // What the command leaves behind gets the same signal, then SIGKILL after -k or
    // leash's grace.
    settings.signal = if rules.signal == SignalNumber::NONE {
        Signal::SIGTERM.into()
    } else {
        rules.signal
    };
    settings.kill_after = rules.kill_after.unwrap_or(Duration::from_secs(2));
    let timeout_signal = rules.signal.number();
    // `timeout` cannot leave these alone whatever the caller did: its timer and its signal.
    let taken = [
        libc::SIGALRM,
        timeout_signal,
        libc::SIGCHLD,
        libc::SIGTTIN,
        libc::SIGTTOU,
    ];
    // GNU's terminating signals are leash's, and SIGPIPE and the real-time ones too; those
    // the caller ignored stay ignored, but for the ones `timeout` must take.
    let beyond_leash: Vec<i32> = std::iter::once(libc::SIGPIPE)
        .chain(libc::SIGRTMIN()..=libc::SIGRTMAX())
        .collect();
    let forwarded = TERMINATING
        .iter()
        .chain(&ENDING)
        .chain(&FORWARDED)
        .map(|signal| *signal as i32)
        .chain(beyond_leash.iter().copied());
    settings.handled = Handled {
        except: forwarded
            .filter(|signal| ignored_at_start(*signal) && !taken.contains(signal))
            .collect(),
        also: beyond_leash,
    };
    settings.child_signals = ChildSignals::inherited(&taken, timeout_signal, rules.foreground);
    settings
}

/// GNU's second line for a refused command line, without the program's name before it.
fn say_try_help() {
    use std::io::Write;
    let _ = std::io::stderr().write_all(b"Try 'timeout --help' for more information.\n");
}

fn print_or_fail(text: &str) -> Exit {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => Exit::Code(0),
        Err(_) => Exit::Code(LEASH_FAILED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_command_line_is_the_one_read() {
        getopt::assert_documented(&OPTIONS, &texts::documented());
    }

    #[test]
    fn signals_read_as_gnu_reads_them() {
        let read = |text| signal(text).map(|s| s.to_string());
        assert_eq!(read("TERM").as_deref(), Some("TERM"));
        assert_eq!(read("sigint").as_deref(), Some("INT"));
        assert_eq!(read("0").as_deref(), Some("0"));
        assert_eq!(read("EXIT").as_deref(), Some("0"));
        // A shell's status for a death by TERM, and ksh's.
        assert_eq!(read("143").as_deref(), Some("TERM"));
        assert_eq!(read("271").as_deref(), Some("TERM"));
        for bad in ["", " TERM", "+15", "-15", "99", "FOO", "1.5"] {
            assert_eq!(signal(bad), None, "{bad:?}");
        }
    }
}
