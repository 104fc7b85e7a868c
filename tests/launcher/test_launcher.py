"""Unit tests of the kernel launcher (src/front/ctl/kernel/launcher.py), run by the suite's
`kernel::the_launchers_own_unit_tests_pass` with an interpreter that has pyzmq and
jupyter_client, as every kernel's has."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src", "front", "ctl", "kernel"))

import launcher  # found through the path above


def frames(header, parent=None, content=None, idents=(b"frontend",)):
    """A wire message as a frontend sends it: identities, the delimiter, a signature,
    then header, parent header, metadata and content."""
    return [
        *idents,
        launcher.DELIMITER,
        b"signature",
        json.dumps(header).encode(),
        json.dumps(parent or {}).encode(),
        b"{}",
        json.dumps(content or {}).encode(),
    ]


class ParseArgs(unittest.TestCase):
    def test_budgets_and_the_leash_options_after_the_separator(self):
        args = launcher.parse_args(
            ["--leash", "/usr/bin/leash", "--cell-wall", "600", "--cell-wall-text", "10m"]
            + ["-f", "kernel.json", "--", "--mem", "4G", "--procs", "256"]
        )
        self.assertEqual(args.leash, "/usr/bin/leash")
        self.assertEqual(args.cell_wall, 600.0)
        self.assertEqual(args.cell_wall_text, "10m")
        self.assertIsNone(args.cell_cpu)
        self.assertEqual(args.grace, 3.0)
        self.assertEqual(args.connection_file, "kernel.json")
        self.assertEqual(args.leash_options, ["--mem", "4G", "--procs", "256"])

    def test_the_leash_binary_and_the_connection_file_are_required(self):
        with mock.patch("sys.stderr"), self.assertRaises(SystemExit):
            launcher.parse_args(["-f", "kernel.json"])


class WireMessages(unittest.TestCase):
    def test_a_message_keeps_its_identities_and_reads_its_parts(self):
        message = launcher.Message(
            frames(
                {"msg_id": "b", "msg_type": "execute_request"},
                parent={"msg_id": "a"},
                content={"code": "1 + 1"},
                idents=(b"one", b"two"),
            )
        )
        self.assertEqual(message.idents, [b"one", b"two"])
        self.assertEqual(message.type, "execute_request")
        self.assertEqual(message.parent_id, "a")
        self.assertEqual(message.content, {"code": "1 + 1"})

    def test_a_header_without_a_type_has_an_empty_one(self):
        message = launcher.Message(frames({"msg_id": "c"}))
        self.assertEqual(message.type, "")
        self.assertIsNone(message.parent_id)


class Addresses(unittest.TestCase):
    def test_tcp_and_ipc_as_zeromq_writes_them(self):
        self.assertEqual(launcher.address("tcp", "127.0.0.1", 5555), "tcp://127.0.0.1:5555")
        self.assertEqual(launcher.address("ipc", "/run/k", 3), "ipc:///run/k-3")

    def test_the_socket_directory_is_short_and_not_below_tmp_where_that_can_be_helped(self):
        with tempfile.TemporaryDirectory(dir=os.getcwd()) as base:
            short = os.path.relpath(base) if len(base) >= 60 else base
            with mock.patch.dict(os.environ, {"XDG_RUNTIME_DIR": short}):
                made = launcher.socket_dir(os.path.join(base, "kernel.json"))
            self.assertTrue(os.path.isdir(made))
            self.assertEqual(os.path.dirname(os.path.abspath(made)), os.path.abspath(short))
            self.assertTrue(os.path.basename(made).startswith("leash-kernel-"))

    def test_a_base_too_long_for_a_socket_path_is_passed_over(self):
        too_long = "/nonexistent/" + "x" * 60
        with (
            mock.patch.dict(os.environ, {"XDG_RUNTIME_DIR": too_long}),
            mock.patch.object(launcher, "jupyter_runtime_dir", return_value=None),
            tempfile.TemporaryDirectory() as base,
        ):
            made = launcher.socket_dir(os.path.join(base, "kernel.json"))
            self.assertEqual(os.path.dirname(made), base)


class SessionCpu(unittest.TestCase):
    def test_a_running_descendant_and_a_reaped_one_both_count(self):
        burn = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
        subprocess.run([sys.executable, "-c", burn], check=True)
        spinner = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)\n"])
        try:
            time.sleep(1.0)
            used = launcher.session_cpu(os.getpid())
            # Both burnt 0.4 s; the clock ticks are coarse, the interpreters' start adds.
            self.assertGreater(used, 0.7)
            self.assertLess(used, 5.0)
        finally:
            spinner.kill()
            spinner.wait()

    def test_a_process_with_no_descendants_has_used_nothing_of_the_session(self):
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            self.assertEqual(launcher.session_cpu(sleeper.pid), 0.0)
        finally:
            sleeper.kill()
            sleeper.wait()


if __name__ == "__main__":
    unittest.main()
