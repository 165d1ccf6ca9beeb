#!/usr/bin/env python3
"""scripts/dtlsgw-prometheus against a running dtlsgw-dataplane (two
workers on net_null devices, no hugepages): what it serves over HTTP and
prints with --once passes a strict checker of the Prometheus text
exposition format 0.0.4 (HELP and TYPE before every family's samples,
valid names and labels, numeric values, no duplicate series), carries
every counter the dataplane describes with its description, and each
counter's per-worker samples sum to its total. Without a dataplane it
reports dtlsgw_up 0."""
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BINARY = sys.argv.pop(1)
EXPORTER = sys.argv.pop(1)  # scripts/dtlsgw-prometheus

CONFIG = """
[dataplane]
workers = [1, 2]
max_sessions = 1024
mbufs = 2048
summary_interval = "0s"

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

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text, where):
    """'a="x",b="y"' → dict, strictly (escapes \\\\, \\", \\n only)."""
    labels = {}
    i = 0
    while i < len(text):
        m = LABEL_NAME.match(text, i)
        if not m:
            raise ValueError("%s: bad label name at %r" % (where, text[i:]))
        name = m.group(0)
        if name.startswith("__"):
            raise ValueError("%s: reserved label name %s" % (where, name))
        i = m.end()
        if text[i:i + 2] != '="':
            raise ValueError("%s: expected =\" after %s" % (where, name))
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise ValueError("%s: unterminated label value" % where)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("%s: bad escape \\%s" % (where, nxt))
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: line feed in a label value" % where)
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ValueError("%s: label %s twice" % (where, name))
        labels[name] = "".join(value)
        if i < len(text):
            if text[i] != ",":
                raise ValueError("%s: expected ',' at %r" % (where, text[i:]))
            i += 1
    return labels


def check_exposition(text):
    """Strict text format 0.0.4 checker. Returns {family: {"help", "type",
    "samples": {frozenset(labels.items()): value}}}; raises ValueError."""
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a line feed")
    families = {}
    current = None  # the family whose samples may follow
    finished = set()
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % number
        if line == "":
            raise ValueError("%s: empty line" % where)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ValueError("%s: bad metric name %r" % (where, name))
                f = families.setdefault(name, {"help": None, "type": None, "samples": {}})
                if name in finished or f["samples"]:
                    raise ValueError("%s: %s for %s after its samples" % (where, parts[1], name))
                if current is not None and current != name:
                    finished.add(current)
                current = name
                key = parts[1].lower()
                if f[key] is not None:
                    raise ValueError("%s: second %s for %s" % (where, parts[1], name))
                rest = parts[3] if len(parts) > 3 else ""
                if key == "type":
                    if rest not in TYPES:
                        raise ValueError("%s: bad type %r" % (where, rest))
                elif re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    raise ValueError("%s: bad escape in HELP" % where)
                f[key] = rest
            continue  # other comments are allowed
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?", line)
        if not m:
            raise ValueError("%s: not a sample: %r" % (where, line))
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        if name != current or name not in families:
            raise ValueError("%s: sample of %s outside its family" % (where, name))
        f = families[name]
        if f["help"] is None or f["type"] is None:
            raise ValueError("%s: %s has no HELP or no TYPE before its samples" % (where, name))
        try:
            v = float(value)
        except ValueError:
            raise ValueError("%s: value %r is not a number" % (where, value))
        if f["type"] == "counter" and (math.isnan(v) or v < 0):
            raise ValueError("%s: counter %s is negative" % (where, name))
        key = frozenset(parse_labels(labels, where).items())
        if key in f["samples"]:
            raise ValueError("%s: duplicate series %s%s" % (where, name, labels))
        f["samples"][key] = v
    for name, f in families.items():
        if f["help"] is None or f["type"] is None:
            raise ValueError("%s lacks HELP or TYPE" % name)
        if not f["samples"]:
            raise ValueError("%s has no sample" % name)
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ValueError("counter %s does not end in _total" % name)
    return families


def telemetry(prefix, command):
    runtime = "/var/run/dpdk" if os.geteuid() == 0 else os.path.join(
        os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(os.path.join(runtime, prefix, "dpdk_telemetry.v2"))
        json.loads(s.recv(16384).decode())
        s.send(command.encode())
        reply = json.loads(s.recv(1 << 20).decode())
    return reply[command.split(",")[0]]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CheckerCatchesBadExpositions(unittest.TestCase):
    """The checker must be able to fail."""

    GOOD = ('# HELP a_total x\n# TYPE a_total counter\na_total 3\na_total{worker="0"} 3\n')

    def test_good(self):
        f = check_exposition(self.GOOD)
        self.assertEqual(f["a_total"]["samples"][frozenset()], 3)

    def test_bad(self):
        for bad in [
            self.GOOD.replace("# HELP a_total x\n", ""),
            self.GOOD.replace("# TYPE a_total counter\n", ""),
            self.GOOD.replace("counter", "countr"),
            self.GOOD.replace("a_total 3", "a_total three"),
            self.GOOD.replace('{worker="0"}', '{worker="0}'),
            self.GOOD.replace('{worker="0"}', '{0worker="0"}'),
            self.GOOD.replace('{worker="0"}', ""),  # duplicate series
            self.GOOD.replace("a_total 3\n", "a-b 3\n"),
            self.GOOD.rstrip("\n"),
            self.GOOD + "# HELP a_total again\n",
            self.GOOD.replace("a_total 3", "a_total -3"),
            self.GOOD + "b_total 1\n",
        ]:
            with self.assertRaises(ValueError, msg=bad):
                check_exposition(bad)


class Exporter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        path = os.path.join(cls.dir.name, "gw.toml")
        with open(path, "w") as f:
            f.write(CONFIG)
        cls.prefix = "dtlsgw_prom_%d" % os.getpid()
        # Three lcores (main and two workers) on whatever CPUs there are.
        cpus = sorted(os.sched_getaffinity(0))
        lcores = "0@%d,1@%d,2@%d" % (cpus[0], cpus[-1], cpus[0])
        cls.dataplane = subprocess.Popen(
            [BINARY, "--lcores", lcores, "--no-huge", "-m", "256", "--no-pci",
             "--file-prefix", cls.prefix, "--vdev", "net_null0", "--vdev", "net_null1",
             "--", "--config", path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        cls.stats = None
        while time.time() < deadline and cls.dataplane.poll() is None:
            try:
                cls.stats = telemetry(cls.prefix, "/dtlsgw/stats")
                if cls.stats and cls.stats["rx_packets"] > 0:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        cls.port = free_port()
        cls.exporter = subprocess.Popen(
            [sys.executable, EXPORTER, "--file-prefix", cls.prefix, "--listen",
             "127.0.0.1:%d" % cls.port],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @classmethod
    def tearDownClass(cls):
        cls.exporter.terminate()
        cls.exporter.communicate(timeout=30)
        cls.dataplane.send_signal(signal.SIGTERM)
        cls.dataplane.communicate(timeout=30)
        cls.dir.cleanup()

    def scrape(self):
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port,
                                            timeout=10) as r:
                    return r.headers.get("Content-Type"), r.read().decode()
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def check_counters(self, families):
        described = telemetry(self.prefix, "/dtlsgw/counters")
        self.assertGreater(len(described), 10)
        for counter, description in described.items():
            name = "dtlsgw_%s_total" % counter
            self.assertIn(name, families)
            f = families[name]
            self.assertEqual(f["type"], "counter")
            self.assertEqual(f["help"], description)
            samples = f["samples"]
            total = samples[frozenset()]
            workers = {dict(k)["worker"]: v for k, v in samples.items() if k}
            self.assertEqual(sorted(workers), ["0", "1"], name)
            self.assertEqual(sum(workers.values()), total, name)

    def test_http_metrics_pass_the_strict_checker(self):
        self.assertIsNotNone(self.stats, "the dataplane never answered telemetry")
        content_type, text = self.scrape()
        self.assertEqual(content_type, "text/plain; version=0.0.4; charset=utf-8")
        families = check_exposition(text)
        self.assertEqual(families["dtlsgw_up"]["samples"][frozenset()], 1)
        self.assertEqual(families["dtlsgw_workers"]["samples"][frozenset()], 2)
        self.assertEqual(families["dtlsgw_session_capacity"]["samples"][frozenset()], 1024)
        self.assertEqual(families["dtlsgw_sessions"]["samples"][frozenset()], 0)
        self.check_counters(families)
        # net_null's zero frames: both workers receive and drop them.
        rx = families["dtlsgw_rx_packets_total"]["samples"]
        self.assertGreater(rx[frozenset()], 0)
        # Counters only grow between scrapes.
        later = check_exposition(self.scrape()[1])
        self.assertGreaterEqual(later["dtlsgw_rx_packets_total"]["samples"][frozenset()],
                                rx[frozenset()])

    def test_once_prints_the_same_format(self):
        r = subprocess.run([sys.executable, EXPORTER, "--file-prefix", self.prefix, "--once"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        families = check_exposition(r.stdout)
        self.check_counters(families)

    def test_no_dataplane_is_up_0(self):
        r = subprocess.run([sys.executable, EXPORTER, "--file-prefix", "dtlsgw_prom_none",
                            "--once"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        families = check_exposition(r.stdout)
        self.assertEqual(families["dtlsgw_up"]["samples"][frozenset()], 0)
        self.assertIn("no dataplane", r.stderr)


if __name__ == "__main__":
    unittest.main()
