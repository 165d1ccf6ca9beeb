#!/usr/bin/env python3
"""The memif scenario of bench/run (issue 8, scenarios 3 and 5).

dtlsgw-dataplane (a -Dstatic_keys=true build) runs as the memif *server* on
two vdevs (outside, inside) with static-key sessions; dtlsgw-loadgen's data
mode is the memif client playing the peers and the backends. The
throughput is reported as a ratio to 1/(t_crypto + t_io), both measured in
this same run:

  t_crypto  raw IPsec-MB AES-128-GCM per record on the same sizes
            (`dtlsgw-loadgen data -- --raw-aead`: bench/raw_aead.h, the
            fastest of its interfaces per size and operation);
  t_io      DPDK I/O forwarding over the same memif with no crypto:
            dpdk-testpmd in io forward mode on the same two memif server
            vdevs, the load generator sending plain UDP of the same sizes
            (`--direction plain`), 1 / its forwarded packets per second.

Then a session-scale sweep (1, 1,000, 100,000, 1,000,000 sessions; 1400 B
and 64 B, open direction) with the dataplane's memory per session, parsed
from the line it prints at start.

  bench/memif_scenario.py --build DIR --out FILE.json [--quick]

Python standard library only. A missed target is reported, never an
error; the exit status is 1 only when a run could not be made or the load
generator saw packets that failed verification.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SIZES = [64, 256, 1024, 1400]
SWEEP_SESSIONS = [1, 1000, 100000, 1000000]
SWEEP_SIZES = [1400, 64]
MAIN_SESSIONS = 1000
LISTENERS = 32  # 40,000 inside source ports each: 1,000,000 sessions fit
OUTSIDE_ADDRESS = "198.19.255.254"  # the peers are in 198.18.0.0/15 (RFC 2544)
BACKEND = "10.0.0.2"
TARGETS = {1400: 0.8, 64: 0.6}  # of 1/(t_crypto + t_io)
SWEEP_TARGET = 0.7  # 1,000,000 sessions against 1, at 1400 B
# The seal direction's warm-up sends records too: its sequence numbers
# start above anything the open direction used against the same dataplane.
SEAL_FIRST_SEQUENCE = 1 << 40


def log(message):
    print("memif_scenario: " + message, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def free_hugepages():
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            return int(f.read())
    except OSError:
        return 0


HUGEPAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def total_hugepages():
    try:
        with open(HUGEPAGES) as f:
            return int(f.read())
    except OSError:
        return 0


def ensure_hugepages(pages, allowed):
    """Raises the 2 MiB page reservation to `pages` free ones through
    scripts/setup (DTLSGW_HUGEPAGES); returns the total before, or None
    when nothing was changed."""
    free = free_hugepages()
    if free >= pages or not allowed:
        return None
    before = total_hugepages()
    want = before + (pages - free)
    log("%d free 2 MiB hugepages, %d needed: scripts/setup with DTLSGW_HUGEPAGES=%d" %
        (free, pages, want))
    subprocess.run(["bash", os.path.join(REPO, "scripts", "setup")], check=False,
                   env=dict(os.environ, DTLSGW_HUGEPAGES=str(want)))
    return before


def restore_hugepages(before):
    """Gives back what ensure_hugepages reserved (only unused pages go)."""
    if before is None:
        return
    try:
        with open(HUGEPAGES, "w") as f:
            f.write(str(before))
    except OSError as e:
        log("could not restore %d hugepages: %s" % (before, e))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def write_static_keys(path, sessions):
    """`sessions` derived sessions spread over the listeners, each
    directive's peers in its own 512-address block of 198.18.0.0/15."""
    lines = ["# memif_scenario: %d sessions over %d listeners" % (sessions, LISTENERS)]
    for listener in range(LISTENERS):
        count = sessions // LISTENERS + (1 if listener < sessions % LISTENERS else 0)
        if count == 0:
            continue
        base = (198 << 24) | (18 << 16) | (listener * 512 + 1)
        address = ".".join(str((base >> s) & 0xFF) for s in (24, 16, 8, 0))
        seed = "%064x" % (0x5EED0000 + listener)
        lines.append(
            "sessions count=%d first_peer=%s:10000 ports_per_address=64 listener=%d "
            "suite=aes128_gcm seed=%s" % (count, address, 4433 + listener, seed))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_config(path, keys_path, sessions):
    listeners = "".join(
        '\n[[listener]]\nport = %d\nbackend = "%s:%d"\n' % (4433 + l, BACKEND, 7000 + l)
        for l in range(LISTENERS))
    text = """# memif_scenario: the dataplane on two memif server vdevs, static keys
[dataplane]
workers = [1]
max_sessions = %d
idle_timeout = "86400s"
summary_interval = "0s"
static_keys = "%s"

[outside]
port = 0
address = "%s"
prefix_length = 15

[inside]
port = 1
address = "10.0.0.1"
prefix_length = 24
%s
[[neighbor]]
address = "%s"
mac = "02:00:00:00:02:02"
""" % (max(sessions, 1024), keys_path, OUTSIDE_ADDRESS, listeners, BACKEND)
    with open(path, "w") as f:
        f.write(text)


def memif_vdevs(tmp, role):
    return ["--vdev=net_memif0,role=%s,socket=%s/outside.sock,id=0" % (role, tmp),
            "--vdev=net_memif1,role=%s,socket=%s/inside.sock,id=0" % (role, tmp)]


class Server:
    """A memif server process (dtlsgw-dataplane or dpdk-testpmd) whose
    output is collected by a thread; stopped with SIGTERM, by its pid."""

    def __init__(self, name, argv, ready_pattern, timeout):
        self.name = name
        self.lines = []
        self.ready = threading.Event()
        self._pattern = re.compile(ready_pattern)
        log("starting %s: %s" % (name, " ".join(argv)))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self.ready.is_set():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise Failure("%s did not become ready:\n  %s" %
                              (name, "\n  ".join(self.lines[-15:])))
            self.ready.wait(0.1)

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if self._pattern.search(line):
                self.ready.set()

    def find(self, pattern):
        for line in self.lines:
            m = re.search(pattern, line)
            if m:
                return m
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self._reader.join(timeout=5)


def start_dataplane(build, tmp, config):
    argv = [os.path.join(build, "dataplane", "dtlsgw-dataplane"), "-l", "0,1", "--no-pci",
            "--file-prefix", "dtlsgw_memif_dp", "--huge-unlink", "--no-telemetry",
            "--log-level", "*:error"] + memif_vdevs(tmp, "server") + ["--", "--config", config]
    return Server("dtlsgw-dataplane", argv, r"dtlsgw-dataplane: running", 180)


def start_testpmd(tmp):
    testpmd = shutil.which("dpdk-testpmd")
    if testpmd is None:
        raise Failure("dpdk-testpmd not found (Debian package dpdk)")
    # Non-interactive testpmd forwards until EOF on stdin: the pipe stays
    # open until stop(). io mode: port 0 <-> port 1, frames untouched.
    argv = [testpmd, "-l", "0,1", "--no-pci", "--file-prefix", "dtlsgw_memif_tp",
            "--huge-unlink", "--no-telemetry", "--log-level", "*:error"] + \
        memif_vdevs(tmp, "server") + \
        ["--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--rxq=1", "--txq=1",
         "--total-num-mbufs=16384"]
    return Server("dpdk-testpmd", argv, r"Press enter to exit|Start automatic packet forwarding|"
                  r"io packet forwarding", 60)


def session_memory(dataplane):
    """Bytes per session from the dataplane's `session memory:` line."""
    m = dataplane.find(r"session memory: (\d+) B session \+ (\d+) B hash tables \+ (\d+) B "
                       r"replay window; key schedules \(both directions\):.*?AES-128-GCM (\d+) B"
                       r".*at most (\d+) MiB for (\d+) sessions")
    if not m:
        return None
    session, tables, window, keys, mib, capacity = (int(x) for x in m.groups())
    return {"session_bytes": session, "hash_table_bytes": tables, "replay_window_bytes": window,
            "aes128_gcm_key_schedule_bytes": keys,
            "per_session_bytes": session + tables + window + keys,
            "reserved_mib": mib, "capacity": capacity,
            "line": m.group(0)}


def loadgen(build, tmp, config, options, tag):
    """Runs the load generator; returns (its JSON, exit status)."""
    out = os.path.join(tmp, "loadgen-%s.json" % tag)
    if os.path.exists(out):
        os.unlink(out)
    argv = [os.path.join(build, "bench", "loadgen", "dtlsgw-loadgen"), "data", "-l", "0",
            "--no-pci", "--file-prefix", "dtlsgw_memif_lg", "--huge-unlink", "--no-telemetry",
            "--log-level", "*:error"] + memif_vdevs(tmp, "client") + \
        ["--", "--config", config, "--outside-port", "net_memif0", "--inside-port", "net_memif1",
         "--json", out] + options
    log("loadgen %s: %s" % (tag, " ".join(options)))
    # Its live progress line goes to our stderr; its table too.
    proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, timeout=900)
    sys.stderr.write(proc.stdout)
    if proc.returncode not in (0, 1) or not os.path.exists(out):
        raise Failure("dtlsgw-loadgen %s failed with status %d (its messages are above)" %
                      (tag, proc.returncode))
    with open(out) as f:
        return json.load(f), proc.returncode


def raw_aead(build, sizes, seconds):
    argv = [os.path.join(build, "bench", "loadgen", "dtlsgw-loadgen"), "data", "--",
            "--raw-aead", "--size", ",".join(map(str, sizes)), "--duration", str(seconds)]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise Failure("raw AEAD measurement failed: " + proc.stderr[-2000:])
    return {r["size"]: r for r in json.loads(proc.stdout)["raw_aead"]}


def by_size(result):
    return {r["size"]: r for r in result["results"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", required=True, help="a -Dstatic_keys=true build directory")
    parser.add_argument("--out", required=True, help="the JSON results file")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-setup", action="store_true",
                        help="do not run scripts/setup (hugepages already reserved)")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    for exe in ("dataplane/dtlsgw-dataplane", "bench/loadgen/dtlsgw-loadgen"):
        if not os.access(os.path.join(build, exe), os.X_OK):
            log("%s/%s is missing: build with meson -Dstatic_keys=true -Dbenchmarks=true" %
                (build, exe))
            return 2

    if not args.no_setup:
        subprocess.run(["bash", os.path.join(REPO, "scripts", "setup")], check=False)

    quick = args.quick
    sizes = [64, 1400] if quick else SIZES
    duration, warmup = (0.5, 0.2) if quick else (3.0, 1.0)
    sweep = [1, 1000] if quick else SWEEP_SESSIONS
    timing = ["--duration", str(duration), "--warmup", str(warmup)]
    started = time.monotonic()
    results = {
        "scenario": "memif",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "commit": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                 stdout=subprocess.PIPE, text=True).stdout.strip(),
        "quick": quick,
        "suite": "aes128_gcm",
        "duration_s": duration,
        "warmup_s": warmup,
        "t_io_method": "dpdk-testpmd --forward-mode=io on the same two memif server vdevs; "
                       "dtlsgw-loadgen --direction plain (plain UDP of the same sizes)",
        "t_crypto_method": "dtlsgw-loadgen --raw-aead: raw IPsec-MB AES-128-GCM per record "
                           "(bench/raw_aead.h, fastest interface)",
        "errors": [],
    }
    verification_failed = False
    raised = None  # the hugepage total before the sweep raised it
    tmp = tempfile.mkdtemp(prefix="dtlsgw-memif-")
    try:
        # ---- t_crypto ----
        raw = raw_aead(build, sizes, 0.4 if quick else 1.6)
        # ---- t_io: testpmd io forwarding over the same memif ----
        config = os.path.join(tmp, "main.toml")
        keys = os.path.join(tmp, "main.keys")
        write_static_keys(keys, MAIN_SESSIONS)
        write_config(config, keys, MAIN_SESSIONS)
        testpmd = start_testpmd(tmp)
        try:
            io, _ = loadgen(build, tmp, config,
                            ["--direction", "plain", "--size", ",".join(map(str, sizes)),
                             "--sessions", str(MAIN_SESSIONS)] + timing, "io")
        finally:
            testpmd.stop()
        io = by_size(io)
        # ---- the dataplane, both directions ----
        dataplane = start_dataplane(build, tmp, config)
        try:
            memory = session_memory(dataplane)
            runs = {}
            for direction, first in (("open", 1), ("seal", SEAL_FIRST_SEQUENCE)):
                r, status = loadgen(build, tmp, config,
                                    ["--direction", direction, "--size",
                                     ",".join(map(str, sizes)), "--first-sequence", str(first)]
                                    + timing, direction)
                verification_failed |= status != 0
                runs[direction] = by_size(r)
        finally:
            dataplane.stop()
        table = []
        for direction in ("open", "seal"):
            for size in sizes:
                got = runs[direction][size]
                t_crypto = raw[size]["open_ns" if direction == "open" else "seal_ns"]
                t_io = 1e3 / io[size]["mpps"] if io[size]["mpps"] > 0 else float("inf")
                ceiling = 1e3 / (t_crypto + t_io)
                ratio = got["mpps"] / ceiling if ceiling > 0 else 0
                target = TARGETS.get(size)
                table.append({
                    "direction": direction, "size": size, "sessions": MAIN_SESSIONS,
                    "mpps": got["mpps"], "payload_gbps": got["payload_gbps"],
                    "wire_gbps": got["wire_gbps"], "loss_ratio": got["loss_ratio"],
                    "latency_ns": got["latency_ns"], "failures": got["failures"],
                    "t_crypto_ns": t_crypto, "t_io_ns": t_io, "io_mpps": io[size]["mpps"],
                    "generator_ns": raw[size].get("generator_ns"),
                    "ceiling_mpps": ceiling, "ratio": ratio, "target": target,
                    "met": None if target is None else ratio >= target,
                })
        results["memif"] = table
        results["session_memory"] = memory
        results["raw_aead"] = list(raw.values())
        results["io_forwarding"] = list(io.values())

        # ---- session scale ----
        sweep_rows = []
        # Per session, from the largest table started so far (a small one's
        # figure includes the hash tables' fixed part).
        per_session = memory["per_session_bytes"] if memory else None
        for n in sweep:
            row = {"sessions": n}
            sweep_rows.append(row)
            if per_session:
                # The dataplane's session arena and tables, plus its mbufs
                # and the load generator's pool: 300 MiB of slack.
                pages = (per_session * n) // (2 << 20) + 150
                before = ensure_hugepages(pages, not args.no_setup)
                raised = before if raised is None else raised
            cfg = os.path.join(tmp, "sweep-%d.toml" % n)
            keys = os.path.join(tmp, "sweep-%d.keys" % n)
            write_static_keys(keys, n)
            write_config(cfg, keys, n)
            try:
                dp = start_dataplane(build, tmp, cfg)
            except Failure as e:
                row["error"] = str(e).splitlines()[0] + " (%d free hugepages)" % free_hugepages()
                results["errors"].append("sweep %d: %s" % (n, e))
                log("sweep %d sessions: not run: %s" % (n, e))
                continue
            try:
                row["memory"] = session_memory(dp)
                if row["memory"]:
                    per_session = row["memory"]["per_session_bytes"]
                r, status = loadgen(build, tmp, cfg,
                                    ["--direction", "open",
                                     "--size", ",".join(map(str, SWEEP_SIZES))] + timing,
                                    "sweep-%d" % n)
                verification_failed |= status != 0
                for size, got in by_size(r).items():
                    row["mpps_%d" % size] = got["mpps"]
                    row["loss_%d" % size] = got["loss_ratio"]
                    row["p99_ns_%d" % size] = got["latency_ns"]["p99"]
            finally:
                dp.stop()
        base = next((r for r in sweep_rows if r["sessions"] == 1 and "mpps_1400" in r), None)
        for r in sweep_rows:
            if base and "mpps_1400" in r and base["mpps_1400"] > 0:
                r["ratio_1400_vs_one"] = r["mpps_1400"] / base["mpps_1400"]
            if base and "mpps_64" in r and base.get("mpps_64", 0) > 0:
                r["ratio_64_vs_one"] = r["mpps_64"] / base["mpps_64"]
        results["session_sweep"] = sweep_rows
        big = next((r for r in sweep_rows if r["sessions"] == 1000000), None)
        results["session_sweep_target"] = {
            "target": SWEEP_TARGET,
            "ratio": big.get("ratio_1400_vs_one") if big else None,
            "met": (big.get("ratio_1400_vs_one", 0) >= SWEEP_TARGET) if big and
                   "ratio_1400_vs_one" in big else None,
        }
    except Failure as e:
        results["errors"].append(str(e))
        log(str(e))
    finally:
        restore_hugepages(raised)
        shutil.rmtree(tmp, ignore_errors=True)
    results["verification_failed"] = verification_failed
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print_table(results)
    if results["errors"] and "memif" not in results:
        return 1
    return 1 if verification_failed else 0


def print_table(results):
    print("memif scenario (%s, %s, %s)%s" % (results["cpu"], results["date"], results["commit"],
                                             " QUICK" if results["quick"] else ""))
    if "memif" in results:
        print("%-5s %6s %9s %9s %9s %10s %7s %7s  %s" %
              ("dir", "size", "Mpps", "t_crypto", "t_io", "ceiling", "ratio", "target", ""))
        # The load generator's own cost per record (record_gcm.h): it must
        # be well under t_crypto, or the generator is what was measured.
        for r in results["memif"]:
            verdict = "" if r["target"] is None else ("met" if r["met"] else "MISSED")
            print("%-5s %6d %9.3f %7.1fns %7.1fns %8.3f M %7.2f %7s  %s" % (
                r["direction"], r["size"], r["mpps"], r["t_crypto_ns"], r["t_io_ns"],
                r["ceiling_mpps"], r["ratio"],
                "" if r["target"] is None else ">= %.1f" % r["target"], verdict))
        gen = {r["size"]: r["generator_ns"] for r in results["memif"] if r.get("generator_ns")}
        if gen:
            print("generator cost per record: " +
                  ", ".join("%d B %.0f ns" % (k, v) for k, v in sorted(gen.items())))
    if results.get("session_memory"):
        m = results["session_memory"]
        print("dataplane memory per session: %d B (%d session + %d hash tables + %d replay "
              "window + %d AES-128-GCM key schedules)" % (
                  m["per_session_bytes"], m["session_bytes"], m["hash_table_bytes"],
                  m["replay_window_bytes"], m["aes128_gcm_key_schedule_bytes"]))
    if "session_sweep" in results:
        print("%10s %10s %10s %10s %10s %12s" % ("sessions", "1400 Mpps", "vs one", "64 Mpps",
                                                   "vs one", "B/session"))
        for r in results["session_sweep"]:
            if "error" in r:
                print("%10d  not run: %s" % (r["sessions"], r["error"]))
                continue
            mem = r.get("memory") or {}
            print("%10d %10.3f %10s %10.3f %10s %12s" % (
                r["sessions"], r.get("mpps_1400", 0),
                "%.2f" % r["ratio_1400_vs_one"] if "ratio_1400_vs_one" in r else "-",
                r.get("mpps_64", 0),
                "%.2f" % r["ratio_64_vs_one"] if "ratio_64_vs_one" in r else "-",
                mem.get("per_session_bytes", "-")))
        t = results.get("session_sweep_target", {})
        if t.get("ratio") is not None:
            print("1,000,000 sessions at 1400 B: %.2f of one session (target >= %.1f): %s" % (
                t["ratio"], t["target"], "met" if t["met"] else "MISSED"))
    for e in results["errors"]:
        print("error: " + e.splitlines()[0])
    print("(%.0f s)" % results["elapsed_s"])


if __name__ == "__main__":
    sys.exit(main())
