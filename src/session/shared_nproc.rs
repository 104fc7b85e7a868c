//! The RLIMIT_NPROC backstop shared with the user's other processes (an ordinary user, no
//! pids cgroup, no user namespace of the session's own): whether those filled it while the
//! session was below its `--procs`, so that forks the session lost to them are said.
//!
//! RLIMIT_NPROC counts every task of the user, and the kernel says nothing when it refuses
//! a fork: the session's own program sees EAGAIN ("Cannot fork") and may exit as if it
//! failed by itself. Counting the user's tasks reads every process's status, so it is
//! done at most once a second and at most 1% of a core.

use std::time::{Duration, Instant};

use crate::session::accounting::tasks_of_this_user;
use crate::session::record::NprocFilled;

/// The least time between two counts of the user's tasks.
const EVERY: Duration = Duration::from_secs(1);

/// How near the user's tasks must come to the backstop to count as full: a fork fails
/// at the instant the count is at the limit, which a count a second apart rarely meets
/// (a short-lived process of the user's has ended by then), while its neighbours do.
const NEAR: u64 = 2;

/// Watches whether the user's tasks reach the session's RLIMIT_NPROC.
#[derive(Debug)]
pub(crate) struct SharedNproc {
    /// The backstop: RLIMIT_NPROC as the command got it.
    limit: u64,
    /// `--procs`.
    procs: u64,
    next: Instant,
    filled: Option<NprocFilled>,
}

impl SharedNproc {
    /// A watch of `limit`, the RLIMIT_NPROC backstop of a session limited to `procs`.
    pub(crate) fn new(limit: u64, procs: u64) -> Self {
        SharedNproc {
            limit,
            procs,
            next: Instant::now(),
            filled: None,
        }
    }

    /// Count the user's tasks if it is time, with the session at `session_tasks`: if the
    /// backstop is (within [`NEAR`] of) full while the session is below its limit, the
    /// user's other processes took what the session could not have.
    pub(crate) fn check(&mut self, session_tasks: u64, now: Instant) {
        if now < self.next || self.filled.is_some() {
            return;
        }
        let Some(user_tasks) = tasks_of_this_user() else {
            return;
        };
        // A count that took long (many processes on the machine) is made less often.
        let took = now.elapsed();
        self.next = Instant::now() + EVERY.max(took * 100);
        if user_tasks + NEAR >= self.limit && session_tasks < self.procs {
            self.filled = Some(NprocFilled {
                limit: self.limit,
                user_tasks,
                session_tasks,
            });
        }
    }

    /// What was seen full, if it was.
    pub(crate) fn filled(&self) -> Option<NprocFilled> {
        self.filled
    }
}
