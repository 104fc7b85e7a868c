"""Timing in turns, shared by the benchmarks: one run of each command, then again, so
that the drift of a small VM's speed hits every command alike."""
import time


def timed(run):
    """Run `run()`; how long it took, in ms."""
    start = time.perf_counter_ns()
    run()
    return (time.perf_counter_ns() - start) / 1e6


def in_turns(runs, measures, warmup):
    """Each of `measures` (each returns one run's time) `warmup` times unrecorded, then
    all of them in turns `runs` times: the times of each, in the order given."""
    for measure in measures:
        for _ in range(warmup):
            measure()
    times = [[] for _ in measures]
    for _ in range(runs):
        for at, measure in enumerate(measures):
            times[at].append(measure())
    return times
