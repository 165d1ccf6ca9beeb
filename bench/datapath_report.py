#!/usr/bin/env python3
"""Tables for `bench/run datapath` from datapath_bench's JSON (stdlib only).

usage: bench/datapath_report.py DATAPATH.json [DATAPATH_QUEUES.json]

ratio = raw IPsec-MB AES-128-GCM ns per record (fastest interface) / the
worker's ns per record, the median over iterations of per-iteration pairs;
medians over repetitions. Targets (issue 4): one session, ratio >= 0.8 at
1400 B and >= 0.5 at 64 B; 1,000,000 sessions >= 0.7 of one session at
1400 B (64 B reported), compared as ratios (each against its own raw
ceiling of the same run, so a slow spell of the shared machine cancels).

With a second file from a multi-queue run (datapath_bench --queues=4
--lcores=2, issue 6), a table of the hand-off's cost: lcore-ns per record
with N queues (wall time x polling lcores) against one queue, same
direction, sessions, size and checksum policy, and that difference per
handed-off packet (the fraction of frames RSS put on a non-owner queue).
"""
import json
import re
import statistics
import sys
from collections import defaultdict

NAME = re.compile(r"datapath/(open|seal)/(?:queues:(\d+):lcores:(\d+)/)?sessions:(\d+)/(\d+)/"
                  r"csum_(\w+?)(?:/manual_time)?$")


def load(path, queued=False):
    """(context, {(dir, sessions, bytes, csum): [runs]}); with queued, only
    the multi-queue runs, keyed with (queues, lcores) appended."""
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(list)
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        m = NAME.match(b.get("run_name", b["name"]))
        if not m or "ratio" not in b or (m.group(2) is not None) != queued:
            continue
        key = (m.group(1), int(m.group(4)), int(m.group(5)), m.group(6))
        if queued:
            key += (int(m.group(2)), int(m.group(3)))
        runs[key].append(b)
    return data.get("context", {}), runs


def handoff_table(single, queued):
    print()
    print("Hand-off cost: N queues polled by M lcores, frames spread by an RSS-like hash that"
          " ignores ownership (lcore-ns per record = wall ns x M), against one queue. A batch"
          " ends when its last record is done, so with M polling threads on a machine of M"
          " CPUs anything else that runs stalls the whole batch: read these on a quiet"
          " machine only.")
    print()
    print("| dir | sessions | bytes | UDP checksum | queues/lcores | lcore-ns, N queues |"
          " ns, 1 queue | handed off | hand-off ns per handed-off packet | ratio to raw |")
    print("|-----|----------|-------|--------------|---------------|-------------------|"
          "-------------|------------|-----------------------------------|--------------|")
    for key in sorted(queued):
        d, sessions, size, csum, queues, lcores = key
        rs = queued[key]
        ns_q = med(rs, "ns_dtlsgw")
        frac = med(rs, "handoff_fraction")
        one = single.get((d, sessions, size, csum))
        ns_1 = med(one, "ns_dtlsgw") if one else float("nan")
        per = (ns_q - ns_1) / frac if frac and frac > 0 else float("nan")
        print(f"| {d} | {sessions} | {size} | {csum} | {queues}/{lcores} | {ns_q:.1f} | "
              f"{ns_1:.1f} | {frac:.2f} | {per:.1f} | {med(rs, 'ratio'):.3f} |")


def med(rs, field):
    vals = [r[field] for r in rs if field in r]
    return statistics.median(vals) if vals else float("nan")


def verdict(value, target):
    return f"target >= {target:.2f}: {'MET' if value >= target else 'MISSED'}"


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    context, runs = load(argv[1])
    if not runs:
        print("datapath_report: no datapath results in " + argv[1], file=sys.stderr)
        return 1
    print(f"- Date: {context.get('date', '?')}, host CPUs: {context.get('num_cpus', '?')} "
          f"at {context.get('mhz_per_cpu', '?')} MHz, load average at start: "
          f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}")
    print(f"- Memory: {context.get('datapath_memory', '?')}")
    print()
    print("| dir  | sessions | bytes | UDP checksum | dtlsgw ns | Mrec/s | raw ns | raw | ratio | target |")
    print("|------|----------|-------|--------------|-----------|--------|--------|-----|-------|--------|")
    targets = []
    ratio = {}
    for key in sorted(runs, key=lambda k: (k[0], k[3], k[1], k[2])):
        d, sessions, size, csum = key
        rs = runs[key]
        r = med(rs, "ratio")
        ratio[key] = r
        raw = rs[0].get("label", "").split()[0].replace("raw=", "")
        t = ""
        if sessions == 1 and size in (64, 1400):
            goal = 0.8 if size == 1400 else 0.5
            t = verdict(r, goal)
            targets.append((f"{d} 1 session {size} B csum {csum}", r, goal))
        ns = med(rs, "ns_dtlsgw")
        print(f"| {d} | {sessions} | {size} | {csum} | {ns:.1f} | {1e3 / ns:.2f} | "
              f"{med(rs, 'ns_raw'):.1f} | {raw} | {r:.3f} | {t} |")
    print()
    print("1,000,000 sessions against one (ratio at 1M / ratio at 1, same direction, size and"
          " checksum policy):")
    print()
    print("| dir  | bytes | UDP checksum | ratio 1 | ratio 1M | 1M / 1 | target |")
    print("|------|-------|--------------|---------|----------|--------|--------|")
    for (d, sessions, size, csum), r in sorted(ratio.items()):
        if sessions != 1 or (d, 1000000, size, csum) not in ratio:
            continue
        big = ratio[(d, 1000000, size, csum)]
        rel = big / r
        t = ""
        if size == 1400:
            t = verdict(rel, 0.7)
            targets.append((f"{d} 1M/1 sessions {size} B csum {csum}", rel, 0.7))
        print(f"| {d} | {size} | {csum} | {r:.3f} | {big:.3f} | {rel:.3f} | {t} |")
    if len(argv) == 3:
        _, queued = load(argv[2], queued=True)
        if queued:
            handoff_table(runs, queued)
        else:
            print(f"\n(no multi-queue results in {argv[2]})")
    print()
    print("```")
    print("Targets:")
    for name, value, goal in targets:
        print(f"  {'MET   ' if value >= goal else 'MISSED'} {name}: {value:.3f} (target >= {goal})")
    print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
