#!/usr/bin/env python3
"""End to end: the session lifecycle an operator drives (issue 5).

- SIGHUP to dtlsgw-control reloads the PSK file; a PSK identity it no
  longer holds has its established sessions closed by the dataplane.
- scripts/dtlsgwctl lists a session (peer, identity, suite, never keys) and
  closes it with a close_notify.
- dtlsgw-control exits with a clear message when the dataplane dies.
- A bad PSK file stops dtlsgw-control with a message naming it.
"""
import os
import re
import signal
import subprocess
import sys
import time

from e2e_common import BUILD_DIR, E2ETestCase, main, require_root, testbed

CTL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                   "dtlsgwctl")


def setUpModule():
    require_root()


class Lifecycle(E2ETestCase):
    time_limit = 90

    def setUp(self):
        super().setUp()
        self.tb = testbed.Testbed(BUILD_DIR).up()
        self.addCleanup(self.tb.down)

    def established(self, cipher, psk):
        c = self.tb.openssl_client(cipher, psk=psk)
        c.send("hello\n")
        c.wait_output("hello", 10)
        return c

    def ctl(self, *args):
        return subprocess.run([sys.executable, CTL, "--file-prefix", self.tb.topo.dpdk_prefix,
                               *args], capture_output=True, text=True, timeout=30)

    def test_sighup_reload_without_the_identity_closes_its_sessions(self):
        gw = self.tb.gateway
        psk_client = self.established("PSK-AES128-CCM8", psk=True)
        cert_client = self.established("ECDHE-ECDSA-AES128-GCM-SHA256", psk=False)
        self.assertEqual(gw.stats()["sessions"], 2)
        with open(self.tb.psk) as f:
            lines = f.read().splitlines()
        kept = [l for l in lines if not l.startswith(testbed.DEMO_PSK_IDENTITY + ":")]
        self.assertEqual(len(kept), len(lines) - 1)
        with open(self.tb.psk, "w") as f:
            f.write("\n".join(kept) + "\n")
        os.kill(gw.control.pid, signal.SIGHUP)
        gw.control.wait_log(r"reloaded certificates and PSKs", 10)
        stats = gw.wait_stats(lambda s: s["sessions"] == 1, 10, "the PSK session closed")
        self.assertGreaterEqual(stats["sessions_closed"], 1)
        # The certificate session is untouched.
        cert_client.send("still here\n")
        cert_client.wait_output("still here", 10)
        # The revoked identity cannot handshake again.
        again = self.tb.openssl_client("PSK-AES128-CCM8", psk=True)
        self.assertNotEqual(again.wait(20), 0)
        for p in (psk_client, cert_client):
            self.tb.reap(p)

    def test_dtlsgwctl_lists_and_closes_a_session(self):
        c = self.established("PSK-AES128-CCM8", psk=True)
        r = self.ctl("sessions")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(testbed.DEMO_PSK_IDENTITY, r.stdout)
        self.assertIn("PSK-AES128-CCM8", r.stdout)
        self.assertIn("1 sessions", r.stdout)
        self.assertNotIn(testbed.DEMO_PSK_KEY, r.stdout)
        peer = re.search(r"^(\d+\.\d+\.\d+\.\d+:\d+)\s", r.stdout, re.M).group(1)
        r = self.ctl("close", peer)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.tb.gateway.wait_stats(lambda s: s["sessions"] == 0, 10, "the session closed")
        # The client got a close_notify and ends on its own.
        self.assertEqual(c.wait(15), 0, c.stderr)

    def test_control_exits_when_the_dataplane_dies(self):
        gw = self.tb.gateway
        gw.dataplane.stop(signal.SIGKILL)
        status = gw.control.wait(15)
        self.assertNotEqual(status, 0)
        self.assertIn("the dataplane is gone", gw.control.log_text())

    def test_bad_psk_file_is_a_clear_error(self):
        gw = self.tb.gateway
        bad = os.path.join(self.tb.run_dir, "bad-psk.txt")
        with open(bad, "w") as f:
            f.write("no-colon-here\n")
        with open(gw.config_path) as f:
            text = f.read()
        config = os.path.join(self.tb.run_dir, "bad.toml")
        with open(config, "w") as f:
            f.write(text.replace(self.tb.psk, bad))
        r = subprocess.run([gw.control_bin, "--lcores", "3@0", "--proc-type=secondary",
                            "--file-prefix", self.tb.topo.dpdk_prefix, "--no-pci",
                            "--log-level", "lib.eal:error", "--", "--config", config,
                            "--wait", "10"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad-psk.txt", r.stderr)
        # The running gateway is unaffected.
        c = self.established("PSK-AES128-CCM8", psk=True)
        self.tb.reap(c)


if __name__ == "__main__":
    main(__name__)
