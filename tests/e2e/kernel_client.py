"""A frontend for tests/kernel.rs and bench/kernel: drives a kernel through jupyter_client's
blocking KernelManager, as open-interpreter does (no restarts of its own).

Usage: kernel_client.py KERNEL_NAME CELL... [--hold]

Prints `ready LAUNCHER_PID` once the kernel answers, then one JSON line per cell: its
reply's status, its stdout and stderr, its error outputs ("ename: evalue") and seconds.
Then shuts the kernel down and prints `shut down`; with --hold it prints `holding` and
waits to be killed instead. A cell whose first line is `#interrupt N` is interrupted by
the frontend (KernelManager.interrupt_kernel) N seconds after it was sent; a cell that
is just `#restart` restarts the kernel as a frontend's restart does (and prints
`restarted LAUNCHER_PID`). A cell whose first line is `#noise N` is followed, as soon as
it was sent, by N random or unsigned frames on each port a frontend talks to: what any
local user can send to a TCP port on loopback.
"""

import json
import random
import sys
import time

import zmq
from jupyter_client.manager import KernelManager

TIMEOUT = 90


def noise(manager, count):
    """`count` frames on each of the shell, control, stdin and heartbeat ports: random
    bytes, a lone delimiter, and unsigned or badly signed requests to interrupt the cell
    and to shut the kernel down."""
    info = manager.get_connection_info()
    rng = random.Random(31)
    context = zmq.Context.instance()

    def header(number, kind):
        fields = {"msg_id": f"noise-{number}", "msg_type": kind, "session": "noise"}
        return json.dumps({**fields, "username": "noise", "version": "5.3"}).encode()

    for port in ("shell_port", "control_port", "stdin_port", "hb_port"):
        sock = context.socket(zmq.DEALER)
        sock.linger = 2000
        if info["transport"] == "tcp":
            sock.connect(f"tcp://{info['ip']}:{info[port]}")
        else:
            sock.connect(f"ipc://{info['ip']}-{info[port]}")
        for number in range(count):
            kind = number % 4
            if kind == 0:
                frames = [rng.randbytes(rng.randrange(64)) for _ in range(rng.randrange(1, 8))]
            elif kind == 1:
                frames = [b"<IDS|MSG>"]
            elif kind == 2:
                frames = [b"<IDS|MSG>", b"", header(number, "interrupt_request"), b"{}", b"{}"]
                frames.append(b"{}")
            else:
                frames = [b"<IDS|MSG>", b"0" * 64, header(number, "shutdown_request"), b"{}"]
                frames += [b"{}", b'{"restart": false}']
            sock.send_multipart(frames)
        sock.close()


def run_cell(manager, client, code):
    msg_id = client.execute(code)
    first = code.split("\n", 1)[0]
    if first.startswith("#noise "):
        noise(manager, int(first.split()[1]))
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
