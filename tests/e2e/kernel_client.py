"""A frontend for tests/kernel.rs and bench/kernel: drives a kernel through jupyter_client's
blocking KernelManager, as open-interpreter does (no restarts of its own).

Usage: kernel_client.py KERNEL_NAME CELL... [--hold]

Prints `ready LAUNCHER_PID` once the kernel answers, then one JSON line per cell: its
reply's status, its stdout and stderr, its error outputs ("ename: evalue") and seconds.
Then shuts the kernel down and prints `shut down`; with --hold it prints `holding` and
waits to be killed instead. A cell whose first line is `#interrupt N` is interrupted by
the frontend (KernelManager.interrupt_kernel) N seconds after it was sent; a cell that
is just `#restart` restarts the kernel as a frontend's restart does (and prints
`restarted LAUNCHER_PID`).
"""

import json
import sys
import time

from jupyter_client.manager import KernelManager

TIMEOUT = 90


def run_cell(manager, client, code):
    msg_id = client.execute(code)
    first = code.split("\n", 1)[0]
    if first.startswith("#interrupt "):
        time.sleep(float(first.split()[1]))
        manager.interrupt_kernel()
    out = {"status": None, "stdout": "", "stderr": "", "errors": []}
    started = time.monotonic()
    while True:
        msg = client.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]] += content["text"]
        elif kind == "error":
            out["errors"].append(f"{content['ename']}: {content['evalue']}")
        elif kind == "execute_result":
            out["stdout"] += content["data"].get("text/plain", "") + "\n"
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = client.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    out["status"] = reply["content"]["status"]
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def main():
    hold = "--hold" in sys.argv
    name, *cells = [a for a in sys.argv[1:] if a != "--hold"]
    manager = KernelManager(kernel_name=name)
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=TIMEOUT)
    print("ready", manager.provisioner.process.pid, flush=True)
    for code in cells:
        if code == "#restart":
            manager.restart_kernel()
            client.wait_for_ready(timeout=TIMEOUT)
            print("restarted", manager.provisioner.process.pid, flush=True)
            continue
        print(json.dumps(run_cell(manager, client, code)), flush=True)
    if hold:
        print("holding", flush=True)
        time.sleep(3600)
    client.stop_channels()
    manager.shutdown_kernel()
    print("shut down", flush=True)


if __name__ == "__main__":
    main()
