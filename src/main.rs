//! The `leash` command: parse, run, exit as the session did.
//!
//! C's `main`, not Rust's: the Rust runtime's start-up reads /proc/self/maps (to place the
//! main thread's stack guard) and sets up an alternate signal stack, about a tenth of a
//! millisecond of every start (measured against the same program with Rust's `main`), and
//! leash may be started for every command an agent runs. What of that start-up leash
//! needs is done here.
#![no_main]

use std::ffi::{c_char, c_int};
use std::io::Write;

/// The program's entry, called by the C library with the arguments `std::env` also reads.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    keep_standard_descriptors_open();
    // As the Rust runtime does: a write to a closed pipe fails (EPIPE) instead of killing
    // leash. Whether the caller had ignored SIGPIPE was read before `main`.
    // SAFETY: signal(2) with SIG_IGN installs no handler; nothing else runs yet.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let status = leash::run(std::env::args_os());
    // Rust's runtime flushes stdout at exit; the C library's exit does not know of it.
    let _ = std::io::stdout().flush();
    c_int::from(status)
}

/// Open /dev/null on each of fds 0, 1 and 2 that is closed, as the Rust runtime does: else
/// the first file leash opens would become the command's stdin, stdout or stderr.
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
            // As the Rust runtime does: without /dev/null leash cannot run safely.
            std::process::abort();
        }
    }
}
