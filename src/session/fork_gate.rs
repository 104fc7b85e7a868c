//! `--procs` where no pids cgroup counts the session: every new process or thread of the
//! session waits at a seccomp gate until leash lets it through, and is refused (EAGAIN, as
//! the kernel refuses a fork at its limits) once the session has as many tasks as allowed.
//! That refusal is the breach, as a pids cgroup's is: held before the bomb grows, as root
//! too (RLIMIT_NPROC does not hold root) and where `/proc` is another namespace's.
//!
//! Counting every call would need the session's exits too; instead leash counts the
//! session's tasks from `/proc` (or takes the sampler's count) and adds the calls it let
//! through whose tasks the count could not have seen: those whose callers were still
//! runnable (maybe inside the call) when the count began. An upper bound, counted again
//! only when it reaches the limit.

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::machine::fork_notify::{Call, Listener, in_task_call};
use crate::session::accounting::count_tasks;

/// The gate of a session limited to `limit` tasks.
#[derive(Debug)]
pub(crate) struct ForkGate {
    listener: Listener,
    limit: u64,
    /// The session's tasks when they were last counted.
    counted: u64,
    /// The callers of the calls let through since the last count, and of those let
    /// through before that were still inside the call when it began.
    let_through: Vec<Pid>,
    /// Calls taken from the listener before a count, answered once it is done.
    waiting: Vec<Call>,
    /// Calls refused at the limit.
    refused: u64,
}

impl ForkGate {
    /// The gate on `listener` of a session of at most `limit` tasks (its first process
    /// counted).
    pub(crate) fn new(listener: Listener, limit: u64) -> Self {
        Self {
            listener,
            limit,
            counted: 1,
            let_through: Vec::new(),
            waiting: Vec::new(),
            refused: 0,
        }
    }

    /// Where the calls wait (readable while one does).
    pub(crate) fn listener(&self) -> &Listener {
        &self.listener
    }

    /// Calls refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }

    /// Before a count of the session's tasks: take the calls waiting now (their callers'
    /// earlier calls are done), and forget the calls whose tasks are made (the count will
    /// see them). A thread is inside one call at a time: each caller counts once.
    pub(crate) fn before_count(&mut self) {
        while let Some(call) = self.listener.next() {
            self.waiting.push(call);
        }
        let waiting: Vec<Pid> = self.waiting.iter().map(|call| call.caller).collect();
        self.let_through.sort_unstable();
        self.let_through.dedup();
        self.let_through
            .retain(|caller| !waiting.contains(caller) && in_task_call(*caller));
    }

    /// A count of the session's tasks (the sampler's), begun after [`Self::before_count`]:
    /// the calls taken before it are answered now.
    pub(crate) fn counted(&mut self, tasks: u64) {
        self.counted = tasks;
        for call in std::mem::take(&mut self.waiting) {
            self.decide(call);
        }
    }

    /// Refuse every call from now on.
    pub(crate) fn close(&mut self) {
        self.limit = 0;
    }

    /// Answer every call waiting now: through while the session stays within its limit,
    /// counting its tasks below `supervisor` again before a refusal.
    pub(crate) fn answer(&mut self, supervisor: Pid) {
        let mut recounted = false;
        while let Some(call) = self.listener.next() {
            if self.full() && !recounted {
                self.waiting.push(call);
                self.before_count();
                self.counted(count_tasks(supervisor, self.limit));
                recounted = true;
            } else {
                self.decide(call);
            }
        }
    }

    /// Through if the session has room for one more task, else refused.
    fn decide(&mut self, call: Call) {
        if self.full() {
            self.refused += 1;
            self.listener.refuse(call, Errno::EAGAIN);
        } else {
            self.let_through.push(call.caller);
            self.listener.allow(call);
        }
    }

    /// Whether one more task could take the session beyond its limit.
    fn full(&self) -> bool {
        let unseen = u64::try_from(self.let_through.len()).unwrap_or(u64::MAX);
        self.counted.saturating_add(unseen) >= self.limit
    }
}
