//! The texts of `--help` and `--version`: what leash is, its examples and exit statuses.

pub(super) const ABOUT: &str = "Run a command as a supervised session: limits hold for its whole process tree, \
and nothing it starts survives it.";

pub(super) const LONG_ABOUT: &str =
    "Run a command as a supervised session: limits hold for its whole process \
tree, and nothing it starts survives it.

leash starts COMMAND in a new process group, sets the requested rlimits, and supervises every \
process the command starts, including those that detach with setsid, a double fork or a new \
process group (leash is their subreaper). When a limit is reached, when leash is asked to \
terminate, and also when the main process exits by itself, every remaining process of the \
session is stopped: the --signal first, SIGKILL after the --kill-after grace. leash returns \
only when all of them are gone and reaped.

As with timeout, a first operand that is a duration is the wall limit when --wall is not \
given: `leash 10s make test` is `leash --wall 10s -- make test`. After `--` the first operand is \
always the command: `leash -- 10s` runs a program named 10s.

Run under the name timeout or prlimit (a link to leash of that name), leash reads GNU \
timeout's or util-linux prlimit's command line instead, and behaves as that tool does \
(see leash-timeout(1) and leash-prlimit(1)).";

pub(super) const EXAMPLES: &str = "Examples:
  leash --profile interpreter -- interpreter -y   safe limits for an agent's interpreter
  leash --wall 10m --mem 2G --procs 128 -- cmd    limits for the whole process tree
  leash 10m make test                             the same as leash --wall 10m -- make test
  leash -t 90s -k 5s -- make test                 TERM at 90s, KILL 5s later if still running
  leash --output 100M --idle 5m -- ./agent.sh     stop output floods and hangs
  leash --report run.json -- ./ci-step.sh         a JSON record of the session
  leash --fsize 1G --nofile 256 -- ./script.sh    per-process rlimits, as prlimit sets them
  leash --explain --mem 2G --procs 64             what enforces each limit here

Exit status: the command's own (if it died of a signal, leash dies of the same signal);
124 a limit was reached; 125 leash failed; 126 the command cannot be executed; 127 not found;
75 no --slots slot or --rate start could be had.";
