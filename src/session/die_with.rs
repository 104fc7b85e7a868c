//! `--die-with PID`: the session ends when process PID does, however far up it is (an agent
//! that runs commands through a shell or a sandbox helper is no parent of leash's). A thread
//! waits on the process's pidfd and then sends leash the SIGTERM that `--die-with-parent`'s
//! parent-death signal would: the session stops as it does on SIGTERM.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;

use crate::machine::error::{Error, SetupError};

/// Watch `pid` from now on; an error if there is no such process.
pub(crate) fn watch(pid: Pid) -> Result<(), Error> {
    let gone = || SetupError::WatchedGone { pid: pid.as_raw() }.into();
    let pidfd = crate::machine::proc_view::pidfd(pid).ok_or_else(gone)?;
    // Ended already (a zombie its parent has not reaped): as good as gone.
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::ZERO).is_ok_and(|ready| ready > 0) {
        return Err(gone());
    }
    // The thread is born with every signal blocked (the mask is inherited), so that the
    // SIGTERM it sends, and any other, is taken by leash's own thread as it takes them.
    let before = SigSet::all().thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK);
    let spawned = std::thread::Builder::new()
        .name("die-with".into())
        .spawn(move || wait_then_stop(&pidfd));
    if let Ok(before) = before {
        let _ = before.thread_set_mask();
    }
    let errno = |e: std::io::Error| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0));
    spawned
        .map(drop)
        .map_err(|e| SetupError::call("--die-with")(errno(e)))
}

/// Set once the watched process has ended, before the SIGTERM: what leash then says.
static ENDED: AtomicBool = AtomicBool::new(false);

/// Whether the process `--die-with` named has ended.
pub(crate) fn ended() -> bool {
    ENDED.load(Ordering::SeqCst)
}

/// Wait until the process of `pidfd` ends, then send leash SIGTERM.
fn wait_then_stop(pidfd: &OwnedFd) {
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    while poll(&mut fds, PollTimeout::NONE).is_err() {}
    ENDED.store(true, Ordering::SeqCst);
    let _ = nix::sys::signal::kill(nix::unistd::getpid(), Signal::SIGTERM);
}
