# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_leashctl_global_optspecs
    string join \n h/help V/version
end

function __fish_leashctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_leashctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_leashctl_using_subcommand
    set -l cmd (__fish_leashctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c leashctl -n "__fish_leashctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c leashctl -n "__fish_leashctl_needs_command" -s V -l version -d 'Print version'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "list" -d 'One row per running session: its state and usage against its limits'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "ps" -d 'One row per running session: its state and usage against its limits'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "show" -d 'Everything known about one session, and its process tree'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "freeze" -d 'Pause every process of the session (its cgroup\'s freezer, else SIGSTOP); the wall clock runs on'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "thaw" -d 'Let a frozen session run again'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "stop" -d 'End the session through its supervisor\'s stop sequence (as SIGTERM to leash would), or directly through its cgroup or namespace if the supervisor is gone or stopped; waits until it has ended'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "audit" -d 'Sum up audit logs (--audit-log): sessions and outcomes per --name and overall, and the median, p95, p99 and max of wall time, CPU, peak memory, peak tasks, bytes written and output'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "kernel" -d 'Jupyter kernels that run under leash, each cell within a budget: a cell that breaches a limit gets leash\'s reason, and the next one runs (`leashctl kernel install --help`)'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "agent" -d 'Coding agents whose every shell command runs as a leash session of its own: the model is told which limit stopped a command, and the conversation goes on (`leashctl agent install --help`)'
complete -c leashctl -n "__fish_leashctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c leashctl -n "__fish_leashctl_using_subcommand list" -l json -d 'Print JSON (an array; docs/leashctl.md has the schema)'
complete -c leashctl -n "__fish_leashctl_using_subcommand list" -l watch -d 'Redraw every second in place, like top; q or Ctrl-C quits'
complete -c leashctl -n "__fish_leashctl_using_subcommand list" -l ids -d 'Print only the ids, one per line (for shell completion)'
complete -c leashctl -n "__fish_leashctl_using_subcommand list" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand ps" -l json -d 'Print JSON (an array; docs/leashctl.md has the schema)'
complete -c leashctl -n "__fish_leashctl_using_subcommand ps" -l watch -d 'Redraw every second in place, like top; q or Ctrl-C quits'
complete -c leashctl -n "__fish_leashctl_using_subcommand ps" -l ids -d 'Print only the ids, one per line (for shell completion)'
complete -c leashctl -n "__fish_leashctl_using_subcommand ps" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand show" -l json -d 'Print JSON'
complete -c leashctl -n "__fish_leashctl_using_subcommand show" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand freeze" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand thaw" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand stop" -s s -l signal -d 'The first signal of the stop sequence' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand stop" -s k -l kill-after -d 'The grace before SIGKILL (default: the session\'s --kill-after)' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand stop" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l since -d 'Only sessions started at or after TIME: 2026-12-01T08:00:00Z, a date, or a duration ago (2h)' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l until -d 'Only sessions started before TIME' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l name -d 'Only sessions of this --name (repeatable)' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l outcome -d 'Only sessions of this outcome (repeatable)' -r -f -a "exited\t''
signaled\t''
limit\t''
leash_signaled\t''
error\t''"
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l json -d 'Print JSON (docs/leashctl.md has its fields)'
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l anomalies -d 'List the sessions whose figures lie far above their name\'s history (beyond Tukey\'s far-out fence on a log scale, with at least 30 sessions of history) instead of the summary'
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -l suggest -d 'Print, for each name, the limits that would have let 99.9% of its exited sessions through with 50% headroom (anomalies left out), and how many sessions each limit stopped before: config-file profiles to paste'
complete -c leashctl -n "__fish_leashctl_using_subcommand audit" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and not __fish_seen_subcommand_from install list remove help" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and not __fish_seen_subcommand_from install list remove help" -f -a "install" -d 'Write a kernelspec whose kernel runs under leash with LEASH_OPTIONS (given after --), each cell within --cell-wall and --cell-cpu: a cell that breaches a limit or a budget gets leash\'s reason as an error output, and the next cell runs'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and not __fish_seen_subcommand_from install list remove help" -f -a "list" -d 'List the kernelspecs leashctl installed, where a frontend would find them'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and not __fish_seen_subcommand_from install list remove help" -f -a "remove" -d 'Remove a kernelspec leashctl installed (and nothing else)'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and not __fish_seen_subcommand_from install list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l name -d 'The kernel\'s name: its directory, what `--kernel` and notebooks ask for' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l display-name -d 'The name frontends show [default: "Python 3 (leash ...)" with the limits]' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l python -d 'The interpreter that runs the kernel: it must have ipykernel [default: the first python3 on PATH]' -r -F
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l prefix -d 'In DIR/share/jupyter/kernels: for one frontend alone, started with JUPYTER_PATH=DIR/share/jupyter' -r -F
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l cell-wall -d 'Wall-clock time each cell may run, from when the launcher passes it on: then it is interrupted (and the kernel restarted if it ignores that for --cell-grace)' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l cell-cpu -d 'CPU time each cell may use (its kernel\'s and every process it starts)' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l cell-grace -d 'How long an interrupted cell has to stop before its kernel is stopped' -r
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l user -d 'In the user\'s Jupyter data directory, $JUPYTER_DATA_DIR or ~/.local/share/jupyter (the default)'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -l force -d 'Replace a kernelspec of that name'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from list" -l prefix -d 'Look in DIR/share/jupyter/kernels too' -r -F
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from remove" -l prefix -d 'In DIR/share/jupyter/kernels: for one frontend alone, started with JUPYTER_PATH=DIR/share/jupyter' -r -F
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from remove" -l user -d 'In the user\'s Jupyter data directory, $JUPYTER_DATA_DIR or ~/.local/share/jupyter (the default)'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write a kernelspec whose kernel runs under leash with LEASH_OPTIONS (given after --), each cell within --cell-wall and --cell-cpu: a cell that breaches a limit or a budget gets leash\'s reason as an error output, and the next cell runs'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the kernelspecs leashctl installed, where a frontend would find them'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a kernelspec leashctl installed (and nothing else)'
complete -c leashctl -n "__fish_leashctl_using_subcommand kernel; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and not __fish_seen_subcommand_from install list hook remove help" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and not __fish_seen_subcommand_from install list hook remove help" -f -a "install" -d 'Run each shell command of AGENT (claude-code, codex, gemini) under leash with the agent-command profile and LEASH_OPTIONS (given after --): a command that breaches a limit is stopped, its processes with it, the agent\'s model is told which limit, and the conversation goes on'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and not __fish_seen_subcommand_from install list hook remove help" -f -a "list" -d 'List the agents leashctl wired, with their settings files and leash options'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and not __fish_seen_subcommand_from install list hook remove help" -f -a "hook" -d 'What the agent runs after a command fails (installed with the rest): the reason leash stopped the command, from its report, for the model'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and not __fish_seen_subcommand_from install list hook remove help" -f -a "remove" -d 'Undo an install: the settings file as it was before, the shell leashctl wrote removed'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and not __fish_seen_subcommand_from install list hook remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from install" -l project -d 'One project\'s local settings: DIR/.claude/settings.local.json (not committed)' -r -F
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from install" -l user -d 'The user\'s settings, for every project ($CLAUDE_CONFIG_DIR or ~/.claude, then settings.json; the default)'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from hook" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from remove" -l project -d 'One project\'s local settings: DIR/.claude/settings.local.json (not committed)' -r -F
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from remove" -l user -d 'The user\'s settings, for every project ($CLAUDE_CONFIG_DIR or ~/.claude, then settings.json; the default)'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "install" -d 'Run each shell command of AGENT (claude-code, codex, gemini) under leash with the agent-command profile and LEASH_OPTIONS (given after --): a command that breaches a limit is stopped, its processes with it, the agent\'s model is told which limit, and the conversation goes on'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the agents leashctl wired, with their settings files and leash options'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "hook" -d 'What the agent runs after a command fails (installed with the rest): the reason leash stopped the command, from its report, for the model'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Undo an install: the settings file as it was before, the shell leashctl wrote removed'
complete -c leashctl -n "__fish_leashctl_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "list" -d 'One row per running session: its state and usage against its limits'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "show" -d 'Everything known about one session, and its process tree'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "freeze" -d 'Pause every process of the session (its cgroup\'s freezer, else SIGSTOP); the wall clock runs on'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "thaw" -d 'Let a frozen session run again'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "stop" -d 'End the session through its supervisor\'s stop sequence (as SIGTERM to leash would), or directly through its cgroup or namespace if the supervisor is gone or stopped; waits until it has ended'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "audit" -d 'Sum up audit logs (--audit-log): sessions and outcomes per --name and overall, and the median, p95, p99 and max of wall time, CPU, peak memory, peak tasks, bytes written and output'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "kernel" -d 'Jupyter kernels that run under leash, each cell within a budget: a cell that breaches a limit gets leash\'s reason, and the next one runs (`leashctl kernel install --help`)'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "agent" -d 'Coding agents whose every shell command runs as a leash session of its own: the model is told which limit stopped a command, and the conversation goes on (`leashctl agent install --help`)'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and not __fish_seen_subcommand_from list show freeze thaw stop audit kernel agent help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from kernel" -f -a "install" -d 'Write a kernelspec whose kernel runs under leash with LEASH_OPTIONS (given after --), each cell within --cell-wall and --cell-cpu: a cell that breaches a limit or a budget gets leash\'s reason as an error output, and the next cell runs'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from kernel" -f -a "list" -d 'List the kernelspecs leashctl installed, where a frontend would find them'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from kernel" -f -a "remove" -d 'Remove a kernelspec leashctl installed (and nothing else)'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "install" -d 'Run each shell command of AGENT (claude-code, codex, gemini) under leash with the agent-command profile and LEASH_OPTIONS (given after --): a command that breaches a limit is stopped, its processes with it, the agent\'s model is told which limit, and the conversation goes on'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "list" -d 'List the agents leashctl wired, with their settings files and leash options'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "hook" -d 'What the agent runs after a command fails (installed with the rest): the reason leash stopped the command, from its report, for the model'
complete -c leashctl -n "__fish_leashctl_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "remove" -d 'Undo an install: the settings file as it was before, the shell leashctl wrote removed'
complete -c leashctl -n "__fish_leashctl_using_subcommand show freeze thaw stop" -f -a "(leashctl list --ids 2>/dev/null)" -d 'session'
