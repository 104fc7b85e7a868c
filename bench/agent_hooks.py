#!/usr/bin/env python3
"""What `leashctl agent install codex` adds to one shell command of Codex: Codex runs the
model's command as `bash -lc COMMAND`; wired, its PreToolUse hook first rewrites COMMAND
into a leash session (`exec setsid -w leash ... -- "$0" -c COMMAND 2>&1`). Both are run
here in turns, with `bash -c` (a login shell's profile is the machine's, not the
wiring's), around the command `true`; and the hook as Codex runs it (`sh -c HOOK`, the
call's JSON on stdin). Prints a Markdown table.
The wiring is installed twice: as given (a session cgroup here) and with
`-- --cgroup off` (what a machine without a writable cgroup gets).
Usage: bench/agent_codex.py RUNS LEASHCTL"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

runs, leashctl = int(sys.argv[1]), sys.argv[2]
call = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                   "tool_input": {"command": "true"}})


def wired(options):
    """The hook `leashctl agent install codex -- OPTIONS` writes, and its rewrite of `true`."""
    home = tempfile.mkdtemp(prefix="leash-bench-codex-")
    env = dict(os.environ, HOME=home, CODEX_HOME=os.path.join(home, ".codex"))
    env.pop("XDG_DATA_HOME", None)
    subprocess.run([leashctl, "agent", "install", "codex", "--", *options], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(home, ".codex/hooks.json")) as f:
        hook = json.load(f)["hooks"]["PreToolUse"][-1]["hooks"][0]["command"]
    answer = subprocess.run(["sh", "-c", hook], input=call, text=True, check=True,
                            capture_output=True).stdout
    subprocess.run(["rm", "-rf", home], check=True)
    return hook, json.loads(answer)["hookSpecificOutput"]["updatedInput"]["command"]


hook, rewritten = wired([])
_, rewritten_off = wired(["--cgroup", "off"])
named = [
    ("shell command, not wired: bash -c true", ["bash", "-c", "true"], None),
    ("wired: bash -c REWRITTEN (setsid, leash, agent-command profile)",
     ["bash", "-c", rewritten], None),
    ("wired with -- --cgroup off (no session cgroup)", ["bash", "-c", rewritten_off], None),
    ("before every command: the PreToolUse hook (sh -c HOOK)", ["sh", "-c", hook], call),
]


def once(argv, stdin):
    start = time.perf_counter_ns()
    subprocess.run(argv, input=stdin, text=True, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter_ns() - start) / 1e6


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
