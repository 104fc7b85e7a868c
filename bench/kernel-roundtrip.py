"""A cell's round trip, `pass` sent until its execute_reply and the idle that ends it,
through jupyter_client: the plain ipykernel against the same behind leash's launcher, both
started first and then taken in turns, so that the machine's drift hits both alike.
Prints a markdown table. Usage: kernel-roundtrip.py KERNEL... (JUPYTER_PATH finds them)."""

import statistics
import sys
import time

from jupyter_client.manager import KernelManager

WARMUP, RUNS = 100, 2000


def round_trip(client):
    started = time.perf_counter()
    msg_id = client.execute("pass")
    replied = idle = False
    while not replied:
        replied = client.get_shell_msg(timeout=10)["parent_header"].get("msg_id") == msg_id
    while not idle:
        msg = client.get_iopub_msg(timeout=10)
        idle = (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        )
    return (time.perf_counter() - started) * 1000


def start(name):
    manager = KernelManager(kernel_name=name)
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def main():
    names = sys.argv[1:]
    kernels = [start(name) for name in names]
    for _ in range(WARMUP):
        for _, client in kernels:
            round_trip(client)
    times = [[] for _ in names]
    for _ in range(RUNS):
        for at, (_, client) in enumerate(kernels):
            times[at].append(round_trip(client))
    for manager, client in kernels:
        client.stop_channels()
        manager.shutdown_kernel()
    print("| kernel | median [ms] | p95 [ms] | p99 [ms] | runs |")
    print("|:---|---:|---:|---:|---:|")
    medians = []
    for name, measured in zip(names, times):
        measured.sort()
        medians.append(statistics.median(measured))
        p95, p99 = measured[int(RUNS * 0.95)], measured[int(RUNS * 0.99)]
        print(f"| `{name}` | {medians[-1]:.2f} | {p95:.2f} | {p99:.2f} | {RUNS} |")
    for name, median in zip(names[1:], medians[1:]):
        print(f"\n`{name}` adds {median - medians[0]:.2f} ms to a cell's median round trip.")


if __name__ == "__main__":
    main()
