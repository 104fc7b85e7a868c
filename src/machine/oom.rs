//! Who the kernel's OOM killer takes first: the session, not its supervisor. The session's
//! `oom_score_adj` is 500 points above leash's, so that an outer memory limit ends the
//! session and leash lives to stop the rest and write the record.
//!
//! Where leash may lower its own score (CAP_SYS_RESOURCE over the OOM killer's namespace),
//! it does, and the child writes the score leash had back before it execs. Elsewhere
//! (the usual case) leash raises its own score, which is always allowed, just before the
//! fork, so that the child is born with the session's, and goes back to its own just
//! after: no file of the child's in /proc is opened (the kernel would then have its
//! entries to drop again when the child is reaped).

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, Write};

const FILE: &str = "/proc/self/oom_score_adj";

/// How far the session's score is above leash's.
const MARGIN: i32 = 500;

/// How the session gets its score: prepared before the fork (see the module's doc).
#[derive(Debug)]
pub(crate) struct SessionScore {
    /// leash's own score file, open to read and write.
    file: File,
    /// leash's score when it started.
    own: i32,
    /// The score the child must write itself, where leash lowered its own.
    pub(crate) written_by_the_child: Option<CString>,
}

impl SessionScore {
    /// Lower leash's own score if it may, and say how the session gets its own. `None`
    /// where the score cannot be read.
    pub(crate) fn prepare() -> Option<SessionScore> {
        let mut file = File::options().read(true).write(true).open(FILE).ok()?;
        let mut text = [0u8; 16];
        let read = file.read(&mut text).ok()?;
        let own: i32 = std::str::from_utf8(&text[..read])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let may_lower =
            crate::machine::capability::effective(crate::machine::capability::SYS_RESOURCE);
        let lowered = may_lower && write(&file, (own - MARGIN).max(-1000));
        Some(SessionScore {
            file,
            own,
            written_by_the_child: lowered
                .then(|| CString::new(own.to_string()).ok())
                .flatten(),
        })
    }

    /// Just before the fork: raise leash's score to the session's, unless the child
    /// writes its own.
    pub(crate) fn before_fork(&self) {
        if self.written_by_the_child.is_none() {
            write(&self.file, (self.own + MARGIN).min(1000));
        }
    }

    /// Just after the fork, in leash: back to its own score.
    pub(crate) fn after_fork(&self) {
        if self.written_by_the_child.is_none() {
            write(&self.file, self.own);
        }
    }
}

/// Write `score` to the open score file; whether the kernel took it.
fn write(mut file: &File, score: i32) -> bool {
    file.rewind().is_ok() && file.write_all(score.to_string().as_bytes()).is_ok()
}
