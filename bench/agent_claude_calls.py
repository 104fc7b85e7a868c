#!/usr/bin/env python3
"""What `leashctl agent install claude-code` adds to a Bash tool call as Claude Code itself
times it: Claude Code (`claude -p`) driven by the scripted model of the tests
(tests/e2e/claude_model.py, on loopback) through conversations of Bash calls of `true`,
not wired and wired (as installed, and with `-- --cgroup off`), the conversations in turns
so that the VM's drift hits all alike. A call's time is Claude Code's own: from the
assistant message that asks for it to the tool result, as its transcript stamps them
(milliseconds), so it holds the PreToolUse hook, the shell and leash, and Claude Code's
own work around them. For reference, the wiring's two parts apart (its shell alone, its
hooks alone), and a PreToolUse hook that runs /bin/true (what Claude Code spends on any
command hook). Prints a Markdown table of the medians.
Usage: bench/agent_claude_calls.py CALLS LEASHCTL CLAUDE"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime

calls, leashctl, claude = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ROUNDS = 4
MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e/claude_model.py")


def home(options):
    """A HOME of its own: Claude Code's settings not wired (None), or wired with `options`."""
    path = tempfile.mkdtemp(prefix="leash-bench-claude-")
    os.makedirs(os.path.join(path, ".claude"))
    with open(os.path.join(path, ".claude/settings.json"), "w") as f:
        f.write("{}\n")
    if options is not None:
        env = dict(os.environ, HOME=path)
        env.pop("CLAUDE_CONFIG_DIR", None)
        env.pop("XDG_DATA_HOME", None)
        subprocess.run([leashctl, "agent", "install", "claude-code", "--", *options],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    return path


def stamp(entry):
    return datetime.fromisoformat(entry["timestamp"]).timestamp()


def tool_times(path):
    """Each Bash call's time in ms, from the transcripts below HOME `path`."""
    times = []
    projects = os.path.join(path, ".claude/projects")
    for root, _, files in os.walk(projects):
        for name in files:
            if not name.endswith(".jsonl"):
                continue
            asked = None
            with open(os.path.join(root, name)) as f:
                for line in f:
                    entry = json.loads(line)
                    if entry.get("type") == "assistant":
                        asked = stamp(entry)
                    elif entry.get("type") == "user" and "toolUseResult" in entry and asked:
                        times.append((stamp(entry) - asked) * 1000)
                        asked = None
    return times


def converse(path, count):
    """One `claude -p` conversation of `count` calls, in HOME `path`."""
    results = os.path.join(path, "results.jsonl")
    model = subprocess.Popen(["python3", MODEL, json.dumps(["true"] * count), results],
                             stdout=subprocess.PIPE, text=True)
    port = model.stdout.readline().strip()
    env = dict(os.environ, HOME=path, TMPDIR=path, ANTHROPIC_API_KEY="scripted",
               ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}", IS_SANDBOX="1",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")
    env.pop("CLAUDE_CONFIG_DIR", None)
    env.pop("XDG_DATA_HOME", None)
    try:
        subprocess.run([claude, "-p", "run it", "--dangerously-skip-permissions"], env=env,
                       cwd=path, check=True, stdout=subprocess.DEVNULL, timeout=1800)
    finally:
        model.kill()
        model.wait()


def apart(path, key):
    """`path`'s wiring with only its shell (`key` "env") or only its hooks ("hooks")."""
    file = os.path.join(path, ".claude/settings.json")
    with open(file) as f:
        settings = json.load(f)
    with open(file, "w") as f:
        json.dump({key: settings[key]}, f)
    return path


def true_hook():
    """Not wired, but a PreToolUse hook for Bash that runs /bin/true, directly."""
    path = home(None)
    hook = {"type": "command", "command": "/bin/true", "args": []}
    with open(os.path.join(path, ".claude/settings.json"), "w") as f:
        json.dump({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [hook]}]}}, f)
    return path


named = [
    ("not wired", home(None)),
    ("wired (leash-bash, agent-command profile, PreToolUse hook)", home([])),
    ("wired with -- --cgroup off (no session cgroup)", home(["--cgroup", "off"])),
    ("its shell alone (no hook)", apart(home([]), "env")),
    ("its hooks alone (bash as before)", apart(home([]), "hooks")),
    ("not wired, a PreToolUse hook of /bin/true", true_hook()),
]
for _ in range(ROUNDS):
    for _, path in named:
        converse(path, calls // ROUNDS)
medians = [statistics.median(tool_times(path)) for _, path in named]
print("| Bash call of `true`, as Claude Code times it | Calls | Median [ms] | Added (median) [ms] |")
print("|:---|---:|---:|---:|")
for (name, path), median in zip(named, medians):
    print(f"| {name} | {len(tool_times(path))} | {median:.1f} | {median - medians[0]:.1f} |")
subprocess.run(["rm", "-rf", *[path for _, path in named]], check=True)
