#!/usr/bin/env python3
"""What `leashctl agent install claude-code` adds to one Bash tool call. Claude Code runs
each command as `SHELL -c SCRIPT`; wired, SHELL is leash (a copy named leash-bash), which
runs SCRIPT in bash in a session. Before each call Claude Code also runs the PreToolUse
hook (leashctl, started directly: no shell), which a call without leash does not have.
SCRIPT is built as Claude Code 2.1.332 builds it, around the command `true`. All run in
turns (one run of each, then again), the medians compared. Prints a Markdown table, and
the total a call pays: the wired call's median over the plain one's, plus the hook's.
The wiring is installed twice: as given (a session cgroup here: v2, and v1 memory and
pids cgroups the command must migrate into), and with `-- --cgroup off` (what a machine
without a writable cgroup gets).
Usage: bench/agent_claude.py RUNS LEASHCTL"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from turns import in_turns

runs, leashctl = int(sys.argv[1]), sys.argv[2]
home = tempfile.mkdtemp(prefix="leash-bench-home-")
notes = tempfile.mkdtemp(prefix="leash-bench-notes-")
env = dict(os.environ, HOME=home, SHELL="/bin/bash", CLAUDE_CODE_CHILD_NOTES_DIR=notes)
env.pop("XDG_DATA_HOME", None)
env.pop("CLAUDE_CONFIG_DIR", None)


def wired(home, options):
    """The shell `leashctl agent install` names in `home` with `options`."""
    subprocess.run([leashctl, "agent", "install", "claude-code", "--", *options],
                   env=dict(env, HOME=home), check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(home, ".claude/settings.json")) as f:
        return json.load(f)["env"]["CLAUDE_CODE_SHELL"]


shell = wired(home, [])
home_off = tempfile.mkdtemp(prefix="leash-bench-home-")
shell_off = wired(home_off, ["--cgroup", "off"])
cwd_file = os.path.join(notes, "cwd")
script = ("source /dev/null 2>/dev/null || true && "
          "{ \\builtin shopt -u extglob; } >/dev/null 2>&1 || true && "
          f"eval true < /dev/null && pwd -P >| {cwd_file}")
hook = [leashctl, "agent", "hook", "claude-code"]
pre_input = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                        "tool_input": {"command": "true"}})
failure_input = json.dumps({"hook_event_name": "PostToolUseFailure", "tool_name": "Bash",
                            "tool_input": {"command": "false"}, "error": "Exit code 1"})
named = [
    ("Bash tool call, not wired: bash -c SCRIPT", ["/bin/bash", "-c", script], None),
    ("wired: leash-bash -c SCRIPT (leash, agent-command profile)", [shell, "-c", script],
     None),
    ("wired with -- --cgroup off (no session cgroup)", [shell_off, "-c", script], None),
    ("before every call: the PreToolUse hook (leashctl, no shell)", hook, pre_input),
    ("after a failed call only: the failure hook", hook, failure_input),
]


def once(argv, stdin):
    start = time.perf_counter_ns()
    subprocess.run(argv, env=env, input=stdin, text=True, stdout=subprocess.DEVNULL,
                   check=False)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    for name in os.listdir(notes):
        if name.startswith("leash-"):
            os.remove(os.path.join(notes, name))
    return elapsed


times = in_turns(runs, [lambda a=argv, s=stdin: once(a, s) for _, argv, stdin in named],
                 warmup=20)
medians = [statistics.median(measured) for measured in times]
base = medians[0]
print("| Command | Median [ms] | Mean [ms] | Added to a Bash call (median) [ms] |")
print("|:---|---:|---:|---:|")
for at, ((name, _, _), measured) in enumerate(zip(named, times)):
    # A wired call replaces the plain one; a hook comes on top of it, whole.
    added = medians[at] - base if at in (0, 1, 2) else medians[at] if at == 3 else None
    shown = f"{added:.2f}" if added is not None else "(after a failure)"
    print(f"| {name} | {medians[at]:.2f} | {statistics.mean(measured):.2f} | {shown} |")
print()
print(f"Added to each Bash call: {medians[1] - base + medians[3]:.2f} ms with the session "
      f"cgroup, {medians[2] - base + medians[3]:.2f} ms without (the wired call over the "
      f"plain one, plus the PreToolUse hook).")
subprocess.run(["rm", "-rf", home, home_off, notes], check=True)
