complete -c leash -s t -l wall -d 'Wall-clock limit for the whole session, e.g. 90s, 5m, 1h30m; a bare number is seconds. The clock keeps running while the session is suspended' -r
complete -c leash -s m -l mem -d 'Memory of the whole session, e.g. 512M, 2GiB: the memory cgroup\'s limit (swap included; an OOM kill stops the session), else counted by leash (proportional set size: pages shared after a fork count once), sampled faster the closer it is' -r
complete -c leash -s c -l cpu -d 'CPU time (user + system) of the whole session, including processes that have ended, e.g. 30s, 5m (from the cgroup where there is one). Also sets RLIMIT_CPU a second above it for each process' -r
complete -c leash -s p -l procs -d 'Processes and threads alive in the session at once: pids.max of the session\'s cgroup, else counted by leash (and, without privilege, RLIMIT_NPROC set to your tasks at start plus N plus one). Reaching it stops the session with SIGKILL at once' -r
complete -c leash -l disk-write -d 'Bytes the whole session writes to storage, including processes that have ended' -r
complete -c leash -l output -d 'Bytes the session may write to stdout and stderr together, e.g. 16MiB; leash then relays its output (a terminal stays a terminal) and passes nothing beyond the limit' -r
complete -c leash -l idle -d 'Stop the session when it has written nothing to stdout or stderr for this long, e.g. 5m; leash then relays its output' -r
complete -c leash -l cpu-rate -d 'Throttle the whole session to this share of one CPU (0.5 = half a core, 2 = two cores, or 50%). Needs a writable cgroup with the cpu controller; refused without one' -r
complete -c leash -l cgroup -d 'Use a cgroup for the session: auto (where one is writable), require (refuse to start unless the cgroup holds the session and enforces --mem, --procs and --cpu), off' -r -f -a "auto\t'Use a cgroup where one is writable; fall back to supervision where not'
require\t'Refuse to start unless a cgroup contains the session and enforces every requested memory, process and CPU limit'
off\t'Never use a cgroup'"
complete -c leash -l on-sigint -d 'What SIGINT sent to leash does: stop the session (passing SIGINT on first), or forward it to every process of the session, which runs on' -r -f -a "stop\t'Pass it on and stop the session, as SIGTERM does'
forward\t'Pass it on to every process of the session, which runs on (a program that handles Ctrl-C itself: an interpreter interrupting a cell)'"
complete -c leash -l die-with -d 'Stop the session when process PID ends, as --die-with-parent does for leash\'s parent, however far up PID is (an agent gives its own: its commands end with it, even when it is killed)' -r
complete -c leash -s s -l signal -d 'Signal sent first when the session is stopped: a name (TERM, SIGTERM), a real-time one (RTMIN+2, RTMAX-1), a number, or 0 (none: only the SIGKILL after the grace)' -r
complete -c leash -s k -l kill-after -d 'Grace between that signal and SIGKILL; 0 sends SIGKILL at once' -r
complete -c leash -l fsize -d 'Largest file each process may create (RLIMIT_FSIZE), e.g. 100M, 1GiB, 500MB' -r
complete -c leash -l nofile -d 'Open files per process (RLIMIT_NOFILE)' -r
complete -c leash -l stack -d 'Stack size per process (RLIMIT_STACK), e.g. 8M' -r
complete -c leash -l core -d 'Core dump size per process (RLIMIT_CORE) [default: 0, no core dumps]' -r
complete -c leash -l rlimit -d 'Any rlimit prlimit knows: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack. One value sets soft and hard; SOFT: or :HARD sets one. Sizes take K, M, G, T (powers of 1024) or KB, MB.. (of 1000); cpu and rttime take durations; `unlimited` is allowed. Repeatable' -r
complete -c leash -l user -d 'Run the command as this user (a name or a uid); root only. Its supplementary groups are reset to its group' -r
complete -c leash -l group -d 'Run the command with this group (a name or a gid) [default: the user\'s]; root only' -r
complete -c leash -l keep-fd -d 'Let the command inherit this descriptor above 2 (all others are closed). Repeatable' -r
complete -c leash -l env-keep -d 'Keep this variable when the environment is cleared. Repeatable' -r
complete -c leash -l env -d 'Set a variable for the command. Repeatable' -r
complete -c leash -l chdir -d 'Run the command in this directory' -r -F
complete -c leash -l umask -d 'The command\'s umask, in octal (e.g. 077)' -r
complete -c leash -l nice -d 'Add this to the command\'s niceness (a positive number lowers its priority)' -r
complete -c leash -l network -d 'The session\'s network: `host` (leash\'s own), `none` (a network namespace of its own with only a loopback interface: nothing outside is reachable, the host\'s loopback services included; where no namespace can be made, a seccomp filter refuses every socket but unix ones), or `ports=LIST` (TCP connect and bind only to these comma-separated ports, by Landlock, Linux 6.7; UDP is not covered)' -r
complete -c leash -l write -d 'Let the session create, change and delete files only below PATH (repeatable), the devices /dev/null, /dev/zero, /dev/full, /dev/tty and /dev/pts, and its private /tmp. Relative paths are taken from leash\'s working directory. Landlock' -r -F
complete -c leash -l read -d 'Let the session read and execute only below PATH (repeatable), the paths it may write, the system\'s libraries and loader, /proc, and the command with its interpreters (for `#!` scripts): it does not see the rest of the machine. Landlock' -r -F
complete -c leash -l private-tmp -d 'Give the session a /tmp and /dev/shm of its own: a tmpfs of SIZE each (in a mount namespace), writable even under --read-only and gone when the session ends. Paths given to --write, --read or --chdir below /tmp are kept in it' -r
complete -c leash -l report -d 'Write the session\'s report, one JSON document (schema in docs/report.md), to FILE when the session ends, however it ends (`-`: stdout, after the command\'s output). Written atomically' -r -F
complete -c leash -l audit-log -d 'Append the report as one JSON line to FILE (safe with many leash writing at once)' -r -F
complete -c leash -l baseline -d 'Warn when a figure passes what this --name usually takes: the p99 of its exited sessions in the audit log FILE (at least 30 of them; cached beside it)' -r -F
complete -c leash -l metrics -d 'Write Prometheus metrics of the session to FILE (for node_exporter\'s textfile collector); counters add up over the sessions that write the same file' -r -F
complete -c leash -l name -d 'A name for the session in reports and metrics (the `name` label)' -r
complete -c leash -l warn -d 'Warn once on stderr (and in the report) when a usage first reaches this share of its limit, e.g. 0.8' -r
complete -c leash -l slots -d 'At most N sessions with this key run at once on this machine (for this user); the others wait for a slot, which does not count against --wall' -r
complete -c leash -l rate -d 'At most N sessions with this key start per period, e.g. api:10/1m; the others wait' -r
complete -c leash -l slot-timeout -d 'Wait at most this long for a slot or a start, then exit 75' -r
complete -c leash -l profile -d 'Take the settings of this profile: a built-in one (interpreter, agent-command) or a `[profile.NAME]` of a config file. Also LEASH_PROFILE' -r
complete -c leash -l config -d 'Read this config file too, above /etc/leash/config.toml and ~/.config/leash/config.toml (see the man page, FILES)' -r -F
complete -c leash -l generate -d 'Print a generated file (man page or completions) and exit' -r -f -a "man\t'The man page, leash.1'
bash\t'Completions for bash'
zsh\t'Completions for zsh'
fish\t'Completions for fish'
timeout-man\t'The `timeout` personality\'s man page, leash-timeout.1'
timeout-bash\t'Its completions for bash'
timeout-zsh\t'Its completions for zsh'
timeout-fish\t'Its completions for fish'
prlimit-man\t'The `prlimit` personality\'s man page, leash-prlimit.1'
prlimit-bash\t'Its completions for bash'
prlimit-zsh\t'Its completions for zsh'
prlimit-fish\t'Its completions for fish'
leashctl-man\t'`leashctl`\'s man page, leashctl.1'
leashctl-bash\t'Its completions for bash'
leashctl-zsh\t'Its completions for zsh'
leashctl-fish\t'Its completions for fish'"
complete -c leash -l die-with-parent -d 'Stop the session when leash\'s parent dies (its parent-death signal: Linux counts the thread that started leash), as if leash were sent SIGTERM'
complete -c leash -l preserve-status -d 'When a limit stops the command, exit with the command\'s status (128+N if it died of signal N) instead of 124'
complete -c leash -l say-leftovers -d 'When the command exits by itself, say so in one line if leash stopped processes it left running (a server, a `&` job): whoever reads the output learns they are gone'
complete -c leash -l foreground -d 'Accepted for compatibility with GNU timeout: leash always hands the terminal to the session when it runs in the terminal\'s foreground (Ctrl-C reaches the command)'
complete -c leash -l allow-new-privs -d 'Let the command gain privileges through set-user-ID programs and file capabilities (by default leash sets no_new_privs, so it cannot)'
complete -c leash -l env-clear -d 'Start the command with an empty environment (plus --env-keep and --env)'
complete -c leash -l allow-signals-outside -d 'Let the session signal, stop and ptrace processes outside itself (leash and your other processes included) and connect to abstract unix sockets made outside it. By default a Landlock scope forbids that where the kernel has one (Linux 6.12)'
complete -c leash -l pid-ns -d 'Run the session in a PID namespace of its own, with leash\'s init as its PID 1 and its own /proc: it sees and signals only itself, and when leash dies, even by SIGKILL, the kernel kills all of it. Without privilege, through a user namespace that maps you to yourself; refused (125) where none can be made'
complete -c leash -l read-only -d 'Let the session write nowhere but those devices, its private /tmp and the --write paths, if any. Landlock'
complete -c leash -s v -l verbose -d 'Say what leash sets up and how the session ended'
complete -c leash -s q -l quiet -d 'Say nothing unless leash itself fails'
complete -c leash -l explain -d 'Print the effective limits and what enforces each on this machine, then exit without running anything'
complete -c leash -l no-wait -d 'Do not wait for a slot or a start: exit 75 at once'
complete -c leash -l print-config -d 'Print the effective settings and where each came from (command line, environment, file and line, profile, default), then exit without running anything'
complete -c leash -s h -l help -d 'Print help (see more with \'--help\')'
complete -c leash -s V -l version -d 'Print version'
