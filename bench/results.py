#!/usr/bin/env python3
"""bench/RESULTS.md and its plot from one `bench/run all` (issue 8).

usage: bench/results.py BUILD_DIR/bench OUT.md OUT.png

Reads what each scenario left in BUILD_DIR/bench: its printed report
(<scenario>.md) and its JSON, and writes one page: the machine, the date and
the commit; a summary of every target with its verdict and, for a missed
one, the explanation kept in bench/explanations.md (the profile behind it);
then each scenario's tables; and a PNG with the headline figures. Standard
library only, except the plot (python3-matplotlib, which bench/run
installs); without matplotlib the page says so and no PNG is written.
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import datetime, timezone

SCENARIOS = [
    ("record", "1. Record layer",
     "Open and seal per AEAD suite and size against raw IPsec-MB on the same buffers."),
    ("datapath", "2. Data path per lcore, in-process",
     "Worker::poll on net_ring ports, AES-128-GCM, decrypt (open) and encrypt (seal), against "
     "raw IPsec-MB on the same sizes; then four queues on two lcores (the hand-off's cost)."),
    ("memif", "3. Over net_memif with dtlsgw-loadgen",
     "The dataplane's benchmark build and the load generator as two processes on a memif pair; "
     "throughput as a ratio to 1/(t_crypto + t_io), both measured in the same run."),
    ("kernel", "4. What a user would pick instead: OpenSSL DTLS over kernel UDP sockets",
     "Records per second per receiving core, beside the in-process data path per lcore."),
    ("scale", "5. Session scale",
     "1, 1,000, 100,000 and 1,000,000 sessions: throughput and dataplane memory per session."),
    ("control", "6. Handshakes and ClientHello floods through the control process",
     "Full handshakes per second with many concurrent clients, control-process CPU per "
     "handshake against bare OpenSSL; HelloVerifyRequests per second under a flood, with the "
     "control process's CPU and memory."),
    ("handshake", "6b. Handshake engine in-process",
     "HelloVerifyRequests against raw HMAC, and server CPU per handshake against bare OpenSSL "
     "(the in-process view of scenario 6)."),
]

TARGET_LINE = re.compile(r"^\s*(MET|MISSED)\s+(.*)$")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def load_json(path):
    text = read(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def machine():
    cpu = "?"
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return cpu, cores, load


def commit(root):
    def git(*args):
        try:
            return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + (" (with uncommitted changes)" if dirty else "")


def explanations(root):
    """bench/explanations.md: '## <target key>' sections, each the profile
    and the reason behind a target this machine misses."""
    text = read(os.path.join(root, "bench", "explanations.md")) or ""
    out, key, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("## "):
            if key:
                out[key] = "\n".join(lines).strip()
            key, lines = line[3:].strip(), []
        elif key:
            lines.append(line)
    if key:
        out[key] = "\n".join(lines).strip()
    return out


def targets_of(markdown):
    found = []
    for line in (markdown or "").splitlines():
        m = TARGET_LINE.match(line)
        if m:
            found.append((m.group(1), m.group(2).strip()))
    return found


def median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def datapath_runs(data):
    """{(dir, sessions, bytes, csum): [benchmark entries]} of the one-queue run."""
    name = re.compile(r"datapath/(open|seal)/sessions:(\d+)/(\d+)/csum_(\w+?)(?:/manual_time)?$")
    runs = {}
    for b in (data or {}).get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        m = name.match(b.get("run_name", b.get("name", "")))
        if m and "ns_dtlsgw" in b:
            key = (m.group(1), int(m.group(2)), int(m.group(3)), m.group(4))
            runs.setdefault(key, []).append(b)
    return runs


def per_lcore_mrecords(runs, direction, size, sessions=1, csum="offload"):
    rs = runs.get((direction, sessions, size, csum))
    if not rs:
        return float("nan")
    ns = median([r["ns_dtlsgw"] for r in rs])
    return 1e3 / ns if ns > 0 else float("nan")


def scale_section(runs, memif):
    lines = ["In-process (Worker::poll, AES-128-GCM, open, checksum offload), records per second "
             "per lcore and the dataplane's memory per session (session slot, both hash tables, "
             "key-schedule slots, replay window):", "",
             "| sessions | bytes | Mrec/s | ratio to raw | bytes per session | of which table |",
             "|----------|-------|--------|--------------|-------------------|----------------|"]
    for sessions in (1, 1000, 100000, 1000000):
        for size in (64, 1400):
            rs = runs.get(("open", sessions, size, "offload"))
            if not rs:
                continue
            ns = median([r["ns_dtlsgw"] for r in rs])
            ratio = median([r.get("ratio", float("nan")) for r in rs])
            total = median([r.get("bytes_per_session", float("nan")) for r in rs])
            table = median([r.get("table_bytes_per_session", float("nan")) for r in rs])
            lines.append(f"| {sessions:,} | {size} | {1e3 / ns:.2f} | {ratio:.3f} | "
                         f"{total:.0f} | {table:.0f} |")
    if memif:
        lines += ["", "Over memif (scenario 3's session sweep):", "", memif.strip()]
    return "\n".join(lines)


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bench_dir, out_md, out_png = argv[1:]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cpu, cores, load = machine()
    reports = {s: read(os.path.join(bench_dir, s + ".md")) for s, _, _ in SCENARIOS}
    datapath = load_json(os.path.join(bench_dir, "datapath.json"))
    runs = datapath_runs(datapath)
    kernel = load_json(os.path.join(bench_dir, "kernel.json"))
    memif = load_json(os.path.join(bench_dir, "memif.json"))
    control = load_json(os.path.join(bench_dir, "control.json"))

    import results_sections  # bench/results_sections.py: scenarios 3, 4 and 6 from their JSON
    computed_targets = []
    kernel_md, targets = results_sections.kernel(kernel, runs)
    reports["kernel"] = (reports.get("kernel") or "") + kernel_md
    computed_targets += [("4", v, w) for v, w in targets]
    reports["memif"], targets = results_sections.memif(memif)
    computed_targets += [("3", v, w) for v, w in targets]
    reports["scale"] = scale_section(runs, results_sections.memif_scale(memif))
    reports["control"], targets = results_sections.control(control)
    computed_targets += [("6", v, w) for v, w in targets]

    notes = explanations(root)
    summary = []
    for scenario, title, _ in SCENARIOS:
        for verdict, what in targets_of(reports.get(scenario)):
            summary.append((title.split(".")[0], verdict, what))
    summary += computed_targets

    page = ["# dtlsgw benchmark results", "",
            f"- Commit: `{commit(root)}`",
            f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- CPU: {cpu}, {cores} logical CPUs; {platform.system()} {platform.release()}",
            f"- Load average when the page was written: {load} (a shared machine: every figure "
            "is a ratio against a ceiling measured in the same run)",
            "- Rerun: `bench/run all` (this page: `bench/RESULTS.md`, the plot: "
            "`bench/results.png`); one scenario: `bench/run SCENARIO`.", "",
            "## Targets", "",
            "| scenario | verdict | target and value |", "|---|---|---|"]
    for scenario, verdict, what in summary:
        page.append(f"| {scenario} | {'met' if verdict == 'MET' else '**missed**'} | {what} |")
    missed = [what for _, verdict, what in summary if verdict == "MISSED"]
    if missed:
        # One explanation per cause, with the targets it covers.
        page += ["", "### Why the missed targets are missed", ""]
        unexplained = [w for w in missed if not any(w.startswith(k) for k in notes)]
        for key, text in notes.items():
            covered = [w for w in missed if w.startswith(key)]
            if not covered:
                continue
            page += [f"#### {key}", ""] + [f"- {w}" for w in covered] + ["", text, ""]
        if unexplained:
            page += ["#### Not explained yet", ""] + [f"- {w}" for w in unexplained] + [
                "", "No profile recorded in bench/explanations.md for these.", ""]
    page.append("")
    for scenario, title, blurb in SCENARIOS:
        page += [f"## {title}", "", blurb, ""]
        body = reports.get(scenario)
        page.append(body.strip() if body else f"(not run: `bench/run {scenario}`)")
        page.append("")

    plotted = results_sections.plot(out_png, runs, kernel, memif, control)
    page += ["## Plot", ""]
    page.append(f"![headline figures]({os.path.basename(out_png)})" if plotted else
                "(no plot: python3-matplotlib is not installed)")
    page.append("")
    with open(out_md, "w") as f:
        f.write("\n".join(page))
    print(f"bench/results.py: wrote {out_md}" + (f" and {out_png}" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(sys.argv))
