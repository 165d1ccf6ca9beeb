#!/usr/bin/env python3
"""End to end: dtlsgw-loadgen's data mode over net_memif, in any build.

The gateway itself needs a -Dstatic_keys=true build to take the data
mode's sessions (bench/memif_scenario.py runs that), so this test drives
the load generator through the other forwarder of the memif scenario,
dpdk-testpmd in io mode on two memif server vdevs:

- plain datagrams (--direction plain) cross it and every one verifies;
- records forwarded as they are (not decrypted: what a broken gateway
  would do) are refused by the open direction's checks: exit status 1 and
  counted failures, not silence.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
sys.path.insert(0, os.path.join(TOP, "bench"))
sys.dont_write_bytecode = True

from e2e_common import BUILD_DIR, E2ETestCase, main, require_root  # noqa: E402
import memif_scenario as scenario  # noqa: E402

LOADGEN = os.path.join(BUILD_DIR, "bench", "loadgen", "dtlsgw-loadgen")
SESSIONS = 64


def setUpModule():
    require_root()
    import unittest
    if not os.access(LOADGEN, os.X_OK):
        raise unittest.SkipTest("dtlsgw-loadgen is not built (meson -Dbenchmarks=true, DPDK)")
    if shutil.which("dpdk-testpmd") is None:
        raise unittest.SkipTest("dpdk-testpmd is missing (Debian package dpdk)")
    if scenario.free_hugepages() < 128:
        raise unittest.SkipTest("fewer than 128 free 2 MiB hugepages (scripts/setup)")


class LoadgenOverTestpmd(E2ETestCase):
    time_limit = 120

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="dtlsgw-loadgen-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.keys = os.path.join(self.tmp, "keys")
        self.config = os.path.join(self.tmp, "gateway.toml")
        scenario.write_static_keys(self.keys, SESSIONS)
        scenario.write_config(self.config, self.keys, SESSIONS)
        self.testpmd = scenario.start_testpmd(self.tmp)
        self.addCleanup(self.testpmd.stop)

    def loadgen(self, *options):
        out = os.path.join(self.tmp, "result.json")
        argv = [LOADGEN, "data", "-l", "0", "--no-pci", "--file-prefix", "dtlsgw_lg_e2e",
                "--huge-unlink", "--no-telemetry", "--log-level", "*:error"] + \
            scenario.memif_vdevs(self.tmp, "client") + \
            ["--", "--config", self.config, "--outside-port", "net_memif0", "--inside-port",
             "net_memif1", "--size", "64,1400", "--duration", "0.5", "--warmup", "0.2",
             "--rate", "20000", "--check-every", "1", "--json", out] + list(options)
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        result = None
        if os.path.exists(out):
            with open(out) as f:
                result = json.load(f)
        return proc, result

    def test_plain_datagrams_cross_and_all_verify(self):
        proc, result = self.loadgen("--direction", "plain")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIsNotNone(result)
        self.assertEqual([r["size"] for r in result["results"]], [64, 1400])
        for r in result["results"]:
            self.assertGreater(r["sent"], 1000, r)
            # At 20,000 pps a forwarder loses nothing on a quiet machine;
            # allow a little for a loaded one.
            self.assertGreaterEqual(r["received"], 0.9 * r["sent"], r)
            self.assertEqual(r["full_checks"], r["received"] + r["late"] + r["duplicates"], r)
            self.assertEqual(sum(r["failures"].values()), 0, r)
            self.assertGreater(r["latency_ns"]["p50"], 0, r)
            self.assertEqual(r["frame_bytes"], 42 + r["size"])

    def test_records_that_were_not_decrypted_fail_verification(self):
        proc, result = self.loadgen("--direction", "open")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIsNotNone(result)
        for r in result["results"]:
            self.assertEqual(r["received"], 0, r)
            self.assertGreater(sum(r["failures"].values()), 1000, r)
        self.assertIn("packets failed", proc.stderr)


if __name__ == "__main__":
    main(__name__)
