//! The hostile commands the agent tiers (Codex and Gemini CLI, wired per command) give
//! their agent, each in one place so that the tiers run the same cases.

/// A shell fork bomb whose shell waits, so that the bomb runs while its command does.
pub(crate) const FORK_BOMB: &str = "b() { b | b & }; b; sleep 60";

/// A process that takes memory a MiB at a time until stopped.
pub(crate) const MEMORY_BOMB: &str =
    "python3 -c 'x = []\nwhile True: x.append(bytearray(1 << 20))'";

/// A writer that fills the disk through the file `fill`.
pub(crate) const DISK_FILLER: &str = "dd if=/dev/zero of=fill bs=1M status=none";

/// A command that leaves a spinner in a session of its own (its PID in `spinner.pid`),
/// and returns once it runs.
pub(crate) const SPINNER_LEFT_BEHIND: &str = "setsid sh -c 'echo $$ > spinner.pid; while :; do :; done' \
     > /dev/null 2>&1 < /dev/null & \
     while [ ! -s spinner.pid ]; do sleep 0.05; done; echo started";

/// A command that runs on, with a detached child of its own that records itself in
/// `runner.pid` as `PID START` (for [`super::Tracked::recorded`]).
pub(crate) const DETACHED_RUNNER: &str = "setsid sh -c 'echo $$ $(cut -d\\  -f22 /proc/$$/stat) > runner.pid; \
     exec sleep 300' > /dev/null 2>&1 < /dev/null & sleep 300";
