//! Who the kernel's OOM killer takes first: the session, not its supervisor. leash lowers
//! its own `oom_score_adj` where it may (lowering needs CAP_SYS_RESOURCE) and the session
//! goes back to the score leash had; where it may not, the session raises its own
//! instead, which is always allowed. Either way the session is 500 points more likely to
//! be chosen than leash, so that an outer memory limit ends the session and leash lives
//! to stop the rest and write the record.

use std::ffi::CString;

const FILE: &str = "/proc/self/oom_score_adj";

/// How far the session's score is above leash's.
const MARGIN: i32 = 500;

/// Lower leash's own score if it may, and return what the session's should be: written
/// by the child to its own `/proc/self/oom_score_adj` before it execs (see `spawn`).
/// `None` where the score cannot be read.
pub(crate) fn favour_the_supervisor() -> Option<CString> {
    let own: i32 = std::fs::read_to_string(FILE).ok()?.trim().parse().ok()?;
    let lowered = (own - MARGIN).max(-1000);
    let session = if std::fs::write(FILE, lowered.to_string()).is_ok() {
        own
    } else {
        (own + MARGIN).min(1000)
    };
    CString::new(session.to_string()).ok()
}
