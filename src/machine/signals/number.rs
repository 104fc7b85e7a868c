//! A signal by its number, real-time ones included (`RTMIN+3`, `34`): what `--signal`
//! takes and the stop sequence sends. nix's `Signal` has no real-time signals; the rest
//! of leash, which handles only standard ones, keeps using it.

use std::fmt;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::machine::error::Invalid;

/// Any signal the kernel has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SignalNumber(i32);

impl From<Signal> for SignalNumber {
    fn from(signal: Signal) -> Self {
        SignalNumber(signal as i32)
    }
}

/// The real-time signals' range, as the C library leaves it to programs.
fn rt_range() -> (i32, i32) {
    (libc::SIGRTMIN(), libc::SIGRTMAX())
}

impl SignalNumber {
    /// No signal at all (`0`, `EXIT`): sending it only checks that the process exists, as
    /// `kill -0` does; the stop sequence then waits out its grace before SIGKILL.
    pub(crate) const NONE: SignalNumber = SignalNumber(0);

    /// Parse `TERM`, `SIGTERM`, `term`, `15`, `RTMIN`, `RTMIN+3`, `SIGRTMAX-1`, `34`, or
    /// `0` and `EXIT` (no signal).
    pub(crate) fn parse(text: &str) -> Result<SignalNumber, Invalid> {
        let text = text.trim();
        let (min, max) = rt_range();
        if let Ok(number) = text.parse::<i32>() {
            return match Signal::try_from(number) {
                _ if number == 0 => Ok(SignalNumber::NONE),
                Ok(signal) => Ok(signal.into()),
                Err(_) if (min..=max).contains(&number) => Ok(SignalNumber(number)),
                Err(_) => Err(Invalid(format!("{number} is not a signal number"))),
            };
        }
        let upper = text.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        // The old names GNU's `kill` and `timeout` still take.
        let bare = match bare {
            "CLD" => "CHLD",
            "IOT" => "ABRT",
            "POLL" => "IO",
            other => other,
        };
        if let Some(number) = realtime(bare, min, max) {
            return Ok(SignalNumber(number));
        }
        if bare == "EXIT" {
            return Ok(SignalNumber::NONE);
        }
        format!("SIG{bare}")
            .parse::<Signal>()
            .map(SignalNumber::from)
            .map_err(|_| {
                Invalid(format!(
                    "'{text}' is not a signal name (e.g. TERM, INT, KILL, 9, RTMIN+1)"
                ))
            })
    }

    /// The signal numbered `number` (one the kernel delivered).
    pub(crate) fn from_number(number: i32) -> SignalNumber {
        SignalNumber(number)
    }

    /// The signal's number.
    pub(crate) fn number(self) -> i32 {
        self.0
    }

    /// The standard signal, if it is one.
    pub(crate) fn standard(self) -> Option<Signal> {
        Signal::try_from(self.0).ok()
    }

    /// Send it to `pid`.
    pub(crate) fn send(self, pid: Pid) -> nix::Result<()> {
        // SAFETY: kill(2) with a number the kernel validates; no memory is involved.
        Errno::result(unsafe { libc::kill(pid.as_raw(), self.0) }).map(drop)
    }

    /// Raise it in leash under its default action (unblocked): the default is needed for
    /// SIGPIPE, which the Rust runtime ignores, and for any signal leash inherited as
    /// ignored.
    pub(crate) fn raise_with_default_action(self) {
        // SAFETY: restoring the default disposition installs no handler code; raise(3) and
        // sigprocmask(2) act on leash's own thread with a local set.
        unsafe {
            libc::signal(self.0, libc::SIG_DFL);
            libc::raise(self.0);
            let mut only: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut only);
            libc::sigaddset(&raw mut only, self.0);
            libc::sigprocmask(libc::SIG_UNBLOCK, &raw const only, std::ptr::null_mut());
        }
    }

    /// Send it to the process group `group`.
    pub(crate) fn send_to_group(self, group: Pid) -> nix::Result<()> {
        // SAFETY: killpg(3) with a number the kernel validates; no memory is involved.
        Errno::result(unsafe { libc::killpg(group.as_raw(), self.0) }).map(drop)
    }
}

/// `RTMIN`, `RTMIN+N`, `RTMAX`, `RTMAX-N` within `min..=max`.
fn realtime(name: &str, min: i32, max: i32) -> Option<i32> {
    let offset = |rest: &str, sign: char| -> Option<i32> {
        match rest.strip_prefix(sign) {
            None if rest.is_empty() => Some(0),
            Some(n) => n.parse::<i32>().ok(),
            None => None,
        }
    };
    let number = if let Some(rest) = name.strip_prefix("RTMIN") {
        min + offset(rest, '+')?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        max - offset(rest, '-')?
    } else {
        return None;
    };
    (min..=max).contains(&number).then_some(number)
}

impl fmt::Display for SignalNumber {
    /// The name without `SIG`, as users write it and as the C library's sig2str names it:
    /// `TERM`, `RTMIN`, `RTMIN+3`, `RTMAX-1` (the upper half counts down from RTMAX).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (min, max) = rt_range();
        let (base, offset) = if self.0 - min <= (max - min) / 2 {
            ("RTMIN", self.0 - min)
        } else {
            ("RTMAX", self.0 - max)
        };
        match self.standard() {
            Some(signal) => f.write_str(&signal.as_str()[3..]),
            None if self.0 == 0 => f.write_str("0"),
            None if offset == 0 => f.write_str(base),
            None => write!(f, "{base}{offset:+}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_prefix_case_and_number() {
        let parse = |text| SignalNumber::parse(text).map(|s| s.to_string());
        for (text, name) in [
            ("TERM", "TERM"),
            ("SIGTERM", "TERM"),
            ("kill", "KILL"),
            ("CLD", "CHLD"),
            ("SIGIOT", "ABRT"),
            ("poll", "IO"),
            ("sigint", "INT"),
            ("9", "KILL"),
            ("15", "TERM"),
            ("RTMIN", "RTMIN"),
            ("RTMAX", "RTMAX"),
            ("RTMAX-1", "RTMAX-1"),
            ("SIGRTMIN+2", "RTMIN+2"),
            ("0", "0"),
            ("EXIT", "0"),
        ] {
            assert_eq!(parse(text), Ok(name.to_string()), "{text}");
        }
        let (min, max) = rt_range();
        assert_eq!(
            SignalNumber::parse(&min.to_string()),
            SignalNumber::parse("RTMIN")
        );
        assert_eq!(SignalNumber::parse("rtmax-1"), Ok(SignalNumber(max - 1)));
    }

    #[test]
    fn unknown_signals_are_refused() {
        for bad in [
            "",
            "99",
            "-1",
            "TERMINATE",
            "SIG",
            "1.5",
            "RTMIN+99",
            "RTMAX-99",
            "RTMIN-1",
        ] {
            assert!(SignalNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
