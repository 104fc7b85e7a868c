//! Concurrency slots and start rates across the machine: `--slots KEY:N` (at most N
//! sessions with that key at once) and `--rate KEY:N/PERIOD` (at most N starts per
//! period), from advisory file locks in a runtime directory. A slot is held by an open
//! file description, so a leash that dies for any reason frees it. Only a slot or a start
//! that is not to be had now is exit 75 ("try later"); a runtime directory or lock file
//! that cannot be used is 125.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};

use crate::machine::error::{Error, Invalid, NoSlot, SetupError};
use crate::machine::runtime_dir::{private_dir, runtime_dir};
use crate::machine::units::parse_positive_duration;

/// How often a waiting leash looks for a free slot.
const RETRY: Duration = Duration::from_millis(20);

/// What a session shares with others: `--slots`, `--rate`, and how to wait for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Concurrency {
    /// `--slots`.
    pub(crate) slots: Option<Slots>,
    /// `--rate`.
    pub(crate) rate: Option<Rate>,
    /// Wait for a slot or a start (else fail at once: `--no-wait`).
    pub(crate) wait: bool,
    /// How long to wait (`--slot-timeout`).
    pub(crate) timeout: Option<Duration>,
}

impl Concurrency {
    /// Take the slot and the start the session needs; the slot is held until the
    /// returned value is dropped.
    pub(crate) fn admit(&self) -> Result<Option<Held>, Error> {
        if self.wait && (self.slots.is_some() || self.rate.is_some()) {
            // A signal that would end leash while it waits ends the wait instead, so that
            // the record is still written.
            crate::machine::signals::block_ending();
        }
        let held = self
            .slots
            .as_ref()
            .map(|slots| take_slot(slots, self.wait, self.timeout))
            .transpose()?;
        if let Some(rate) = &self.rate {
            take_start(rate, self.wait, self.timeout)?;
        }
        Ok(held)
    }
}

/// `--slots KEY:N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slots {
    /// Sessions sharing the key share the slots.
    pub(crate) key: String,
    /// Sessions at once.
    pub(crate) count: u32,
}

/// `--rate KEY:N/PERIOD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    /// Sessions sharing the key share the rate.
    pub(crate) key: String,
    /// Starts per period.
    pub(crate) count: u32,
    /// The period.
    pub(crate) period: Duration,
}

/// Parse `KEY:N`.
pub(crate) fn parse_slots(text: &str) -> Result<Slots, Invalid> {
    let (key, count) = text
        .rsplit_once(':')
        .ok_or_else(|| Invalid(format!("'{text}' is not KEY:N")))?;
    Ok(Slots {
        key: key_of(key)?,
        count: positive(count, text)?,
    })
}

/// Parse `KEY:N/PERIOD`, e.g. `api:10/1m`.
pub(crate) fn parse_rate(text: &str) -> Result<Rate, Invalid> {
    let (key, rest) = text
        .rsplit_once(':')
        .ok_or_else(|| Invalid(format!("'{text}' is not KEY:N/PERIOD")))?;
    let (count, period) = rest
        .split_once('/')
        .ok_or_else(|| Invalid(format!("'{text}' is not KEY:N/PERIOD")))?;
    Ok(Rate {
        key: key_of(key)?,
        count: positive(count, text)?,
        period: parse_positive_duration(period)?,
    })
}

/// The longest key: it names files, whose names have at most 255 bytes.
const LONGEST_KEY: usize = 200;

fn key_of(key: &str) -> Result<String, Invalid> {
    if key.len() > LONGEST_KEY {
        return Err(Invalid(format!(
            "the key is {} characters long; at most {LONGEST_KEY}",
            key.len()
        )));
    }
    let fine = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !key.starts_with('.');
    if fine {
        Ok(key.to_string())
    } else {
        Err(Invalid(format!(
            "'{key}' is not a key (letters, digits, -, _ and .)"
        )))
    }
}

fn positive(count: &str, text: &str) -> Result<u32, Invalid> {
    count
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Invalid(format!("'{text}': the count must be a positive number")))
}

/// A slot held for the session (released when leash ends).
#[derive(Debug)]
pub(crate) struct Held(#[allow(dead_code)] Flock<File>);

/// Take one of the key's slots, waiting (up to `timeout`) unless `wait` is false.
pub(crate) fn take_slot(
    slots: &Slots,
    wait: bool,
    timeout: Option<Duration>,
) -> Result<Held, Error> {
    let dir = runtime_dir().join("slots");
    private_dir(&dir, "--slots")?;
    let files: Vec<PathBuf> = (0..slots.count)
        .map(|n| dir.join(format!("{}.{n}", slots.key)))
        .collect();
    let started = Instant::now();
    loop {
        for path in &files {
            let file = private_file(OpenOptions::new().write(true), path)
                .map_err(|e| SetupError::runtime("--slots", path, &e))?;
            if let Ok(held) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                return Ok(Held(held));
            }
        }
        give_up_or_wait(wait, timeout, started, || {
            format!(
                "--slots: all {} slots of '{}' are taken",
                slots.count, slots.key
            )
        })?;
    }
}

/// Record a start under the key's rate, waiting (up to `timeout`) for the period to make
/// room unless `wait` is false.
pub(crate) fn take_start(rate: &Rate, wait: bool, timeout: Option<Duration>) -> Result<(), Error> {
    let dir = runtime_dir().join("rates");
    private_dir(&dir, "--rate")?;
    let path = dir.join(&rate.key);
    let started = Instant::now();
    loop {
        let file = private_file(OpenOptions::new().read(true).write(true), &path)
            .map_err(|e| SetupError::runtime("--rate", &path, &e))?;
        let mut locked = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| SetupError::runtime("--rate", &path, &e))?;
        let now = unix_now();
        let mut text = String::new();
        let _ = locked.read_to_string(&mut text);
        let mut starts: Vec<f64> = text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .filter(|t| now - t < rate.period.as_secs_f64())
            .collect();
        if starts.len() < rate.count as usize {
            starts.push(now);
            let lines = starts.iter().fold(String::new(), |mut text, t| {
                let _ = writeln!(text, "{t:.6}");
                text
            });
            locked
                .set_len(0)
                .and_then(|()| locked.rewind())
                .and_then(|()| locked.write_all(lines.as_bytes()))
                .map_err(|e| SetupError::runtime("--rate", &path, &e))?;
            return Ok(());
        }
        drop(locked);
        give_up_or_wait(wait, timeout, started, || {
            format!(
                "--rate: '{}' already started {} sessions in the last {}",
                rate.key,
                rate.count,
                crate::machine::units::format_duration(rate.period)
            )
        })?;
    }
}

/// Open (or make, 0600) a lock file: never through a symlink, and readable by no one else
/// (a read-only open is enough to hold an flock).
fn private_file(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = options
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)?;
    // Made 0644 by an older leash: close it (it is ours, in our own directory).
    let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
    Ok(file)
}

fn give_up_or_wait(
    wait: bool,
    timeout: Option<Duration>,
    started: Instant,
    why: impl Fn() -> String,
) -> Result<(), Error> {
    if !wait {
        return Err(Error::NoSlot(NoSlot {
            why: why(),
            gave_up: false,
        }));
    }
    if timeout.is_some_and(|limit| started.elapsed() >= limit) {
        return Err(Error::NoSlot(NoSlot {
            why: why(),
            gave_up: true,
        }));
    }
    match crate::machine::signals::wait_for_ending(&crate::machine::signals::block_ending(), RETRY)
    {
        Some(signal) => Err(Error::Interrupted(signal)),
        None => Ok(()),
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_counts_and_periods_are_parsed() {
        assert_eq!(
            parse_slots("gpu:2"),
            Ok(Slots {
                key: "gpu".into(),
                count: 2
            })
        );
        assert_eq!(
            parse_rate("api:10/1m"),
            Ok(Rate {
                key: "api".into(),
                count: 10,
                period: Duration::from_secs(60)
            })
        );
        assert!(parse_slots("gpu:0").is_err());
        assert!(parse_slots("../etc:2").is_err());
        assert!(parse_rate("api:10").is_err());
    }
}
