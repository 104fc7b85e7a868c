//! The output relay: with `--output` or `--idle`, leash sits between the session and its
//! own stdout and stderr, counts the bytes, notes when the last one came, and passes
//! everything through unchanged. A terminal stays a terminal (the session writes to a
//! pseudo-terminal of the real one's size); a pipe or file gets the same bytes in the same
//! order per stream. Without those flags there is no relay at all.

//!
//! This module holds the policy (the byte limit, how long one stream may be moved before
//! supervision looks up again); `stream` the mechanics of moving bytes; `pty` the
//! pseudo-terminal.

mod pty;
mod stream;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags};

use stream::{Moves, Stream, bytes_waiting};

/// Bytes read from the session at a time, and the size leash asks for its pipes (the
/// most an unprivileged process may set by default): fewer, larger moves.
const CHUNK: usize = 1024 * 1024;
/// A busy stream (the last move was large) with little waiting gets this long to fill up
/// before it is moved: fewer, larger moves and wake-ups, which on a small machine is most
/// of what a relay costs. A trickle of output is moved at once.
const COALESCE: std::time::Duration = std::time::Duration::from_micros(300);
/// Chunks moved per stream before leash looks at its signals and deadlines again: a
/// flood must not starve supervision.
const CHUNKS_PER_TURN: usize = 4;

/// Whether the last byte relayed to leash's stderr ended a line: leash's own messages
/// start on a fresh line (see `report`).
static STDERR_MID_LINE: AtomicBool = AtomicBool::new(false);

/// Whether the session left leash's stderr in the middle of a line.
pub(crate) fn stderr_mid_line() -> bool {
    STDERR_MID_LINE.load(Ordering::Relaxed)
}

/// What the child's stdout and stderr become.
#[derive(Debug)]
pub(crate) struct ChildOutput {
    /// The write end for fd 1.
    pub(crate) stdout: OwnedFd,
    /// The write end for fd 2 (the same terminal as stdout when both are one terminal).
    pub(crate) stderr: OwnedFd,
}

/// One of leash's own output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StdStream {
    /// stdout, fd 1.
    Out,
    /// stderr, fd 2.
    Err,
}

impl StdStream {
    /// The descriptor number.
    pub(crate) fn fd(self) -> RawFd {
        match self {
            StdStream::Out => 1,
            StdStream::Err => 2,
        }
    }

    /// leash's handle of the stream.
    fn handle(self) -> Standard {
        match self {
            StdStream::Out => Standard::Out(io::stdout()),
            StdStream::Err => Standard::Err(io::stderr()),
        }
    }
}

/// The relay of the session's stdout and stderr.
#[derive(Debug)]
pub(crate) struct Relay {
    streams: Vec<Stream>,
    limit: Option<u64>,
    passed: u64,
    exceeded: bool,
    last_output: Instant,
}

impl Relay {
    /// Set up relays for fd 1 and fd 2; returns the ends the child must get.
    pub(crate) fn new(limit: Option<u64>) -> io::Result<(Relay, ChildOutput)> {
        let (out, stdout) = relayed(StdStream::Out)?;
        let mut streams = vec![out];
        let one_terminal = pty::is_terminal(StdStream::Out)
            && pty::is_terminal(StdStream::Err)
            && pty::stdout_is_stderr();
        let stderr = if one_terminal {
            // One terminal for both, as without leash: their output interleaves as written.
            // Its line ends are stderr's too.
            streams[0].sink_to = StdStream::Err;
            stdout.try_clone()?
        } else {
            let (err, end) = relayed(StdStream::Err)?;
            streams.push(err);
            end
        };
        let relay = Relay {
            streams,
            limit,
            passed: 0,
            exceeded: false,
            last_output: Instant::now(),
        };
        Ok((relay, ChildOutput { stdout, stderr }))
    }

    /// Bytes passed through so far.
    pub(crate) fn passed(&self) -> u64 {
        self.passed
    }

    /// Whether the session wrote more than `--output` allows (what was beyond it was
    /// not passed on).
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// When the session last wrote anything (or the relay started).
    pub(crate) fn last_output(&self) -> Instant {
        self.last_output
    }

    /// What to wait for: data from the session, or room in a sink with pending data.
    pub(crate) fn poll_fds(&self) -> Vec<PollFd<'_>> {
        self.streams
            .iter()
            .filter(|s| s.open)
            .map(|s| {
                if s.start < s.end || s.sink_full {
                    PollFd::new(s.sink.file.as_fd(), PollFlags::POLLOUT)
                } else {
                    PollFd::new(s.source.as_fd(), PollFlags::POLLIN)
                }
            })
            .collect()
    }

    /// Whether the session writes to a pseudo-terminal (whose size must follow the real
    /// terminal's).
    pub(crate) fn has_terminal(&self) -> bool {
        self.streams.iter().any(|s| s.terminal.is_some())
    }

    /// Give every pseudo-terminal the real terminal's size now.
    pub(crate) fn sync_sizes(&self) {
        for stream in &self.streams {
            stream.sync_size();
        }
    }

    /// Move what can be moved now on the streams `ready` says `poll` found ready (in the
    /// order of [`Relay::poll_fds`]), without blocking.
    pub(crate) fn pump(&mut self, ready: &[bool]) {
        let open: Vec<usize> = (0..self.streams.len())
            .filter(|&i| self.streams[i].open)
            .collect();
        for (index, _) in open.into_iter().zip(ready).filter(|(_, ready)| **ready) {
            self.pump_stream(index, false);
        }
    }

    /// Move what can be moved now on every stream, without waiting for anything.
    pub(crate) fn pump_available(&mut self) {
        for index in 0..self.streams.len() {
            self.pump_stream(index, false);
        }
    }

    /// Move everything the session left (it has ended): read until nothing is left, and
    /// wait for the sinks to take it.
    pub(crate) fn drain(&mut self) {
        for index in 0..self.streams.len() {
            self.pump_stream(index, true);
        }
    }

    fn pump_stream(&mut self, index: usize, to_the_end: bool) {
        let turns = if to_the_end {
            usize::MAX
        } else {
            CHUNKS_PER_TURN
        };
        for _ in 0..turns {
            let stream = &mut self.streams[index];
            if !stream.open || !stream.flush(to_the_end) {
                return;
            }
            let left = self.left();
            let stream = &mut self.streams[index];
            let moved = match stream.moves {
                Moves::Spliced { busy } if left > 0 => {
                    if busy && !to_the_end && bytes_waiting(&stream.source) < CHUNK as u64 / 4 {
                        std::thread::sleep(COALESCE);
                    }
                    stream.splice(left.min(CHUNK), to_the_end)
                }
                _ => stream.read(),
            };
            let Some(moved) = moved else {
                return;
            };
            self.last_output = Instant::now();
            let stream = &mut self.streams[index];
            if let Moves::Spliced { busy } = &mut stream.moves
                && left > 0
            {
                *busy = moved >= CHUNK / 4;
                self.passed += moved as u64;
            } else {
                // Read into the buffer: pass on what the limit allows, drop the rest.
                let allowed = moved.min(left);
                stream.end = stream.start + allowed;
                self.exceeded |= moved > allowed;
                self.passed += allowed as u64;
            }
        }
    }

    /// Bytes `--output` still allows.
    fn left(&self) -> usize {
        self.limit.map_or(usize::MAX, |limit| {
            usize::try_from(limit.saturating_sub(self.passed)).unwrap_or(usize::MAX)
        })
    }
}

/// leash's own stdout (1) or stderr (2).
enum Standard {
    Out(io::Stdout),
    Err(io::Stderr),
}

impl AsFd for Standard {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Standard::Out(out) => out.as_fd(),
            Standard::Err(err) => err.as_fd(),
        }
    }
}

/// The relay of leash's `stream`: a pseudo-terminal where it is a terminal, else a pipe.
/// Returns the relayed stream and the end the session writes to.
fn relayed(stream: StdStream) -> io::Result<(Stream, OwnedFd)> {
    if pty::is_terminal(stream) {
        let (master, slave) = pty::pseudo_terminal(stream)?;
        Ok((Stream::new(master, stream, Some(stream))?, slave))
    } else {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        Ok((Stream::new(read, stream, None)?, write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_leaves_what_is_left() {
        let mut relay = Relay {
            streams: Vec::new(),
            limit: Some(100),
            passed: 90,
            exceeded: false,
            last_output: Instant::now(),
        };
        assert_eq!(relay.left(), 10);
        relay.passed = 100;
        assert_eq!(relay.left(), 0);
        relay.limit = None;
        assert_eq!(relay.left(), usize::MAX);
    }
}
