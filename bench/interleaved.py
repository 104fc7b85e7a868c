#!/usr/bin/env python3
"""Start-up of several commands, run in turns (one run of each, then again), so that the
drift of a small VM's speed hits every command alike; prints a Markdown table.
Usage: bench/interleaved.py RUNS 'NAME=COMMAND' ...  (the first is the baseline)"""
import os
import statistics
import sys
import time

from turns import in_turns

runs = int(sys.argv[1])
named = [arg.split("=", 1) for arg in sys.argv[2:]]
commands = [command.split() for _, command in named]


def once(argv):
    start = time.perf_counter_ns()
    os.waitpid(os.posix_spawnp(argv[0], argv, os.environ), 0)
    return (time.perf_counter_ns() - start) / 1e6


times = in_turns(runs, [lambda argv=argv: once(argv) for argv in commands], warmup=100)
base = statistics.median(times[0])
print("| Command | Median [ms] | Mean [ms] | Relative (median) |")
print("|:---|---:|---:|---:|")
for (name, _), measured in zip(named, times):
    median = statistics.median(measured)
    print(f"| `{name}` | {median:.2f} | {statistics.mean(measured):.2f} | {median / base:.2f} |")
