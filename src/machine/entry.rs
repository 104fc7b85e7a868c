//! A process entered through C's `main`, not Rust's: what of the Rust runtime's start-up
//! leash needs, done by hand.
//!
//! The runtime reads /proc/self/maps before `main` (glibc's pthread_getattr_np, to place
//! the main thread's stack guard) and sets an alternate signal stack: a program doing
//! nothing took 1.125 ms with Rust's `main` and 0.993 ms with `#![no_main]` (median of
//! 1000 runs in turns; /bin/true 0.800), and leash and its agent hook may be started for
//! every command an agent runs. A stack overflow is then a plain SIGSEGV, no message.

use std::io::Write;

/// Run `body` as the process, and return the status for C's `main` to return.
pub(crate) fn run(body: impl FnOnce() -> u8) -> i32 {
    keep_standard_descriptors_open();
    // As the Rust runtime does: a write to a closed pipe fails (EPIPE) instead of killing
    // the process. Whether the caller had ignored SIGPIPE was read before `main`.
    // SAFETY: signal(2) with SIG_IGN installs no handler; the process is single-threaded.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let status = body();
    // Rust's runtime flushes stdout at exit; the C library's exit does not know of it.
    let _ = std::io::stdout().flush();
    i32::from(status)
}

/// Open /dev/null on each of fds 0, 1 and 2 that is closed, as the Rust runtime does: else
/// the first file opened would become a command's stdin, stdout or stderr.
fn keep_standard_descriptors_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll(2) reads and writes the three structs of `fds`, alive across the call.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0;
    for pollfd in fds {
        let closed = if polled {
            pollfd.revents & libc::POLLNVAL != 0
        } else {
            // SAFETY: fcntl(2) F_GETFD only reads the descriptor's flags.
            let flags = unsafe { libc::fcntl(pollfd.fd, libc::F_GETFD) };
            flags == -1
        };
        // SAFETY: open(2) of a constant NUL-terminated path; the lowest free descriptor,
        // the closed one, is left open on purpose.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } == -1 {
            // As the Rust runtime does: without /dev/null nothing can run safely.
            std::process::abort();
        }
    }
}
