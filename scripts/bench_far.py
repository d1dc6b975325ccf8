#!/usr/bin/env python3
"""Far memory, measured (never a pass/fail test).

Fig. D (Lim et al.): the latency the guest measures against the latency configured, from 100 ns
to 100 us, with the `latency` guest (a 8 MiB region over a 2 MiB local share: nearly every probe
is a far page), in warp and spin mode in Bochs (VT-x; its TSC counts instructions, so the figures
are exact and the same from run to run) and in QEMU (AMD-V under TCG; its TSC follows the host's
clock). Per latency: the guest's median and p99 first touch, its median local hit (the measuring
code alone), the first touch minus the hit (what a far fault costs the guest), its error against
the configured latency, the hypervisor's own ticks per far fault (in Bochs instructions: the
eviction of a page, the fetch with its 4 KiB copy, the unmap and invalidation) and the world
switch it measured and took off each far fault's latency (`vm info`'s "far switch").

Fig. C (Lim et al.): slowdown (the workload's own time over its all-local time, on its TSC)
against the local share (100, 50, 25, 10 % of its footprint) for kv, stride and qsort at 1 us and
10 us, in Bochs with warp (exact, the same every run); kv under each eviction policy at 10 us;
prefetch: next:16 and stride:16 on stride (hit rate) and on kv (the slowdown each adds to a random
workload).
usage: bench_far.py IMAGE OUTDIR"""
import csv
import os
import re
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from machine import Machine, parse_vm_info, parse_vm_list  # noqa: E402

LATENCIES_NS = [100, 300, 1000, 3000, 10000, 30000, 100000]
MODES = {"bochs": ("warp", "spin"), "qemu": ("spin", "warp")}


def boot(emu):
    m = Machine(emu, IMAGE, mem=1024)
    m.wait_prompt()
    for name in parse_vm_list(m.cmd_ok("vm list")):  # the startup.cfg guest
        while parse_vm_list(m.cmd_ok("vm list"))[name]["state"] not in ("exited", "stopped"):
            time.sleep(0.5)
        m.cmd_ok(f"vm destroy {name}")
    return m


def one(m, ns, mode):
    m.cmd_ok(f"mem node add n size=32M latency={ns}ns bw=1T")
    m.cmd_ok(f"vm create l image=latency.elf min=2M max=32M far=n local=2M inject={mode} size=8M probes=300")
    m.cmd_ok("stats reset")
    m.cmd_ok("vm start l")
    while parse_vm_list(m.cmd_ok("vm list"))["l"]["state"] not in ("exited", "stopped"):
        time.sleep(0.5)
    out = m.cmd_ok("vm info l")
    r = parse_vm_info(out)["results"]
    if parse_vm_info(out)["reason"] != "exited with status 0" or r["differ"]:
        sys.exit(f"bench_far: latency {ns} ns: {out}")
    io = re.search(r"^far io:\s+(\d+) far faults", out, re.M)
    exit_cost = re.search(r"^far faults: \d+, (\d+) tsc/fault", m.cmd_ok("stats"), re.M)
    cost = re.search(r"^far cost: the hypervisor's own ticks per far fault: (\d+) on average, (\d+) at most .*; "
                     r"(\d+) on average without its page copies", out, re.M)
    switch = re.search(r"^far switch: a VM exit and entry cost the guest (\d+) ticks", out, re.M)
    m.cmd_ok("vm destroy l")
    m.cmd_ok("mem node del n")
    ticks = ns * r["tsc_khz"] / 1e6
    far = r["first_median"] - r["hit_median"]
    return {"configured_ns": ns, "configured_ticks": round(ticks), "first_median": r["first_median"],
            "first_p99": r["first_p99"], "hit_median": r["hit_median"], "far_fault_ticks": far,
            "measured_ns": round(far * 1e6 / r["tsc_khz"]), "error_pct": round(100 * (far - ticks) / ticks, 2),
            "far_faults": int(io.group(1)), "hv_ticks_per_fault": int(cost.group(1)),
            "hv_ticks_max": int(cost.group(2)), "hv_ticks_no_copy": int(cost.group(3)),
            "exit_to_entry": int(exit_cost.group(1)), "switch_ticks": int(switch.group(1)) if switch else 0,
            "tsc_khz": r["tsc_khz"]}


# workload: image, arguments, footprint in MiB (its region and the 2 MiB of code, stack, tables), time result
WORKLOADS = {"kv": ("kv.elf", "size=8M ops=30000", 10, "ops_ticks"),
             "stride": ("stride.elf", "size=8M passes=2", 10, "total_ticks"),
             "qsort": ("qsort.elf", "size=4M", 6, "sort_tsc")}
LOCAL_PCT = [100, 50, 25, 10]


def workload(m, name, local_mib, ns, far=""):
    """One run in warp mode: the workload's time result, its far faults, and the far policy line."""
    image, args, foot, key = WORKLOADS[name]
    m.cmd_ok(f"mem node add n size=64M latency={ns}ns bw=10G")
    local = max(1024, int(local_mib * 1024) // 4 * 4)
    m.cmd_ok(f"vm create w image={image} min=2M max=32M far=n local={local}K inject=warp {args}")
    if far:
        m.cmd_ok(f"vm far w {far}")
    m.cmd_ok("vm start w")
    # seldom: the guest's clock sees each command's handling and its answer's UART interrupts pass
    # (about 3,400 ticks in Bochs; a poll every 0.25 s added 0.6 % to kv)
    while parse_vm_list(m.cmd_ok("vm list"))["w"]["state"] not in ("exited", "stopped"):
        time.sleep(2)
    out = m.cmd_ok("vm info w")
    info = parse_vm_info(out)
    if info["reason"] != "exited with status 0" or info["results"].get("differ", 0):
        sys.exit(f"bench_far: {name} local={local}K: {out}")
    faults = int(re.search(r"^far io:\s+(\d+) far faults", out, re.M).group(1))
    pf = re.search(r"(\d+) pages prefetched: (\d+) moved out untouched \(wasted\), (\d+) not looked at", out)
    m.cmd_ok("vm destroy w")
    m.cmd_ok("mem node del n")
    return info["results"][key], faults, tuple(map(int, pf.groups()))


def fig_c(m, outdir, md):
    rows = []
    for name, (_, _, foot, _) in WORKLOADS.items():
        base = None
        for ns in (1000, 10000):
            for pct in LOCAL_PCT:
                t, faults, _ = workload(m, name, foot * pct / 100 + (1 if pct == 100 else 0), ns)
                base = t if pct == 100 and base is None else base
                rows.append({"workload": name, "latency_ns": ns, "local_pct": pct, "policy": "fifo",
                             "ticks": t, "far_faults": faults, "slowdown": round(t / base, 3)})
                print(rows[-1], flush=True)
        if name == "kv":
            for policy in ("random", "clock", "lru"):
                for pct in LOCAL_PCT[1:]:
                    t, faults, _ = workload(m, name, foot * pct / 100, 10000, f"policy={policy}")
                    rows.append({"workload": name, "latency_ns": 10000, "local_pct": pct, "policy": policy,
                                 "ticks": t, "far_faults": faults, "slowdown": round(t / base, 3)})
                    print(rows[-1], flush=True)
    with open(os.path.join(outdir, "far_slowdown.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    md.append("## Fig. C: slowdown against the local share (Bochs, warp, FIFO unless said)\n\n"
              "Slowdown = the workload's time (its own TSC: instructions, and the latency warp adds) over its "
              "all-local run. Footprints: kv 10 MiB (8 MiB table), stride 10 MiB (8 MiB, 2 passes), qsort 6 MiB "
              "(4 MiB of keys). In brackets: the far faults of the whole run, its untimed setup (kv's fill of "
              "its table, qsort's keys, stride's array) included, so they are not the timed part's.\n\n| workload | latency | policy | " +
              " | ".join(f"{p} % local" for p in LOCAL_PCT) + " |\n|---|---|---|" + "---|" * len(LOCAL_PCT) + "\n")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (name, ns, policy) in sorted({(r["workload"], r["latency_ns"], r["policy"]) for r in rows}):
        sel = {r["local_pct"]: r for r in rows if (r["workload"], r["latency_ns"], r["policy"]) == (name, ns, policy)}
        md.append(f"| {name} | {ns // 1000} us | {policy} | " + " | ".join(
            f"{sel[p]['slowdown']} ({sel[p]['far_faults']} faults)" if p in sel else "-" for p in LOCAL_PCT) + " |\n")
        ax = axes[0 if ns == 1000 else 1]
        ax.plot(sorted(sel), [sel[p]["slowdown"] for p in sorted(sel)], "o-", label=f"{name} {policy}")
    for ax, ns in zip(axes, (1, 10)):
        ax.set_xlabel("local memory (% of footprint)")
        ax.set_ylabel("slowdown")
        ax.set_yscale("log")
        ax.set_title(f"{ns} us far latency")
        ax.invert_xaxis()
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "far_slowdown.png"), dpi=100)
    md.append("\nPlot: far_slowdown.png.\n\n")


def prefetch(m, md):
    """Hit rate of next:16 and stride:16 on stride, and what each costs kv (random accesses) at 25 % local."""
    out = []
    for name, pf in (("stride", "none"), ("stride", "prefetch=next:16"), ("stride", "prefetch=stride:16"),
                     ("kv", "none"), ("kv", "prefetch=next:16"), ("kv", "prefetch=stride:16")):
        t, faults, (pre, wasted, pending) = workload(m, name, WORKLOADS[name][2] * 0.25, 10000,
                                                     "" if pf == "none" else pf)
        out.append((name, pf, t, faults, pre, wasted, pending))
        print(out[-1], flush=True)
    md.append("## Prefetch (Bochs, warp, 10 us, 25 % local, FIFO)\n\n| workload | prefetch | ticks | far faults | "
              "prefetched | wasted | not looked at yet | hit rate |\n|---|---|---|---|---|---|---|---|\n")
    for name, pf, t, faults, pre, wasted, pending in out:
        hit = f"{100 * (pre - wasted - pending) / (pre - pending):.1f} %" if pre > pending else "-"
        md.append(f"| {name} | {pf} | {t} | {faults} | {pre} | {wasted} | {pending} | {hit} |\n")
    kv0, kv1, kv2 = out[3][2], out[4][2], out[5][2]
    md.append(f"\nkv with next:16 over kv without: {kv1 / kv0:.3f}; with stride:16 (which prefetches only when "
              f"two of the last three steps agree): {kv2 / kv0:.3f}.\n\n")


def figure_d(md, ax, emu, mode, rows, outdir):
    """One emulator's and mode's rows of Fig. D: printed, a CSV, a table and a line on the plot."""
    for r in rows:
        print(emu, mode, r, flush=True)
    with open(os.path.join(outdir, f"far_latency_{emu}_{mode}.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    md.append(f"### {emu} ({'VT-x' if emu == 'bochs' else 'AMD-V under TCG'}), inject={mode}\n\n"
              "| configured | ticks | first touch median | p99 | local hit median | far fault as measured | "
              "measured | error | far layer ticks per far fault (max) | without the page copies | "
              "VM exit to VM entry | world switch taken off |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    md += [f"| {r['configured_ns']} ns | {r['configured_ticks']} | {r['first_median']} | {r['first_p99']} | "
           f"{r['hit_median']} | {r['far_fault_ticks']} | {r['measured_ns']} ns | {r['error_pct']} % | "
           f"{r['hv_ticks_per_fault']} ({r['hv_ticks_max']}) | {r['hv_ticks_no_copy']} | {r['exit_to_entry']} | "
           f"{r['switch_ticks']} |\n"
           for r in rows]
    md.append("\n")
    ax.plot([r["configured_ns"] for r in rows], [max(r["measured_ns"], 1) for r in rows], "o-",
            label=f"{emu}, {mode}")


def main():
    global IMAGE
    IMAGE, outdir = sys.argv[1:3]
    emus = os.environ.get("EMHV_EMULATORS", "qemu,bochs").split(",")
    md = ["# Far memory\n\n## Fig. D: measured against configured latency\n\n"
          "The `latency` guest, 8 MiB over a 2 MiB local share, 300 probes per latency; bandwidth 1 TiB/s "
          "(a page's transfer under a tick at these clocks). Measured = the guest's median first touch minus "
          "its median local hit (the measuring code). Bochs ticks are instructions (50 per us); QEMU's follow "
          "the host clock.\n\n"]
    fig, ax = plt.subplots(figsize=(6, 5))
    tail = []
    for emu in ("bochs", "qemu"):
        if emu not in emus:
            continue
        m = boot(emu)
        try:
            runs = {mode: [one(m, ns, mode) for ns in LATENCIES_NS] for mode in MODES[emu]}
            if emu == "bochs":
                fig_c(m, outdir, tail)
                prefetch(m, tail)
            m.shutdown()
        finally:
            m.close()
        for mode, rows in runs.items():
            figure_d(md, ax, emu, mode, rows, outdir)
    ax.plot(LATENCIES_NS, LATENCIES_NS, "k--", label="configured")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("configured latency (ns)")
    ax.set_ylabel("measured by the guest (ns)")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "far_latency.png"), dpi=100)
    md.append("Plot: far_latency.png.\n\n")
    md += tail
    with open(os.path.join(outdir, "far.md"), "w") as f:
        f.write("".join(md))
    print("".join(md))


if __name__ == "__main__":
    main()
