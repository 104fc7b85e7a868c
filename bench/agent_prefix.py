#!/usr/bin/env python3
"""What `leashctl agent install claude-code` adds to one Bash tool call: Claude Code runs
each command as `bash -c SCRIPT`, or, wired, `bash -c "'PREFIX' 'SCRIPT'"`; both are run
here in turns (one run of each, then again) with SCRIPT as Claude Code 2.1.332 builds it
around the command `true`. Also the two hooks Claude Code runs (through the prefix): the
PreToolUse one before every Bash call (it marks background commands), the failure one only
after a command failed. Prints a Markdown table.
The wiring is installed twice: as given (a session cgroup here: v2, and v1 memory and
pids cgroups the command must migrate into), and with `-- --cgroup off` (what a machine
without a writable cgroup gets).
Usage: bench/agent_prefix.py RUNS LEASHCTL"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

runs, leashctl = int(sys.argv[1]), sys.argv[2]
home = tempfile.mkdtemp(prefix="leash-bench-home-")
notes = tempfile.mkdtemp(prefix="leash-bench-notes-")
env = dict(os.environ, HOME=home, SHELL="/bin/bash", CLAUDE_CODE_CHILD_NOTES_DIR=notes)
env.pop("XDG_DATA_HOME", None)
env.pop("CLAUDE_CONFIG_DIR", None)


def wired(home, options):
    """The prefix program `leashctl agent install` writes in `home` with `options`."""
    subprocess.run([leashctl, "agent", "install", "claude-code", "--", *options],
                   env=dict(env, HOME=home), check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(home, ".claude/settings.json")) as f:
        return json.load(f)["env"]["CLAUDE_CODE_SHELL_PREFIX"]


prefix = wired(home, [])
home_off = tempfile.mkdtemp(prefix="leash-bench-home-")
prefix_off = wired(home_off, ["--cgroup", "off"])
cwd_file = os.path.join(notes, "cwd")
script = ("source /dev/null 2>/dev/null || true && "
          "{ \\builtin shopt -u extglob; } >/dev/null 2>&1 || true && "
          f"eval true < /dev/null && pwd -P >| {cwd_file}")
hook_input = json.dumps({"hook_event_name": "PostToolUseFailure", "tool_name": "Bash",
                         "tool_input": {"command": "false"}, "error": "Exit code 1"})
pre_input = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                        "tool_input": {"command": "true"}})
named = [
    ("Bash tool call, not wired: bash -c SCRIPT", ["bash", "-c", script], None),
    ("wired: bash -c \"'PREFIX' 'SCRIPT'\" (leash, agent-command profile, a report)",
     ["bash", "-c", f"'{prefix}' '{script}'"], None),
    ("wired with -- --cgroup off (no session cgroup)",
     ["bash", "-c", f"'{prefix_off}' '{script}'"], None),
    ("before every call: the PreToolUse hook, through the prefix",
     ["bash", "-c", f"'{prefix}' '{leashctl} agent hook claude-code'"], pre_input),
    ("after a failed call: the failure hook, through the prefix",
     ["bash", "-c", f"'{prefix}' '{leashctl} agent hook claude-code'"], hook_input),
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


for _, argv, stdin in named:
    for _ in range(20):
        once(argv, stdin)
times = [[] for _ in named]
for _ in range(runs):
    for at, (_, argv, stdin) in enumerate(named):
        times[at].append(once(argv, stdin))
base = statistics.median(times[0])
print("| Command | Median [ms] | Mean [ms] | Added (median) [ms] |")
print("|:---|---:|---:|---:|")
for (name, _, _), measured in zip(named, times):
    median = statistics.median(measured)
    print(f"| {name} | {median:.2f} | {statistics.mean(measured):.2f} | {median - base:.2f} |")
subprocess.run(["rm", "-rf", home, home_off, notes], check=True)
