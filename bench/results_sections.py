"""The parts of bench/RESULTS.md computed from more than one scenario's JSON
(bench/results.py): the comparison with OpenSSL over kernel sockets, the
memif session sweep, and the plot."""
import statistics


def _median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def _datapath_rate(runs, direction, size):
    """Records per second per lcore of the in-process worker: one session,
    checksum offloaded (what a NIC does; the kernel skips it on loopback)."""
    rs = runs.get((direction, 1, size, "offload"))
    if not rs:
        return float("nan")
    ns = _median([r["ns_dtlsgw"] for r in rs])
    return 1e9 / ns if ns > 0 else float("nan")


def _kernel_rate(kernel, direction, mode, size):
    for r in (kernel or {}).get("results", []):
        if (r.get("direction"), r.get("mode"), r.get("plaintext_bytes")) == (direction, mode,
                                                                               size):
            return r.get("records_per_server_cpu_second", float("nan")), r
    return float("nan"), None


def kernel(kernel, runs):
    """Scenario 4: (markdown, [(verdict, target text)]). Target (issue 8):
    the in-process data path >= 20x the records per second per core of
    OpenSSL DTLS over kernel sockets at 256 B and 1400 B."""
    if not kernel:
        return "\n(kernel_dtls_bench did not run)\n", []
    ctx = kernel.get("context", {})
    lines = ["", f"OpenSSL: {ctx.get('openssl', '?')}, suite {ctx.get('suite', '?')}, "
             f"{ctx.get('protocol', '')}; figure: {ctx.get('figure', '?')}.", "",
             "| bytes | dtlsgw open, rec/s per lcore | OpenSSL read, rec/s per core | x | "
             "dtlsgw seal | OpenSSL write | x | OpenSSL's AEAD share |",
             "|---|---|---|---|---|---|---|---|"]
    targets = []
    for size in (64, 256, 1024, 1400):
        ours_open = _datapath_rate(runs, "open", size)
        ours_seal = _datapath_rate(runs, "seal", size)
        theirs_read, row = _kernel_rate(kernel, "client_to_server", "prefilled", size)
        theirs_write, _ = _kernel_rate(kernel, "server_to_client", "write", size)
        x_open = ours_open / theirs_read if theirs_read else float("nan")
        x_seal = ours_seal / theirs_write if theirs_write else float("nan")
        share = row.get("aead_share", float("nan")) if row else float("nan")
        lines.append(f"| {size} | {ours_open / 1e6:.2f} M | {theirs_read / 1e3:.0f} k | "
                     f"{x_open:.1f} | {ours_seal / 1e6:.2f} M | {theirs_write / 1e3:.0f} k | "
                     f"{x_seal:.1f} | {share:.2f} |")
        if size in (256, 1400) and x_open == x_open:
            verdict = "MET" if x_open >= 20 else "MISSED"
            targets.append((verdict, f"in-process open vs OpenSSL DTLS over kernel sockets "
                                     f"{size} B: {x_open:.1f}x (target >= 20x)"))
    lines += ["", "dtlsgw: scenario 2's one-session figures (checksum offload) of this run; "
              "OpenSSL: `bench/kernel_dtls/kernel_dtls_bench` (bench/kernel_dtls/README.md), "
              "the receiving server thread's CPU time. On loopback the kernel charges its "
              "receive work to the sender, so the OpenSSL figure is an upper bound."]
    return "\n".join(lines) + "\n", targets


def _num(v, fmt="{:.2f}"):
    return fmt.format(v) if isinstance(v, (int, float)) else "-"


def memif(data):
    """Scenario 3 from bench/memif_scenario.py's JSON: (markdown, targets).
    Targets (issue 8): >= 0.8 of 1/(t_crypto + t_io) at 1400 B and >= 0.6
    at 64 B; 1,000,000 sessions >= 0.7 of one session at 1400 B."""
    if not data:
        return "(bench/memif_scenario.py did not run)", []
    lines = [f"Load generator and dataplane on a net_memif pair, {data.get('cpu', '?')}"
             + (" (QUICK run)" if data.get("quick") else "") + ". t_crypto: raw IPsec-MB "
             "AES-128-GCM on the same sizes (fastest interface); t_io: dpdk-testpmd io "
             "forwarding on the same memif pair with the load generator sending plain UDP.", "",
             "| dir | bytes | Mpps | Gb/s payload | loss | p50 / p99 latency µs | t_crypto ns | "
             "t_io ns | ceiling Mpps | ratio | target |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    targets = []
    for r in data.get("memif", []):
        lat = r.get("latency_ns") or {}
        target = r.get("target")
        verdict = ""
        if target is not None:
            verdict = f">= {target}: {'met' if r.get('met') else '**missed**'}"
            targets.append(("MET" if r.get("met") else "MISSED",
                            f"memif {r['direction']} {r['size']} B: {r['ratio']:.2f} of "
                            f"1/(t_crypto + t_io) (target >= {target})"))
        lines.append(
            f"| {r['direction']} | {r['size']} | {_num(r.get('mpps'), '{:.3f}')} | "
            f"{_num(r.get('payload_gbps'))} | {_num(r.get('loss_ratio'), '{:.4f}')} | "
            f"{_num((lat.get('p50') or 0) / 1e3, '{:.1f}')} / "
            f"{_num((lat.get('p99') or 0) / 1e3, '{:.1f}')} | {_num(r.get('t_crypto_ns'), '{:.0f}')} | "
            f"{_num(r.get('t_io_ns'), '{:.0f}')} | {_num(r.get('ceiling_mpps'), '{:.3f}')} | "
            f"{_num(r.get('ratio'))} | {verdict} |")
    gen = [(r["size"], r["generator_ns"]) for r in data.get("memif", [])
           if r.get("generator_ns") and r["direction"] == "open"]
    if gen:
        lines += ["", "The load generator's own cost per record (it must stay well under "
                  "t_crypto, or the generator is what was measured): " +
                  ", ".join(f"{s} B {ns:.0f} ns" for s, ns in sorted(gen)) + "."]
    if data.get("verification_failed"):
        lines += ["", "**Some received packets failed verification** (see the load "
                  "generator's output)."]
    for e in data.get("errors", []):
        lines.append(f"\nerror: {e.splitlines()[0]}")
    t = data.get("session_sweep_target") or {}
    if t.get("ratio") is not None:
        targets.append(("MET" if t.get("met") else "MISSED",
                        f"memif 1M/1 sessions 1400 B: {t['ratio']:.2f} (target >= "
                        f"{t.get('target')})"))
    return "\n".join(lines), targets


def memif_scale(data):
    """Scenario 5's memif half: the session sweep with memory per session."""
    if not data or not data.get("session_sweep"):
        return None
    lines = ["| sessions | 1400 B Mpps | vs one | 64 B Mpps | vs one | bytes per session |",
             "|---|---|---|---|---|---|"]
    for r in data["session_sweep"]:
        if "error" in r:
            lines.append(f"| {r['sessions']:,} | not run: {r['error']} | | | | |")
            continue
        mem = r.get("memory") or {}
        lines.append(f"| {r['sessions']:,} | {_num(r.get('mpps_1400'), '{:.3f}')} | "
                     f"{_num(r.get('ratio_1400_vs_one'))} | {_num(r.get('mpps_64'), '{:.3f}')} | "
                     f"{_num(r.get('ratio_64_vs_one'))} | {mem.get('per_session_bytes', '-')} |")
    m = data.get("session_memory")
    if m:
        lines += ["", f"Dataplane memory per session: {m.get('per_session_bytes')} B = "
                  f"{m.get('session_bytes')} session + {m.get('hash_table_bytes')} hash tables + "
                  f"{m.get('replay_window_bytes')} replay window + "
                  f"{m.get('aes128_gcm_key_schedule_bytes')} AES-128-GCM key schedules."]
    return "\n".join(lines)


def control(data):
    """Scenario 6 from bench/control_scenario.py's JSON: (markdown, targets)."""
    if not data:
        return "(bench/control_scenario.py did not run)", []
    return _control_markdown(data)


def plot(path, runs, kernel_data, memif_data, control_data):
    """The headline figures as one PNG; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = [64, 256, 1024, 1400]
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    fig.suptitle("dtlsgw: headline figures of one bench/run all (AES-128-GCM)")

    ax = axes[0][0]
    for direction, mode, kdir, label in (("open", "prefilled", "client_to_server", "decrypt"),
                                         ("seal", "write", "server_to_client", "encrypt")):
        ours = [_datapath_rate(runs, direction, s) / 1e6 for s in sizes]
        theirs = [_kernel_rate(kernel_data, kdir, mode, s)[0] / 1e6 for s in sizes]
        ax.plot(sizes, ours, marker="o", label=f"dtlsgw in-process, {label}")
        ax.plot(sizes, theirs, marker="s", linestyle="--", label=f"OpenSSL + kernel UDP, {label}")
    ax.set_yscale("log")
    ax.set_xlabel("plaintext bytes per record")
    ax.set_ylabel("million records / s per core")
    ax.set_title("2 + 4: per core, against OpenSSL over kernel sockets")
    ax.legend(fontsize=7)

    ax = axes[0][1]
    rows = (memif_data or {}).get("memif", [])
    for direction in ("open", "seal"):
        pts = sorted((r["size"], r["ratio"]) for r in rows if r["direction"] == direction)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=direction)
    ax.axhline(0.8, color="grey", linestyle=":", label="target 0.8 (1400 B)")
    ax.axhline(0.6, color="grey", linestyle="-.", label="target 0.6 (64 B)")
    ax.set_xlabel("plaintext bytes per record")
    ax.set_ylabel("throughput / (1 / (t_crypto + t_io))")
    ax.set_title("3: over net_memif with dtlsgw-loadgen")
    ax.legend(fontsize=7)

    ax = axes[1][0]
    counts = [1, 1000, 100000, 1000000]
    for size in (64, 1400):
        base = runs.get(("open", 1, size, "offload"))
        if not base:
            continue
        r1 = _median([r.get("ratio", float("nan")) for r in base])
        ys = []
        for n in counts:
            rs = runs.get(("open", n, size, "offload"))
            ys.append(_median([r.get("ratio", float("nan")) for r in rs]) / r1 if rs else
                      float("nan"))
        ax.plot(counts, ys, marker="o", label=f"in-process, {size} B")
    sweep = (memif_data or {}).get("session_sweep", [])
    for size in (64, 1400):
        pts = [(r["sessions"], r.get(f"ratio_{size}_vs_one")) for r in sweep
               if r.get(f"ratio_{size}_vs_one") is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="s", linestyle="--",
                    label=f"memif, {size} B")
    ax.axhline(0.7, color="grey", linestyle=":", label="target 0.7 (1400 B)")
    ax.set_xscale("log")
    ax.set_xlabel("sessions")
    ax.set_ylabel("throughput relative to one session")
    ax.set_title("5: session scale (open)")
    ax.legend(fontsize=7)

    ax = axes[1][1]
    bars = _control_bars(control_data)
    if bars:
        ax.bar(range(len(bars)), [v for _, v in bars])
        ax.set_xticks(range(len(bars)))
        ax.set_xticklabels([k for k, _ in bars], rotation=20, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("per second")
    ax.set_title("6: handshakes and HelloVerifyRequests through the gateway")

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _control_markdown(d):
    lines = [f"Placement: {d.get('placement', '?')}.", "",
             "| | " + " | ".join(h.get("cipher", k) for k, h in _handshakes(d)) + " |",
             "|---|" + "---|" * len(_handshakes(d))]
    rows = [
        ("handshakes/s (concurrent clients)",
         lambda h: f"{_num(h.get('handshakes_per_s'), '{:,.0f}')} ({h.get('concurrency', '?')})"),
        ("completed / failed", lambda h: f"{h.get('completed', '-')} / {h.get('failed', '-')}"),
        ("latency p50 / p99 ms", lambda h: f"{_num(h.get('latency_ms_p50'), '{:.1f}')} / "
                                           f"{_num(h.get('latency_ms_p99'), '{:.1f}')}"),
        ("control CPU µs per handshake",
         lambda h: _num((h.get("control") or {}).get("cpu_us_per_handshake"), "{:.0f}")),
        ("bare OpenSSL µs per handshake", lambda h: _num(h.get("_bare"), "{:.0f}")),
        ("ratio control / bare (target <= 1.1)", lambda h: _num(h.get("ratio_to_bare"))),
        ("dtlsgw's engine in-process / bare", lambda h: _num(h.get("_in_process"))),
        ("control peak RSS MiB",
         lambda h: _num(((h.get("control") or {}).get("rss_max_kb") or 0) / 1024, "{:.0f}")),
    ]
    for name, cell in rows:
        lines.append(f"| {name} | " + " | ".join(cell(h) for _, h in _handshakes(d)) + " |")
    targets = []
    for k, h in _handshakes(d):
        r = h.get("ratio_to_bare")
        if isinstance(r, (int, float)):
            targets.append(("MET" if r <= 1.1 else "MISSED",
                            f"control-process CPU per handshake {h.get('cipher', k)}: "
                            f"{r:.2f} x bare OpenSSL (target <= 1.1)"))
    f = d.get("flood") or {}
    c = f.get("control") or {}
    idle = d.get("control_idle") or {}
    if f:
        dp = f.get("dataplane_counters") or {}
        lines += ["", "ClientHello flood (cookieless, spoofed sources, "
                  f"{_num(f.get('duration_s'), '{:.0f}')} s at the maximum rate):", "",
                  "| ClientHellos/s sent | HelloVerifyRequests/s received | ratio | punted to "
                  "control | control CPU (idle) | control RSS MiB (idle) |",
                  "|---|---|---|---|---|---|",
                  f"| {_num(f.get('client_hellos_per_s'), '{:,.0f}')} | "
                  f"{_num(f.get('hello_verify_requests_per_s'), '{:,.0f}')} | "
                  f"{_num(f.get('ratio'), '{:.4f}')} | {dp.get('punted', '-')} | "
                  f"{_num((c.get('cpu_fraction') or 0) * 100, '{:.1f}')} % "
                  f"({_num((idle.get('cpu_fraction') or 0) * 100, '{:.1f}')} %) | "
                  f"{_num((c.get('rss_max_kb') or 0) / 1024, '{:.0f}')} "
                  f"({_num((idle.get('rss_max_kb') or 0) / 1024, '{:.0f}')}) |"]
    return "\n".join(lines), targets


def _handshakes(d):
    out = []
    bare = d.get("bare_openssl") or {}
    for key, suite in (("handshake_psk", "psk"), ("handshake_ecdsa", "ecdsa")):
        h = d.get(key)
        if h:
            h = dict(h)
            h["_bare"] = (bare.get(suite) or {}).get("us_bare")
            h["_in_process"] = (bare.get(suite) or {}).get("ratio_in_process")
            out.append((key, h))
    return out


def _control_bars(d):
    if not d:
        return []
    bars = []
    for key, h in _handshakes(d):
        if isinstance(h.get("handshakes_per_s"), (int, float)):
            bars.append((f"handshakes/s {h.get('suite', key)}", h["handshakes_per_s"]))
    f = d.get("flood") or {}
    if isinstance(f.get("hello_verify_requests_per_s"), (int, float)):
        bars.append(("HelloVerifyRequests/s (flood)", f["hello_verify_requests_per_s"]))
    return bars
