"""leash's Jupyter kernel launcher, written into a kernelspec by `leashctl kernel install`.

The frontend starts this in place of the kernel. It starts the real kernel (ipykernel)
under leash, on sockets of its own, and relays the shell, control, stdin and IOPub
channels between the two (answering heartbeats itself). When leash stops the kernel at a
limit, or a cell overruns its --cell-wall or --cell-cpu budget, it answers the running
cell for the kernel: an error output with leash's reason, the execute_reply and the
`status: idle` the frontend waits for; then a fresh kernel takes the next request, so the
conversation goes on. It uses only what ipykernel always brings: pyzmq, jupyter_client.
"""

import argparse
import collections
import ctypes
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import zmq
from jupyter_client.session import Session

DELIMITER = b"<IDS|MSG>"
CHANNELS = ("shell", "control", "stdin")
BOOT_TIMEOUT = 60.0
POLL_MS = 50
CPU_EVERY = 0.2


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="leash-kernel-launcher")
    parser.add_argument("--leash", required=True, help="the leash binary")
    parser.add_argument("--leashctl", help="the leashctl binary (default: beside leash)")
    parser.add_argument("--cell-wall", type=float, help="seconds a cell may run")
    parser.add_argument("--cell-cpu", type=float, help="CPU seconds a cell may use")
    parser.add_argument("--cell-wall-text", default="", help="--cell-wall as given")
    parser.add_argument("--cell-cpu-text", default="", help="--cell-cpu as given")
    parser.add_argument(
        "--grace", type=float, default=3.0, help="seconds an interrupted cell has to stop"
    )
    parser.add_argument("-f", dest="connection_file", required=True)
    parser.add_argument("leash_options", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.leash_options[:1] == ["--"]:
        args.leash_options = args.leash_options[1:]
    if args.leashctl is None:
        args.leashctl = os.path.join(os.path.dirname(args.leash), "leashctl")
    return args


class Message:
    """One wire message: routing identities, then the signed frames, left as they are."""

    def __init__(self, frames):
        at = frames.index(DELIMITER)
        self.frames = frames
        self.idents = frames[:at]
        self.header = json.loads(frames[at + 2])
        self.parent = json.loads(frames[at + 3])
        if not isinstance(self.header, dict) or not isinstance(self.parent, dict):
            raise TypeError("not a message: its header and parent are no objects")

    @property
    def type(self):
        return self.header.get("msg_type", "")

    @property
    def parent_id(self):
        return self.parent.get("msg_id")

    @property
    def content(self):
        return json.loads(self.frames[self.frames.index(DELIMITER) + 5])


class Cell:
    """An execute request the kernel has been given, oldest first."""

    def __init__(self, message):
        self.message = message
        self.started = None
        self.cpu_at_start = None
        self.breached = None  # the budget it overran, once interrupted for it
        self.interrupted_at = None


def address(transport, ip, port):
    if transport == "tcp":
        return f"tcp://{ip}:{port}"
    return f"ipc://{ip}-{port}"


def socket_dir(connection_file):
    """A short directory for the kernel's ipc sockets and files (a unix socket's path has
    at most 107 bytes), not below /tmp where that can be helped: --private-tmp and the
    interpreter profile give the kernel a /tmp of its own."""
    candidates = [
        os.environ.get("XDG_RUNTIME_DIR"),
        jupyter_runtime_dir(),
        os.path.dirname(os.path.abspath(connection_file)),
    ]
    for base in candidates:
        if base and len(base) < 60:
            try:
                return tempfile.mkdtemp(prefix="leash-kernel-", dir=base)
            except OSError:
                # Not there, or not writable: under an outer leash's --write, say.
                continue
    return tempfile.mkdtemp(prefix="leash-kernel-")


def jupyter_runtime_dir():
    try:
        from jupyter_core.paths import jupyter_runtime_dir as runtime_dir

        return runtime_dir()
    except ImportError:
        return None


class Kernel:
    """One ipykernel under leash: its process, the launcher's sockets to it, its files."""

    def __init__(self, context, launcher):
        self.dir = socket_dir(launcher.args.connection_file)
        self.session_id = None  # its leash's session in the registry, once looked up
        prefix = os.path.join(self.dir, "k")
        self.report = os.path.join(self.dir, "report.json")
        connection = dict(
            launcher.connection,
            transport="ipc",
            ip=prefix,
            shell_port=1,
            iopub_port=2,
            stdin_port=3,
            control_port=4,
            hb_port=5,
        )
        connection_file = os.path.join(self.dir, "kernel.json")
        with open(connection_file, "w") as f:
            json.dump(connection, f)
        env = dict(os.environ)
        # The launcher watches the frontend. 1 is ipykernel's "no parent to poll": its own
        # poller would take a PID namespace's init (the kernel's parent there is PID 1) for
        # a dead frontend, and without the variable it prints a console-user's banner.
        env["JPY_PARENT_PID"] = "1"
        command = [
            launcher.args.leash,
            *launcher.args.leash_options,
            "--die-with-parent",
            "--on-sigint",
            "forward",
            "--report",
            self.report,
            "--",
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            connection_file,
        ]
        # Its own session and process group: a frontend that kills the launcher's group
        # reaches leash only through --die-with-parent, which stops the session first.
        try:
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.sockets = {}
        identity = uuid.uuid4().bytes
        for channel, port in (("shell", 1), ("control", 4), ("stdin", 3)):
            sock = context.socket(zmq.DEALER)
            sock.setsockopt(zmq.IDENTITY, identity)
            sock.linger = 0
            sock.connect(address("ipc", prefix, port))
            self.sockets[channel] = sock
        iopub = context.socket(zmq.SUB)
        iopub.setsockopt(zmq.SUBSCRIBE, b"")
        iopub.linger = 0
        iopub.connect(address("ipc", prefix, 2))
        self.sockets["iopub"] = iopub
        self.started = time.monotonic()
        self.probed = 0.0
        self.replied = False
        self.published = False

    def exited(self):
        return self.process.poll() is not None

    def reason(self):
        """Why the kernel's session ended, in leash's words, and whether a limit ended it."""
        try:
            with open(self.report) as f:
                report = json.load(f)
        except (OSError, ValueError):
            return f"leash exited with status {self.process.returncode}", False
        if report.get("breach"):
            return report["breach"]["message"], True
        if report.get("error"):
            return report["error"], False
        if report.get("outcome") == "exited":
            return f"the kernel exited with status {report.get('exit_code')}", False
        if report.get("outcome") == "signaled":
            return f"the kernel died of {report.get('signal')}", False
        return f"leash was sent {report.get('signal')}", False

    def stop(self, wait=5.0):
        """End the kernel's session through leash's stop sequence."""
        if not self.exited():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self):
        for sock in self.sockets.values():
            sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def leashctl_json(leashctl, *args):
    """What `leashctl ARGS --json` prints, read; None when it cannot say."""
    try:
        shown = subprocess.run(
            [leashctl, *args, "--json"], capture_output=True, check=True, timeout=5
        )
        return json.loads(shown.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def session_of(leashctl, leash_pid):
    """The id of the session the leash with PID `leash_pid` runs, or None."""
    for row in leashctl_json(leashctl, "list") or []:
        if row.get("supervisor", {}).get("pid") == leash_pid:
            return row.get("id")
    return None


def session_cpu(leashctl, session_id):
    """CPU seconds the session has used, every process it ran included, as leash itself
    counts them (its cgroup's, else its tree in /proc): from `leashctl show`, so that a
    cell's budget and the session's --cpu read one figure. None when leashctl cannot say
    (the budget is then checked at the next round)."""
    shown = leashctl_json(leashctl, "show", session_id) if session_id else None
    try:
        return float(shown["session"]["usage"]["cpu_seconds"])
    except (TypeError, KeyError, ValueError):
        return None


class Launcher:
    """The frontend's side: its sockets, the kernel behind them, and the cells in flight."""

    def __init__(self, args):
        self.args = args
        with open(args.connection_file) as f:
            self.connection = json.load(f)
        self.session = Session(
            key=self.connection.get("key", "").encode(),
            signature_scheme=self.connection.get("signature_scheme", "hmac-sha256"),
        )
        self.context = zmq.Context()
        self.frontend = {}
        for channel in CHANNELS:
            sock = self.context.socket(zmq.ROUTER)
            sock.router_handover = 1
            self.frontend[channel] = sock
        self.frontend["iopub"] = self.context.socket(zmq.PUB)
        self.frontend["hb"] = self.context.socket(zmq.REP)
        for channel, sock in self.frontend.items():
            sock.linger = 1000
            sock.bind(
                address(
                    self.connection["transport"],
                    self.connection["ip"],
                    self.connection[f"{channel}_port"],
                )
            )
        self.parent = os.getppid()
        self.kernel = None
        self.state = "down"  # down, booting, ready, broken
        self.broken = None
        self.held = []
        self.cells = collections.deque()
        self.own = set()
        self.to_tell = {}
        self.notice = None
        self.execution_count = 0
        self.shutting_down = False
        self.cpu_checked = 0.0

    # -- the kernel's life ------------------------------------------------------------

    def boot(self):
        try:
            self.kernel = Kernel(self.context, self)
        except OSError as error:
            self.break_down(f"cannot run {self.args.leash}: {error.strerror}")
            return
        self.state = "booting"

    def probe(self):
        """The handshake jupyter_client's wait_for_ready makes: a kernel_info reply on shell,
        and something on IOPub, so that no output of the first cell is lost."""
        kernel = self.kernel
        now = time.monotonic()
        if kernel.replied and kernel.published:
            self.state = "ready"
            held, self.held = self.held, []
            for channel, message in held:
                self.from_frontend(channel, message)
            return
        if now - kernel.started > BOOT_TIMEOUT:
            kernel.stop()
            self.break_down(f"the kernel did not answer within {BOOT_TIMEOUT:.0f} s")
        elif now - kernel.probed > 0.5:
            kernel.probed = now
            message = self.session.send(kernel.sockets["shell"], "kernel_info_request", {})
            self.own.add(message["header"]["msg_id"])

    def break_down(self, reason, at_a_limit=False):
        """The kernel cannot start: say so to every request, start no other."""
        self.state = "broken"
        under = " under its limits" if at_a_limit else ""
        self.broken = f"leash: the kernel could not start{under}: {reason}"
        sys.stderr.write(self.broken + "\n")
        self.drop_kernel()
        held, self.held = self.held, []
        for channel, message in held:
            self.answer_broken(channel, message)

    def drop_kernel(self):
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None

    def kernel_ended(self):
        kernel = self.kernel
        if self.shutting_down:
            raise SystemExit(0)
        reason, at_a_limit = kernel.reason()
        if self.state == "booting":
            self.break_down(reason, at_a_limit)
            return
        self.drop_kernel()
        self.state = "down"
        if not self.cells:
            # Between cells (a limit on the kernel's lifetime): the next request starts a
            # fresh kernel and its cell hears why; nothing restarts in a loop meanwhile.
            self.notice = (
                f"leash: the kernel was stopped between cells: {reason}; "
                "this is a fresh kernel, variables are gone"
            )
            return
        head = self.cells.popleft()
        self.to_tell.pop(head.message.header.get("msg_id"), None)
        if head.breached:
            text = (
                f"leash: {head.breached}; the cell did not stop within {self.args.grace:g} s "
                "of the interrupt, so the kernel was stopped and a fresh one started: "
                "variables are gone"
            )
        else:
            text = f"leash: {reason}; a fresh kernel was started, variables are gone"
        self.fail_cell(head.message, text, busy=False)
        while self.cells:
            cell = self.cells.popleft()
            self.fail_cell(
                cell.message,
                "leash: not run: the kernel was stopped while an earlier cell ran",
                busy=False,
                status="aborted",
            )
        self.boot()

    # -- answering for the kernel -----------------------------------------------------

    def publish(self, msg_type, content, parent):
        """Publish on IOPub as the kernel would, in reply to the request `parent` (a header)."""
        topic = f"kernel.leash.{msg_type}".encode()
        self.session.send(self.frontend["iopub"], msg_type, content, parent=parent, ident=[topic])

    def reply(self, channel, message, msg_type, content):
        self.session.send(
            self.frontend[channel], msg_type, content, parent=message.header, ident=message.idents
        )

    def error_output(self, parent, text):
        self.publish("error", {"ename": "LeashLimit", "evalue": text, "traceback": [text]}, parent)

    def fail_cell(self, message, text, busy=True, status="error"):
        if busy:
            self.publish("status", {"execution_state": "busy"}, message.header)
        self.error_output(message.header, text)
        self.execution_count += 1
        content = {"status": status, "execution_count": self.execution_count}
        if status == "error":
            content.update(ename="LeashLimit", evalue=text, traceback=[text])
        self.reply("shell", message, "execute_reply", content)
        self.publish("status", {"execution_state": "idle"}, message.header)

    def shut_down(self, channel, message, idle=False):
        """Answer a shutdown request with no kernel to pass it to (then the idle that ends
        its busy, if one was published), and leave."""
        self.reply(channel, message, "shutdown_reply", {"status": "ok", **message.content})
        if idle:
            self.publish("status", {"execution_state": "idle"}, message.header)
        raise SystemExit(0)

    def answer_broken(self, channel, message):
        kind = message.type
        if kind == "execute_request":
            self.fail_cell(message, self.broken)
            return
        self.publish("status", {"execution_state": "busy"}, message.header)
        if kind == "kernel_info_request":
            self.reply(
                channel,
                message,
                "kernel_info_reply",
                {
                    "status": "ok",
                    "protocol_version": "5.3",
                    "implementation": "leash",
                    "implementation_version": "1",
                    "banner": self.broken,
                    "help_links": [],
                    "language_info": {
                        "name": "python",
                        "version": platform.python_version(),
                        "mimetype": "text/x-python",
                        "file_extension": ".py",
                    },
                },
            )
        elif kind == "shutdown_request":
            self.shut_down(channel, message, idle=True)
        elif kind == "interrupt_request":
            self.reply(channel, message, "interrupt_reply", {"status": "ok"})
        elif kind.endswith("_request"):
            self.reply(
                channel,
                message,
                kind[: -len("_request")] + "_reply",
                {"status": "error", "ename": "LeashLimit", "evalue": self.broken, "traceback": []},
            )
        self.publish("status", {"execution_state": "idle"}, message.header)

    # -- relaying ---------------------------------------------------------------------

    def verified(self, frames):
        """The message in `frames` if it is whole and signed with the connection file's key,
        as the kernel itself checks; None for anything else, dropped: a TCP port on loopback
        is open to every local user, and no frame of theirs may end or steer the kernel."""
        try:
            _, signed = self.session.feed_identities(frames, copy=True)
            # Checks the signature (content=False: no digest is kept, the kernel keeps its own).
            self.session.deserialize(signed, content=False)
            return Message(frames)
        except Exception:  # noqa: BLE001 - whatever is wrong with a frame, it is dropped
            return None

    def from_frontend(self, channel, message):
        frames = message.frames
        if self.state == "broken":
            self.answer_broken(channel, message)
            return
        if channel == "control" and message.type == "interrupt_request":
            self.interrupt()
            self.reply(channel, message, "interrupt_reply", {"status": "ok"})
            return
        if self.state == "down" and channel == "control" and message.type == "shutdown_request":
            self.shut_down(channel, message)
        if self.state != "ready":
            self.held.append((channel, message))
            if self.state == "down":
                self.boot()
            return
        if channel == "control" and message.type == "shutdown_request":
            self.shutting_down = True
        if channel == "shell" and message.type == "execute_request":
            if self.notice:
                self.publish(
                    "stream", {"name": "stderr", "text": self.notice + "\n"}, message.header
                )
                self.notice = None
            self.cells.append(Cell(message))
            self.start_clock()
        self.kernel.sockets[channel].send_multipart(frames)

    def from_kernel(self, channel, frames):
        try:
            message = Message(frames)
        except (ValueError, IndexError, TypeError):  # not a message: nothing to pass on
            return
        if frames[0] == DELIMITER:  # the answer to the launcher's own probe
            if message.type == "kernel_info_reply":
                self.kernel.replied = True
            return
        if channel == "iopub":
            if message.parent_id in self.own:
                self.kernel.published = True
                return
            told = self.to_tell.pop(message.parent_id, None) if message.type == "status" else None
            if told and message.content.get("execution_state") == "idle":
                # Last before the idle that ends the cell: after the kernel's own
                # traceback, which frontends that keep an output's tail would cut it for.
                self.error_output(message.parent, told)
            elif told:
                self.to_tell[message.parent_id] = told
            if message.type == "execute_input":
                self.execution_count = message.content.get("execution_count", self.execution_count)
            self.frontend["iopub"].send_multipart(frames)
            return
        self.frontend[channel].send_multipart(frames)
        answered = self.cells and self.cells[0].message.header.get("msg_id") == message.parent_id
        if channel == "shell" and message.type == "execute_reply" and answered:
            self.cells.popleft()
            self.start_clock()

    def start_clock(self):
        if self.cells and self.cells[0].started is None:
            head = self.cells[0]
            head.started = time.monotonic()
            if self.args.cell_cpu is not None:
                head.cpu_at_start = self.cpu_now()

    def cpu_now(self):
        """The kernel's session's CPU seconds so far, as leash counts them (or None)."""
        if self.kernel.session_id is None:
            self.kernel.session_id = session_of(self.args.leashctl, self.kernel.process.pid)
        return session_cpu(self.args.leashctl, self.kernel.session_id)

    def interrupt(self):
        """SIGINT to leash, which passes it to every process of the kernel's session. Not
        while the kernel boots: its imports would die of it."""
        if self.state == "ready" and not self.kernel.exited():
            self.kernel.process.send_signal(signal.SIGINT)

    def watch_budgets(self):
        if not self.cells or self.cells[0].started is None:
            return
        head, now = self.cells[0], time.monotonic()
        if head.interrupted_at is not None:
            if now - head.interrupted_at > self.args.grace:
                self.kernel.stop()
            return
        breach = None
        if self.args.cell_wall is not None and now - head.started > self.args.cell_wall:
            breach = (
                f"the cell's wall-clock budget of {self.args.cell_wall_text} (--cell-wall) ran out"
            )
        elif self.args.cell_cpu is not None and now - self.cpu_checked > CPU_EVERY:
            self.cpu_checked = now
            used = self.cpu_now()
            if head.cpu_at_start is None:
                head.cpu_at_start = used
            elif used is not None and used - head.cpu_at_start > self.args.cell_cpu:
                breach = f"the cell's CPU budget of {self.args.cell_cpu_text} (--cell-cpu) ran out"
        if breach:
            head.breached, head.interrupted_at = breach, now
            text = f"leash: {breach}: the cell was interrupted; variables are kept"
            self.to_tell[head.message.header.get("msg_id")] = text
            self.interrupt()

    # -- the loop ---------------------------------------------------------------------

    def run(self):
        poller = zmq.Poller()
        for sock in self.frontend.values():
            poller.register(sock, zmq.POLLIN)
        watched = None
        while True:
            if self.kernel is not watched:
                if watched is not None:
                    for sock in watched.sockets.values():
                        poller.unregister(sock)
                if self.kernel is not None:
                    for sock in self.kernel.sockets.values():
                        poller.register(sock, zmq.POLLIN)
                watched = self.kernel
            ready = dict(poller.poll(POLL_MS))
            for sock in ready:
                self.dispatch(sock)
            if os.getppid() != self.parent:
                raise SystemExit(0)
            if self.kernel is not None and self.kernel is watched and self.kernel.exited():
                self.drain()
                self.kernel_ended()
            elif self.state == "booting":
                self.probe()
            elif self.state == "ready":
                self.watch_budgets()

    def dispatch(self, sock):
        if sock is self.frontend["hb"]:
            sock.send_multipart(sock.recv_multipart())
            return
        for channel in CHANNELS:
            if sock is self.frontend[channel]:
                message = self.verified(sock.recv_multipart())
                if message is not None:
                    self.from_frontend(channel, message)
                return
        if self.kernel is not None:
            for channel, own in self.kernel.sockets.items():
                if sock is own:
                    self.from_kernel(channel, sock.recv_multipart())
                    return

    def drain(self):
        """Pass on what the kernel said before it ended (its last outputs and replies)."""
        for channel, sock in self.kernel.sockets.items():
            while sock.poll(0):
                self.from_kernel(channel, sock.recv_multipart())

    def close(self):
        if self.kernel is not None:
            self.kernel.stop(wait=3.0)
            self.kernel.close()
        for sock in self.frontend.values():
            sock.close(linger=200)
        self.context.term()


def die_with_parent():
    """SIGTERM when the frontend dies (PR_SET_PDEATHSIG), so the kernel goes too."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


LEAVING = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def leave(*_):
    """SIGTERM, SIGHUP, SIGQUIT: end the kernel, remove its directory and leave. Once: a
    dying frontend may send them twice (its death signal), and a second SystemExit would
    cut the first one's cleanup short."""
    for number in LEAVING:
        signal.signal(number, signal.SIG_IGN)
    sys.exit(0)


def main():
    args = parse_args(sys.argv[1:])
    die_with_parent()
    for number in LEAVING:
        signal.signal(number, leave)
    launcher = Launcher(args)
    signal.signal(signal.SIGINT, lambda *_: launcher.interrupt())
    try:
        launcher.run()
    finally:
        launcher.close()


if __name__ == "__main__":
    main()
