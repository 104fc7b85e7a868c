"""Unit tests of the kernel launcher (src/front/ctl/kernel/launcher.py), run by the suite's
`kernel::the_launchers_own_unit_tests_pass` with an interpreter that has pyzmq and
jupyter_client, as every kernel's has."""

import json
import os
import sys
import tempfile
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


class Signatures(unittest.TestCase):
    """Only messages signed with the connection file's key reach the launcher's logic."""

    def setUp(self):
        from jupyter_client.session import Session

        self.launcher = mock.Mock(session=Session(key=b"the key"))
        self.signer = Session(key=b"the key")

    def verified(self, frames_):
        return launcher.Launcher.verified(self.launcher, frames_)

    def test_a_message_signed_with_the_key_is_read(self):
        signed = self.signer.serialize(self.signer.msg("interrupt_request"), ident=[b"fe"])
        self.assertEqual(self.verified(signed).type, "interrupt_request")

    def test_unsigned_wrongly_signed_and_broken_frames_are_dropped(self):
        unsigned = frames({"msg_id": "i", "msg_type": "interrupt_request"})
        unsigned[2] = b""
        other = mock.Mock()
        from jupyter_client.session import Session

        forged = Session(key=b"another key")
        wrong = forged.serialize(forged.msg("interrupt_request"), ident=[b"fe"])
        for broken in (unsigned, wrong, [b"no delimiter"], [launcher.DELIMITER], [], [b"\xff"] * 7):
            self.assertIsNone(self.verified(broken), broken)
        other.assert_not_called()


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
    """The CPU time of the kernel's session, read by leashctl as leash reads it; here a
    stand-in leashctl that says what it was asked and answers as the real one does."""

    def leashctl(self, directory, answer, status=0):
        path = os.path.join(directory, "leashctl")
        with open(path, "w") as script:
            script.write(
                "#!/bin/sh\n"
                f'echo "$@" > "{directory}/asked"\n'
                f"cat <<'EOF'\n{answer}\nEOF\n"
                f"exit {status}\n"
            )
        os.chmod(path, 0o755)
        return path

    def test_the_figure_is_leashctls_for_the_session_of_the_leash_pid(self):
        with tempfile.TemporaryDirectory() as directory:
            listed = [{"id": "other", "supervisor": {"pid": 1}}]
            listed.append({"id": "k3x9qa", "supervisor": {"pid": 4321}})
            leashctl = self.leashctl(directory, json.dumps(listed))
            self.assertEqual(launcher.session_of(leashctl, 4321), "k3x9qa")
            self.assertIsNone(launcher.session_of(leashctl, 99))
            with open(os.path.join(directory, "asked")) as asked:
                self.assertEqual(asked.read().split(), ["list", "--json"])
            shown = {"session": {"usage": {"cpu_seconds": 2.5}}, "control": []}
            leashctl = self.leashctl(directory, json.dumps(shown))
            self.assertEqual(launcher.session_cpu(leashctl, "k3x9qa"), 2.5)
            with open(os.path.join(directory, "asked")) as asked:
                self.assertEqual(asked.read().split(), ["show", "k3x9qa", "--json"])

    def test_no_figure_when_leashctl_cannot_say(self):
        with tempfile.TemporaryDirectory() as directory:
            failing = self.leashctl(directory, "leashctl: no session k3x9qa", status=1)
            self.assertIsNone(launcher.session_cpu(failing, "k3x9qa"))
            self.assertIsNone(launcher.session_of(failing, 4321))
            garbled = self.leashctl(directory, "not json")
            self.assertIsNone(launcher.session_cpu(garbled, "k3x9qa"))
            self.assertIsNone(launcher.session_cpu(os.path.join(directory, "none"), "k3x9qa"))
            self.assertIsNone(launcher.session_cpu(garbled, None))

    def test_leashctl_is_found_beside_leash_unless_named(self):
        args = launcher.parse_args(["--leash", "/opt/leash/bin/leash", "-f", "k.json"])
        self.assertEqual(args.leashctl, "/opt/leash/bin/leashctl")
        args = launcher.parse_args(
            ["--leash", "/opt/leash/bin/leash", "--leashctl", "/usr/bin/leashctl", "-f", "k"]
        )
        self.assertEqual(args.leashctl, "/usr/bin/leashctl")


if __name__ == "__main__":
    unittest.main()
