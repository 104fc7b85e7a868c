#!/usr/bin/env python3
"""leash beside its peers that limit a command without privilege: sandlock (Landlock,
seccomp user notification; PyPI `sandlock`, driven through its Python API, which is its
interface: the package has no command line) and, where it can run, nono (crate
`nono-cli`). Prints Markdown.

1. Start-up of `/bin/true` with a minimal policy, from one Python parent, in turns (one
   run of each, then again): GNU timeout and leash started with posix_spawn and waited
   for, sandlock's `Sandbox(...).run` called in the parent (its fork included).
2. Memory precision without a cgroup, as an ordinary user (`nobody`) with two busy loops
   beside: each program under a 256 MiB limit, in a fresh memory cgroup of its own that
   limits nothing and only measures (the referee: its peak, leash or sandlock
   included). Six children of one Python process filling 150 MiB each at once; one
   process filling 16 MiB at a time; one mapping 8 GiB writable and touching 10 MiB
   (which must run to its end).

Needs root (the referee cgroups, `setpriv`). Usage:
bench/peers.py LEASH SANDLOCK_PYTHON NONO STARTUP_RUNS MEMORY_RUNS
(NONO: the nono binary, or a file holding why there is none.)"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from turns import in_turns, timed

leash, sandlock_python, nono = sys.argv[1], sys.argv[2], sys.argv[3]
startup_runs, memory_runs = int(sys.argv[4]), int(sys.argv[5])
LIMIT = 256 << 20
READABLE = ["/usr", "/lib", "/lib64", "/bin", "/etc"]

SIX = """import os, time
kids = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        b = bytearray(150 << 20)
        time.sleep(2)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
"""
ONE = """chunks = []
while True:
    chunks.append(bytearray(16 << 20))
"""
RESERVE = """import mmap
m = mmap.mmap(-1, 8 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000)
for i in range(0, 10 << 20, 4096):
    m[i] = 1
print("done")
"""
# sandlock run from the referee's child: prints how the sandboxed command ended.
SANDLOCK_RUN = """import sys, sandlock
r = sandlock.Sandbox(fs_readable={readable!r} + [sys.argv[1]], max_memory="256M").run(
    ["python3", sys.argv[1] + "/program.py"])
print(r.reason.name, r.exit_code)
"""


def startup():
    """Medians of /bin/true's start-up under each tool, in turns."""
    sys.path.insert(0, sandlock_site())
    import sandlock

    def spawned(argv):
        def run():
            os.waitpid(os.posix_spawnp(argv[0], argv, os.environ), 0)

        return run

    def sandlocked():
        sandlock.Sandbox(fs_readable=READABLE).run(["/bin/true"])

    named = [
        ("timeout 10 /bin/true", spawned(["timeout", "10", "/bin/true"])),
        ("leash --cgroup=off --wall 10s /bin/true", spawned([leash, "--cgroup=off", "--wall", "10s", "/bin/true"])),
        ("leash --wall 10s /bin/true (a session cgroup here)", spawned([leash, "--wall", "10s", "/bin/true"])),
        ("sandlock: Sandbox(fs_readable=system dirs).run(['/bin/true'])", sandlocked),
    ]
    if not nono_missing():
        named.append(("nono run --allow . -- /bin/true", spawned([nono, "run", "--allow", ".", "--", "/bin/true"])))
    times = in_turns(startup_runs, [lambda run=run: timed(run) for _, run in named], warmup=20)
    base = statistics.median(times[0])
    print("| Command | Median [ms] | Relative to timeout |")
    print("|:---|---:|---:|")
    for (name, _), measured in zip(named, times):
        median = statistics.median(measured)
        print(f"| `{name}` | {median:.2f} | {median / base:.2f} |")
    return {name: statistics.median(measured) for (name, _), measured in zip(named, times)}


def sandlock_site():
    out = subprocess.run([sandlock_python, "-c", "import sandlock, os; print(os.path.dirname(os.path.dirname(sandlock.__file__)))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def nono_missing():
    """Why nono cannot run here, or None."""
    if os.access(nono, os.X_OK):
        return None
    with open(nono) as why:
        return why.read().strip()


def memory_hierarchy():
    """Where a referee cgroup that measures memory can be made."""
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return "/sys/fs/cgroup/memory", "memory.max_usage_in_bytes"
    return "/sys/fs/cgroup", "memory.peak"


def refereed(argv, workdir):
    """Run argv as nobody in a fresh memory cgroup; its peak (MiB) and stdout."""
    root, peak_file = memory_hierarchy()
    group = tempfile.mkdtemp(prefix="leash-bench-referee-", dir=root)
    try:
        wrapper = ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"', "sh", *argv]
        out = subprocess.run(wrapper, capture_output=True, text=True, timeout=120, cwd=workdir, check=False)
        with open(os.path.join(group, peak_file)) as peak:
            return int(peak.read()) / (1 << 20), out
    finally:
        for _ in range(50):
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.1)


def precision():
    work = tempfile.mkdtemp(prefix="leash-bench-peers-")
    os.chmod(work, 0o755)
    tools = {"leash": shutil.copy(leash, os.path.join(work, "leash"))}
    os.chmod(tools["leash"], 0o755)
    with open(os.path.join(work, "sandlock_run.py"), "w") as f:
        f.write(SANDLOCK_RUN.format(readable=READABLE))
    site = sandlock_site()
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(2)]
    rows = []
    try:
        for name, program in (("six children of 150 MiB", SIX), ("one process, 16 MiB at a time", ONE), ("8 GiB mapped, 10 MiB touched", RESERVE)):
            with open(os.path.join(work, "program.py"), "w") as f:
                f.write(program)
            os.chmod(os.path.join(work, "program.py"), 0o644)
            leash_argv = [tools["leash"], "--cgroup=off", "--mem", "256MiB", "--", "python3", "program.py"]
            sandlock_argv = ["env", f"PYTHONPATH={site}", sandlock_python, "sandlock_run.py", work]
            for tool, argv in (("leash", leash_argv), ("sandlock", sandlock_argv)):
                peaks, ends = [], set()
                for _ in range(memory_runs):
                    peak, out = refereed(argv, work)
                    peaks.append(peak)
                    ends.add(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else f"exit {out.returncode}")
                rows.append((name, tool, peaks, ends))
    finally:
        for b in busy:
            b.kill()
            b.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("| Program (--mem 256MiB / max_memory 256M) | Tool | Runs | Median peak [MiB] | Highest [MiB] | Highest / limit | How it ended |")
    print("|:---|:---|---:|---:|---:|---:|:---|")
    for name, tool, peaks, ends in rows:
        print(f"| {name} | {tool} | {len(peaks)} | {statistics.median(peaks):.0f} | {max(peaks):.0f} | {max(peaks) * (1 << 20) / LIMIT:.2f} | {', '.join(sorted(ends))} |")


print("### Start-up")
print()
medians = startup()
print()
timeout_ms = medians["timeout 10 /bin/true"]
sandlock_ms = next(v for k, v in medians.items() if k.startswith("sandlock"))
leash_ms = medians["leash --cgroup=off --wall 10s /bin/true"]
print(f"leash --cgroup=off: {leash_ms / sandlock_ms:.2f}x sandlock's start-up, {leash_ms / timeout_ms:.2f}x timeout's.")
if nono_missing():
    print()
    print(f"nono did not run here: {nono_missing()}")
print()
print("### Memory precision without a cgroup")
print()
precision()
