//! The output relay: with `--output` or `--idle`, leash sits between the session and its
//! own stdout and stderr, counts the bytes, notes when the last one came, and passes
//! everything through unchanged. A terminal stays a terminal (the session writes to a
//! pseudo-terminal of the real one's size); a pipe or file gets the same bytes in the same
//! order per stream. Without those flags there is no relay at all.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags};
use nix::pty::{Winsize, openpty};
use nix::sys::stat::fstat;
use nix::sys::termios::{OutputFlags, tcgetattr};
use nix::unistd::isatty;

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
pub fn stderr_mid_line() -> bool {
    STDERR_MID_LINE.load(Ordering::Relaxed)
}

/// What the child's stdout and stderr become.
#[derive(Debug)]
pub struct ChildOutput {
    /// The write end for fd 1.
    pub stdout: OwnedFd,
    /// The write end for fd 2 (the same terminal as stdout when both are one terminal).
    pub stderr: OwnedFd,
}

/// One relayed stream: the session's end leash reads, and leash's own fd it writes to.
#[derive(Debug)]
struct Stream {
    source: File,
    sink: Sink,
    /// `buffer[start..end]` was read but not yet written (the sink was full).
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    moves: Moves,
    /// splice could not write: the sink is full.
    sink_full: bool,
    /// Where the source was a pseudo-terminal, the terminal its size follows.
    terminal: Option<RawFd>,
    open: bool,
    /// leash's fd this stream goes to (on 2, whether its output ends a line is tracked).
    sink_fd: RawFd,
    /// For a spliced stream into a regular file, a pipe of leash's own between the two:
    /// splice holds the source pipe's lock while it moves, and moving into the page cache
    /// is a copy, during which the session could not write. Moving into the staging pipe
    /// only moves page references, so the session writes on while leash copies.
    staging: Option<Staging>,
}

/// The two ends of a staging pipe.
#[derive(Debug)]
struct Staging {
    read: File,
    write: File,
}

/// How a stream's data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moves {
    /// With splice(2), inside the kernel: the source is a pipe and leash need not see the
    /// bytes (not stderr, whose line ends it tracks). `busy`: the last move was large, so
    /// more is likely on its way.
    Spliced { busy: bool },
    /// Read into leash and written out (terminals, stderr, sinks that do not take splice).
    Copied,
}

/// leash's own stdout or stderr, written without blocking where that can be had without
/// touching the description leash shares with its parent (pipes and terminals); regular
/// files are written as they are (they do not block for long).
#[derive(Debug)]
struct Sink {
    file: File,
    /// A regular file: splicing into it copies into the page cache, which takes long.
    regular: bool,
}

/// The relay of the session's stdout and stderr.
#[derive(Debug)]
pub struct Relay {
    streams: Vec<Stream>,
    limit: Option<u64>,
    passed: u64,
    exceeded: bool,
    last_output: Instant,
}

impl Relay {
    /// Set up relays for fd 1 and fd 2; returns the ends the child must get.
    pub fn new(limit: Option<u64>) -> io::Result<(Relay, ChildOutput)> {
        let (out, stdout) = relayed(1)?;
        let mut streams = vec![out];
        let stderr = if is_terminal(1) && is_terminal(2) && same_file(1, 2) {
            // One terminal for both, as without leash: their output interleaves as written.
            // Its line ends are stderr's too.
            streams[0].sink_fd = 2;
            stdout.try_clone()?
        } else {
            let (err, end) = relayed(2)?;
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
    pub fn passed(&self) -> u64 {
        self.passed
    }

    /// Whether the session wrote more than `--output` allows (what was beyond it was
    /// not passed on).
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// When the session last wrote anything (or the relay started).
    pub fn last_output(&self) -> Instant {
        self.last_output
    }

    /// What to wait for: data from the session, or room in a sink with pending data.
    pub fn poll_fds(&self) -> Vec<PollFd<'_>> {
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
    pub fn has_terminal(&self) -> bool {
        self.streams.iter().any(|s| s.terminal.is_some())
    }

    /// Give every pseudo-terminal the real terminal's size now.
    pub fn sync_sizes(&self) {
        for stream in &self.streams {
            stream.sync_size();
        }
    }

    /// Move what can be moved now on the streams `ready` says `poll` found ready (in the
    /// order of [`Relay::poll_fds`]), without blocking.
    pub fn pump(&mut self, ready: &[bool]) {
        let open: Vec<usize> = (0..self.streams.len())
            .filter(|&i| self.streams[i].open)
            .collect();
        for (index, _) in open.into_iter().zip(ready).filter(|(_, ready)| **ready) {
            self.pump_stream(index, false);
        }
    }

    /// Move everything the session left (it has ended): read until nothing is left, and
    /// wait for the sinks to take it.
    pub fn drain(&mut self) {
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

impl Stream {
    fn new(source: OwnedFd, sink_fd: RawFd, terminal: Option<RawFd>) -> io::Result<Stream> {
        fcntl(&source, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        let is_pipe = terminal.is_none();
        if is_pipe {
            // Larger than the default 64 KiB: fewer wake-ups for a busy stream.
            grow_pipe(&source);
        }
        let sink = Sink::open(sink_fd)?;
        let staging = if is_pipe && sink_fd == 1 && sink.regular {
            Some(Staging::new()?)
        } else {
            None
        };
        Ok(Stream {
            source: File::from(source),
            sink,
            staging,
            buffer: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            moves: if is_pipe && sink_fd == 1 {
                Moves::Spliced { busy: false }
            } else {
                Moves::Copied
            },
            sink_full: false,
            terminal,
            open: true,
            sink_fd,
        })
    }

    /// Read what the session wrote into the (empty) buffer; `None` when nothing is there
    /// now or the stream ended.
    fn read(&mut self) -> Option<usize> {
        loop {
            match self.source.read(&mut self.buffer) {
                Ok(0) => break,
                Ok(n) => {
                    self.start = 0;
                    return Some(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                // A pseudo-terminal whose every slave is closed reads EIO: the end.
                Err(_) => break,
            }
        }
        self.open = false;
        None
    }

    /// Move up to `len` bytes from the source pipe to the sink inside the kernel; `None`
    /// when nothing can move now or the stream ended. With `wait`, wait for a full sink.
    fn splice(&mut self, len: usize, wait: bool) -> Option<usize> {
        self.sink_full = false;
        let via_staging = self.staging.is_some();
        loop {
            let target = self.staging.as_ref().map_or(&self.sink.file, |s| &s.write);
            let moved = nix::fcntl::splice(
                &self.source,
                None,
                target,
                None,
                len,
                nix::fcntl::SpliceFFlags::SPLICE_F_NONBLOCK
                    | nix::fcntl::SpliceFFlags::SPLICE_F_MOVE,
            );
            match moved {
                Ok(0) => {
                    self.open = false;
                    return None;
                }
                Ok(n) if via_staging => return Some(self.unstage(n)),
                Ok(n) => return Some(n),
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => {
                    // Either side may be the one that is not ready.
                    if bytes_waiting(&self.source) == 0 {
                        return None;
                    }
                    if !wait {
                        self.sink_full = true;
                        return None;
                    }
                    wait_writable(&self.sink.file);
                }
                // The sink does not take splice (some devices): copy through leash.
                Err(nix::errno::Errno::EINVAL) => {
                    self.moves = Moves::Copied;
                    return self.read();
                }
                Err(_) => {
                    self.sink_broke();
                    return None;
                }
            }
        }
    }

    /// Move the `staged` bytes in the staging pipe on to the sink (a regular file: it
    /// does not stay full); returns how many bytes moved. If the file does not take splice
    /// (which it says at the first one), they are read into the buffer to be written, and
    /// the stream is copied from now on.
    fn unstage(&mut self, staged: usize) -> usize {
        let Some(staging) = self.staging.as_ref() else {
            return staged;
        };
        let mut len = staged;
        while len > 0 {
            match nix::fcntl::splice(
                &staging.read,
                None,
                &self.sink.file,
                None,
                len,
                nix::fcntl::SpliceFFlags::SPLICE_F_MOVE,
            ) {
                Ok(0) => break,
                Ok(n) => len -= n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EINVAL) => {
                    let staging = self.staging.take().expect("staged");
                    self.moves = Moves::Copied;
                    let read = (&staging.read).read(&mut self.buffer[..len]).unwrap_or(0);
                    self.start = 0;
                    return read;
                }
                Err(_) => {
                    self.sink_broke();
                    break;
                }
            }
        }
        staged
    }

    /// The reader is gone (EPIPE) or the sink broke: as without leash, the session's next
    /// write must fail (SIGPIPE), so its end of the stream is closed now.
    fn sink_broke(&mut self) {
        self.open = false;
        if let Ok(nothing) = File::open("/dev/null") {
            drop(std::mem::replace(&mut self.source, nothing));
        }
    }

    /// Write what is pending; returns whether all of it was written. With `wait`, wait
    /// for a full sink to take it.
    fn flush(&mut self, wait: bool) -> bool {
        if self.sink_full {
            if !wait && !writable(&self.sink.file) {
                return false;
            }
            self.sink_full = false;
        }
        while self.start < self.end {
            match self.sink.file.write(&self.buffer[self.start..self.end]) {
                Ok(written) => {
                    self.start += written;
                    if self.sink_fd == 2 {
                        let last = self.buffer[self.start - 1];
                        STDERR_MID_LINE.store(last != b'\n', Ordering::Relaxed);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !wait {
                        return false;
                    }
                    wait_writable(&self.sink.file);
                }
                Err(_) => {
                    self.sink_broke();
                    return false;
                }
            }
        }
        (self.start, self.end) = (0, 0);
        true
    }

    /// Give the pseudo-terminal the real terminal's size, which may have changed.
    fn sync_size(&self) {
        if let Some(terminal) = self.terminal
            && let Ok(size) = rustix::termios::tcgetwinsize(standard(terminal))
        {
            let _ = rustix::termios::tcsetwinsize(&self.source, size);
        }
    }
}

impl Sink {
    /// leash's `fd` for relaying. Pipes and terminals are reopened (through /proc/self/fd)
    /// as a private description that may be non-blocking: O_NONBLOCK on the shared one
    /// would change it for leash's parent too. Regular files keep the shared one, whose
    /// offset the parent must see advance.
    fn open(fd: RawFd) -> io::Result<Sink> {
        let shared = standard(fd);
        let kind = fstat(&shared).map(|s| s.st_mode & nix::libc::S_IFMT);
        let private = matches!(kind, Ok(nix::libc::S_IFIFO | nix::libc::S_IFCHR))
            .then(|| {
                OpenOptions::new()
                    .write(true)
                    .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
                    .open(format!("/proc/self/fd/{fd}"))
                    .ok()
            })
            .flatten();
        let file = match private {
            Some(file) => file,
            None => File::from(shared.as_fd().try_clone_to_owned()?),
        };
        if kind == Ok(nix::libc::S_IFIFO) {
            // A larger pipe to leash's reader, too: the relay moves a chunk per call.
            grow_pipe(&file);
        }
        let regular = kind == Ok(nix::libc::S_IFREG);
        Ok(Sink { file, regular })
    }
}

impl Staging {
    fn new() -> io::Result<Staging> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        grow_pipe(&write);
        Ok(Staging {
            read: File::from(read),
            write: File::from(write),
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

fn standard(fd: RawFd) -> Standard {
    if fd == 1 {
        Standard::Out(io::stdout())
    } else {
        Standard::Err(io::stderr())
    }
}

/// The relay of leash's `fd`: a pseudo-terminal where `fd` is a terminal, else a pipe.
/// Returns the stream and the end the session writes to.
fn relayed(fd: RawFd) -> io::Result<(Stream, OwnedFd)> {
    if is_terminal(fd) {
        let (master, slave) = pseudo_terminal(fd)?;
        Ok((Stream::new(master, fd, Some(fd))?, slave))
    } else {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        Ok((Stream::new(read, fd, None)?, write))
    }
}

fn is_terminal(fd: RawFd) -> bool {
    isatty(standard(fd)).unwrap_or(false)
}

/// Whether fds `a` and `b` are the same file (one terminal on both).
fn same_file(a: RawFd, b: RawFd) -> bool {
    match (fstat(standard(a)), fstat(standard(b))) {
        (Ok(a), Ok(b)) => (a.st_dev, a.st_ino, a.st_rdev) == (b.st_dev, b.st_ino, b.st_rdev),
        _ => false,
    }
}

/// Ask for a pipe of `CHUNK` bytes (the most an unprivileged process may set by default);
/// a pipe that stays at its default size still works, only with more wake-ups.
fn grow_pipe(pipe: &impl AsFd) {
    let size = i32::try_from(CHUNK).unwrap_or(i32::MAX);
    let _ = fcntl(pipe, FcntlArg::F_SETPIPE_SZ(size));
}

/// Bytes waiting to be read in a pipe (1 if it cannot tell: assume there are some).
fn bytes_waiting(pipe: &File) -> u64 {
    rustix::io::ioctl_fionread(pipe).unwrap_or(1)
}

/// Whether `file` can be written to now.
fn writable(file: &File) -> bool {
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLOUT)];
    nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).unwrap_or(0) > 0
}

/// Wait until `file` can be written to.
fn wait_writable(file: &File) {
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLOUT)];
    let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE);
}

fn window_size(fd: RawFd) -> Option<Winsize> {
    let size = rustix::termios::tcgetwinsize(standard(fd)).ok()?;
    Some(Winsize {
        ws_row: size.ws_row,
        ws_col: size.ws_col,
        ws_xpixel: size.ws_xpixel,
        ws_ypixel: size.ws_ypixel,
    })
}

/// A pseudo-terminal like the real terminal on `fd`: its size and modes, but no output
/// processing (the real terminal does that, once). Returns (master, slave).
fn pseudo_terminal(fd: RawFd) -> io::Result<(OwnedFd, OwnedFd)> {
    let real = standard(fd);
    let mut modes = tcgetattr(real).ok();
    if let Some(modes) = modes.as_mut() {
        modes.output_flags.remove(OutputFlags::OPOST);
    }
    let pty = openpty(window_size(fd).as_ref(), modes.as_ref())?;
    for end in [&pty.master, &pty.slave] {
        fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((pty.master, pty.slave))
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
