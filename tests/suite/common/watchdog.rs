//! A bound on the whole test binary, beside each run's own: a test that hangs where no run
//! bound reaches (an install, a wait outside a run) ends the binary with a failure that
//! names what its processes were doing, instead of holding CI until its own timeout.

use std::sync::Once;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Longer than the whole suite takes on a loaded 2-core machine (about 6 minutes here),
/// well within CI's 90.
const LIMIT: Duration = Duration::from_secs(45 * 60);

/// Start the watchdog, once per test binary.
pub(crate) fn arm() {
    static ARMED: Once = Once::new();
    ARMED.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(LIMIT);
            give_up();
        });
    });
}

/// Say what every process the binary's sandboxes started is doing, stop them, and end the
/// binary with a failure.
fn give_up() {
    let prefix = super::marker_prefix();
    let ours = super::processes_marked(|marker| marker.starts_with(&prefix));
    eprintln!(
        "watchdog: this test binary has run for {LIMIT:?}; {} processes it started remain:",
        ours.len()
    );
    for &pid in &ours {
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        eprintln!("  {} (waiting in {wchan})", super::describe(pid));
    }
    for pid in ours {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    std::process::exit(101);
}
