#!/usr/bin/env python3
"""dtlsgw-dataplane as a user runs it: configuration errors name the key
and exit non-zero; a run on two net_null devices (no hugepages) serves
DPDK telemetry (/dtlsgw/stats, /dtlsgw/counters, /dtlsgw/sessions),
prints its summary line and stops cleanly on SIGTERM."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BINARY = sys.argv.pop(1)
CTL = sys.argv.pop(1)  # scripts/dtlsgwctl

GOOD = """
[dataplane]
workers = [1]
max_sessions = 1024
mbufs = 2048
summary_interval = "1s"

[outside]
port = 0
address = "192.0.2.1"

[inside]
port = 1
address = "10.0.0.1"

[[listener]]
port = 4433
backend = "10.0.0.2:7"
"""


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def telemetry(prefix, command):
    """One command over the telemetry socket (the protocol dpdk-telemetry.py speaks)."""
    runtime = "/var/run/dpdk" if os.geteuid() == 0 else os.path.join(
        os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    path = os.path.join(runtime, prefix, "dpdk_telemetry.v2")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    json.loads(s.recv(16384).decode())  # the greeting
    s.send(command.encode())
    reply = json.loads(s.recv(1 << 20).decode())
    s.close()
    return reply[command.split(",")[0]]


class DataplaneCli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def check(self, text):
        path = write(self.dir.name, "gw.toml", text)
        return subprocess.run([BINARY, "--", "--config", path, "--check-config"],
                              capture_output=True, text=True, timeout=30)

    def test_good_configuration_passes_the_check(self):
        r = self.check(GOOD)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_unknown_key_is_named(self):
        r = self.check(GOOD.replace("backend =", "bakend ="))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("listener[0].bakend", r.stderr)

    def test_missing_key_is_named(self):
        r = self.check(GOOD.replace('address = "192.0.2.1"', ""))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("outside.address", r.stderr)

    def test_missing_file_is_an_error(self):
        r = subprocess.run([BINARY, "--", "--config", "/nonexistent.toml"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("/nonexistent.toml", r.stderr)

    def test_missing_port_is_an_error(self):
        path = write(self.dir.name, "gw.toml", GOOD.replace("port = 1\n", "port = 7\n", 1))
        prefix = "dtlsgw_cli_%d" % os.getpid()
        r = subprocess.run([BINARY, "-l", "0,1", "--no-huge", "-m", "256", "--no-pci",
                            "--file-prefix", prefix, "--vdev", "net_null0", "--vdev",
                            "net_null1", "--", "--config", path],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("inside.port", r.stderr)

    def test_runs_serves_telemetry_and_stops_on_sigterm(self):
        path = write(self.dir.name, "gw.toml", GOOD)
        prefix = "dtlsgw_cli_run_%d" % os.getpid()
        p = subprocess.Popen([BINARY, "-l", "0,1", "--no-huge", "-m", "256", "--no-pci",
                              "--file-prefix", prefix, "--vdev", "net_null0", "--vdev",
                              "net_null1", "--", "--config", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            stats = None
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    stats = telemetry(prefix, "/dtlsgw/stats")
                    if stats and stats["rx_packets"] > 0:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.2)
            self.assertIsNotNone(stats, "no telemetry")
            # net_null sends zero-filled frames: every one is a counted drop.
            self.assertGreater(stats["rx_packets"], 0)
            self.assertGreater(stats["drop_not_ipv4"], 0)
            self.assertEqual(stats["session_capacity"], 1024)
            worker0 = telemetry(prefix, "/dtlsgw/stats,0")
            self.assertIn("rx_packets", worker0)
            described = telemetry(prefix, "/dtlsgw/counters")
            self.assertEqual(set(described), set(stats) - {"sessions", "session_capacity"})
            self.assertTrue(all(described.values()))
            sessions = telemetry(prefix, "/dtlsgw/sessions")
            self.assertEqual(sessions["total"], 0)
            closed = telemetry(prefix, "/dtlsgw/close,192.0.2.9:5000")
            self.assertEqual(closed, {"found": 0, "queued": 0})
            # The operator's tool over the same socket.
            ctl = [sys.executable, CTL, "--file-prefix", prefix]
            r = subprocess.run(ctl + ["stats"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"rx_packets +[1-9]")
            r = subprocess.run(ctl + ["sessions"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("0 sessions", r.stdout)
            r = subprocess.run(ctl + ["close", "192.0.2.9:5000"], capture_output=True, text=True,
                               timeout=30)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("no session", r.stderr)
            time.sleep(1.2)
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("running, 1 workers", out)
        self.assertIn("sessions 0, rx", out)
        self.assertIn("stopping:", out)


if __name__ == "__main__":
    unittest.main()
