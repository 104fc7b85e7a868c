//! One relayed stream's mechanics: moving bytes from the session's pipe or
//! pseudo-terminal to leash's own stdout or stderr, with splice(2) inside the kernel where
//! it can and a copy through leash where not, without ever blocking the supervisor.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::Ordering;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags};
use nix::sys::stat::fstat;

use super::{CHUNK, STDERR_MID_LINE, StdStream};

/// One relayed stream: the session's end leash reads, and leash's own fd it writes to.
#[derive(Debug)]
pub(super) struct Stream {
    pub(super) source: File,
    pub(super) sink: Sink,
    /// `buffer[start..end]` was read but not yet written (the sink was full).
    pub(super) buffer: Box<[u8]>,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) moves: Moves,
    /// splice could not write: the sink is full.
    pub(super) sink_full: bool,
    /// Where the source was a pseudo-terminal, the terminal its size follows.
    pub(super) terminal: Option<StdStream>,
    pub(super) open: bool,
    /// leash's stream this one goes to (on stderr, whether its output ends a line is
    /// tracked).
    pub(super) sink_to: StdStream,
    /// For a spliced stream into a regular file, a pipe of leash's own between the two:
    /// splice holds the source pipe's lock while it moves, and moving into the page cache
    /// is a copy, during which the session could not write. Moving into the staging pipe
    /// only moves page references, so the session writes on while leash copies.
    pub(super) staging: Option<Staging>,
}

/// The two ends of a staging pipe.
#[derive(Debug)]
pub(super) struct Staging {
    read: File,
    write: File,
}

/// How a stream's data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Moves {
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
pub(super) struct Sink {
    pub(super) file: File,
    /// A regular file: splicing into it copies into the page cache, which takes long.
    pub(super) regular: bool,
}

impl Stream {
    pub(super) fn new(
        source: OwnedFd,
        sink_to: StdStream,
        terminal: Option<StdStream>,
    ) -> io::Result<Stream> {
        fcntl(&source, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        let is_pipe = terminal.is_none();
        if is_pipe {
            // Larger than the default 64 KiB: fewer wake-ups for a busy stream.
            grow_pipe(&source);
        }
        let sink = Sink::open(sink_to)?;
        let staging = if is_pipe && sink_to == StdStream::Out && sink.regular {
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
            moves: if is_pipe && sink_to == StdStream::Out {
                Moves::Spliced { busy: false }
            } else {
                Moves::Copied
            },
            sink_full: false,
            terminal,
            open: true,
            sink_to,
        })
    }

    /// Read what the session wrote into the (empty) buffer; `None` when nothing is there
    /// now or the stream ended.
    pub(super) fn read(&mut self) -> Option<usize> {
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
    pub(super) fn splice(&mut self, len: usize, wait: bool) -> Option<usize> {
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
    pub(super) fn flush(&mut self, wait: bool) -> bool {
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
                    if self.sink_to == StdStream::Err {
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
    pub(super) fn sync_size(&self) {
        if let Some(terminal) = self.terminal
            && let Ok(size) = rustix::termios::tcgetwinsize(terminal.handle())
        {
            let _ = rustix::termios::tcsetwinsize(&self.source, size);
        }
    }
}

impl Sink {
    /// leash's `stream` for relaying. Pipes and terminals are reopened (through /proc/self/fd)
    /// as a private description that may be non-blocking: O_NONBLOCK on the shared one
    /// would change it for leash's parent too. Regular files keep the shared one, whose
    /// offset the parent must see advance.
    fn open(stream: StdStream) -> io::Result<Sink> {
        let shared = stream.handle();
        let kind = fstat(&shared).map(|s| s.st_mode & nix::libc::S_IFMT);
        let private = matches!(kind, Ok(nix::libc::S_IFIFO | nix::libc::S_IFCHR))
            .then(|| {
                OpenOptions::new()
                    .write(true)
                    .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
                    .open(format!("/proc/self/fd/{}", stream.fd()))
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

/// Ask for a pipe of `CHUNK` bytes (the most an unprivileged process may set by default);
/// a pipe that stays at its default size still works, only with more wake-ups.
pub(super) fn grow_pipe(pipe: &impl AsFd) {
    let size = i32::try_from(CHUNK).unwrap_or(i32::MAX);
    let _ = fcntl(pipe, FcntlArg::F_SETPIPE_SZ(size));
}

/// Bytes waiting to be read in a pipe (1 if it cannot tell: assume there are some).
pub(super) fn bytes_waiting(pipe: &File) -> u64 {
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
