#!/usr/bin/env python3
"""What `leashctl agent install codex` and `... gemini` add to one shell command of the
agent: Codex runs the model's command as `bash -lc COMMAND`, Gemini CLI as
`bash -c COMMAND`; wired, a hook first rewrites COMMAND into a leash session
(`[exec] setsid -w leash ... -- "$0" -c COMMAND 2>&1`). Each is run here in turns with
`bash -c` (a login shell's profile is the machine's, not the wiring's) around the command
`true`; and the hooks as the agents run them (`sh -c HOOK`, the call's JSON on stdin).
Codex's wiring is installed twice: as given (a session cgroup here) and with
`-- --cgroup off` (what a machine without a writable cgroup gets). Prints a Markdown table.
Usage: bench/agent_hooks.py RUNS LEASHCTL"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from turns import in_turns

runs, leashctl = int(sys.argv[1]), sys.argv[2]
# Per agent: where its hook lands, the call it gets, and where the rewrite is in the answer.
AGENTS = {
    "codex": (".codex/hooks.json", "PreToolUse", "updatedInput"),
    "gemini": (".gemini/settings.json", "BeforeTool", "tool_input"),
}


def call(agent):
    return json.dumps({"hook_event_name": AGENTS[agent][1], "tool_input": {"command": "true"}})


def wired(agent, options):
    """The hook `leashctl agent install AGENT -- OPTIONS` writes, and its rewrite of `true`."""
    settings, event, field = AGENTS[agent]
    home = tempfile.mkdtemp(prefix="leash-bench-agent-")
    env = dict(os.environ, HOME=home)
    for name in ("XDG_DATA_HOME", "CODEX_HOME", "GEMINI_CLI_HOME"):
        env.pop(name, None)
    subprocess.run([leashctl, "agent", "install", agent, "--", *options], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(home, settings)) as f:
        hook = json.load(f)["hooks"][event][-1]["hooks"][0]["command"]
    answer = subprocess.run(["sh", "-c", hook], input=call(agent), text=True, check=True,
                            capture_output=True).stdout
    subprocess.run(["rm", "-rf", home], check=True)
    return hook, json.loads(answer)["hookSpecificOutput"][field]["command"]


codex_hook, codex = wired("codex", [])
_, codex_off = wired("codex", ["--cgroup", "off"])
gemini_hook, gemini = wired("gemini", [])
named = [
    ("shell command, not wired: bash -c true", ["bash", "-c", "true"], None),
    ("Codex, wired: bash -c REWRITTEN (exec setsid, leash, agent-command profile)",
     ["bash", "-c", codex], None),
    ("Codex, wired with -- --cgroup off (no session cgroup)", ["bash", "-c", codex_off], None),
    ("Gemini CLI, wired: bash -c REWRITTEN (setsid as a child, leash)",
     ["bash", "-c", gemini], None),
    ("before every command: the hook (sh -c HOOK), Codex's", ["sh", "-c", codex_hook],
     call("codex")),
    ("before every command: the hook (sh -c HOOK), Gemini CLI's", ["sh", "-c", gemini_hook],
     call("gemini")),
]


def once(argv, stdin):
    start = time.perf_counter_ns()
    subprocess.run(argv, input=stdin, text=True, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter_ns() - start) / 1e6


times = in_turns(runs, [lambda a=argv, s=stdin: once(a, s) for _, argv, stdin in named],
                 warmup=20)
base = statistics.median(times[0])
print("| Command | Median [ms] | Mean [ms] | Added to a command (median) [ms] |")
print("|:---|---:|---:|---:|")
for (name, _, stdin), measured in zip(named, times):
    median = statistics.median(measured)
    # A rewritten command replaces the plain one; a hook comes on top of it, whole.
    added = median if stdin is not None else median - base
    print(f"| {name} | {median:.2f} | {statistics.mean(measured):.2f} | {added:.2f} |")
