#!/usr/bin/env python3
"""Pipes between VMs, measured (a measurement, never a pass/fail test). All in Bochs (VT-x): its
TSC counts instructions, the guest's and the hypervisor's alike, so a throughput on the guest's
clock is instructions per byte, the same from run to run but for where the monitor's polling
lands (QEMU's wall time under TCG varied by 2x between identical runs). Bochs counts a VM exit
as an instruction or so; on hardware each exit costs a round trip of about a microsecond more,
so the exits per run are given too.

1. MemPipe's table: a pipe_send / pipe_recv pair moves 4 MiB in messages of 64 B to 16 KiB
   through a 1 MiB region, static and dynamic. Per run: the region's average allocation and
   average bytes in flight while data flowed (sampled by the hypervisor every millisecond of
   TSC, within the guests' slices too, each sample the mean of its interval's ends: 'pipe info'),
   their ratio (utilisation), the peak allocation, the pages backed on faults, and the
   receiver's throughput. Both sides wait by interrupt: one CPU runs both VMs, so a polling side would
   spin away its slice.
2. Throughput of 64 KiB messages as a fraction of an in-guest memcpy of the same bytes (the
   receiver measures the memcpy itself first, memcpy=1): with copy=1 (the sender copies each
   message from a buffer, the receiver takes it in place: the pipe's own cost) and with every
   byte computed and checked.
3. Cost per message: 64 B messages through a static pipe between static VMs (so every
   nested-page fault is an MMIO access): exits per message other than the host's timer, MMIO
   accesses per message and hypervisor instructions per MMIO exit, polled and interrupt-driven.
usage: bench_pipes.py IMAGE OUTDIR"""
import csv
import os
import re
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from bench_plot import size_axis  # noqa: E402
from machine import Machine, parse_vm_info, parse_vm_list  # noqa: E402

DONE = ("exited", "stopped")
TOTAL = 4 << 20
SIZES = [64 << k for k in range(9)]  # 64 B .. 16 KiB


def boot(emu):
    m = Machine(emu, IMAGE, mem=1024)
    m.wait_prompt()
    for name in parse_vm_list(m.cmd_ok("vm list")):  # the startup.cfg guest
        m.cmd_ok(f"vm destroy {name}")
    return m


def wait_done(m, names, timeout=1800):
    end = time.time() + timeout
    while any(parse_vm_list(m.cmd_ok("vm list"))[n]["state"] not in DONE for n in names):
        if time.time() > end:
            sys.exit(f"bench_pipes: {names} did not finish: {m.cmd_ok('vm list')}")
        time.sleep(0.5)


def results(m, name):
    i = parse_vm_info(m.cmd_ok(f"vm info {name}"))
    if i["reason"] != "exited with status 0":
        sys.exit(f"bench_pipes: {name}: {i['reason']}: {m.cmd_ok(f'vm console {name}')}")
    return i["results"]


USE = re.compile(r"^use:\s+(\d+) samples while data flowed: on average (\d+) bytes in flight of (\d+) allocated",
                 re.M)
REGION = re.compile(r"^region:.* (\d+) pages backed .*peak (\d+)$", re.M)
FAULTS = re.compile(r"^paging:\s+(\d+) pages backed on faults", re.M)


def transfer(m, size, count, mode, send="", recv="", vm_mode=""):
    """One pair, one pipe, run to the end; the receiver's results, the pipe's use, 'stats' text."""
    m.cmd_ok(f"vm create tx image=pipe_send.elf min=4M max=16M {vm_mode} size={size} count={count} "
             f"seed=3 {send}")
    m.cmd_ok(f"vm create rx image=pipe_recv.elf min=4M max=16M {vm_mode} size={size} count={count} "
             f"seed=3 {recv}")
    m.cmd_ok(f"pipe create p tx rx max=1M mode={mode}")
    m.cmd_ok("stats reset")
    m.cmd_ok("vm start rx")
    if "memcpy=1" in recv:  # its memcpy is timed alone, before the sender runs
        end = time.time() + 600
        while "memcpy_kib_s" not in parse_vm_info(m.cmd_ok("vm info rx"))["results"]:
            if time.time() > end:
                sys.exit(f"bench_pipes: no memcpy_kib_s: {m.cmd_ok('vm console rx')}")
            time.sleep(0.2)
    m.cmd_ok("vm start tx")
    wait_done(m, ["tx", "rx"])
    stats = m.cmd_ok("stats")
    r, s = results(m, "rx"), results(m, "tx")
    if r["messages"] != count or r["differ"] or r["order_errors"] or s["messages"] != count:
        sys.exit(f"bench_pipes: {size} B {mode}: {r} {s}")
    info = m.cmd_ok("pipe info p")
    use, reg, faults = USE.search(info), REGION.search(info), FAULTS.search(info)
    m.cmd_ok("vm destroy tx")
    m.cmd_ok("vm destroy rx")
    return {"rx": r, "tx": s, "samples": int(use.group(1)), "used": int(use.group(2)),
            "alloc": int(use.group(3)), "peak": int(reg.group(2)) * 4096, "faults": int(faults.group(1)),
            "exits": sum(int(n) for k, n, _, _, _ in STAT_ROW.findall(stats) if k not in ("timer", "extint")),
            "stats": stats}


def mempipe(m):
    rows = []
    for size in SIZES:
        for mode in ("static", "dynamic"):
            t = transfer(m, size, TOTAL // size, mode, send="wait=irq", recv="wait=irq")
            rows.append({"size": size, "mode": mode, "alloc_kib": t["alloc"] / 1024, "used_kib": t["used"] / 1024,
                         "util": t["used"] / t["alloc"] if t["alloc"] else 0, "peak_kib": t["peak"] / 1024,
                         "faults": t["faults"], "exits": t["exits"], "kib_s": t["rx"]["kib_s"],
                         "samples": t["samples"]})
            print(rows[-1], flush=True)
    return rows


def copy_ratio(m):
    out = []
    for copy in ("1", "0"):
        for mode in ("static", "dynamic"):
            t = transfer(m, 65536, 256, mode, send=f"wait=irq copy={copy}", recv=f"wait=irq memcpy=1 copy={copy}")
            out.append({"copy": copy, "mode": mode, "pipe_kib_s": t["rx"]["kib_s"],
                        "memcpy_kib_s": t["rx"]["memcpy_kib_s"], "ratio": t["rx"]["kib_s"] / t["rx"]["memcpy_kib_s"],
                        "receiver_waits": t["rx"]["waits"], "exits": t["exits"]})
            print(out[-1], flush=True)
    return out
STAT_ROW = re.compile(r"^(\w[\w-]*)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", re.M)


COUNTS = (2000, 6000)  # what a message costs is the difference: setup and teardown cancel out


def exits_of(stats):
    """Exits by kind from 'stats' (the host's timer and interrupts apart), MMIO accesses, NPF cost."""
    kinds = {k: (int(n), int(tot)) for k, n, tot, _, _ in STAT_ROW.findall(stats)}
    mmio = int(re.search(r"^mmio accesses emulated: (\d+)", stats, re.M).group(1))
    return kinds, mmio


def cost(m):
    out = []
    for wait in ("poll", "irq"):
        runs = []
        for count in COUNTS:
            t = transfer(m, 64, count, "static", send=f"wait={wait}", recv=f"wait={wait}", vm_mode="mode=static")
            runs.append((count, t, *exits_of(t["stats"])))
        (n1, t1, k1, mm1), (n2, t2, k2, mm2) = runs
        guest = {k: k2.get(k, (0, 0))[0] - k1.get(k, (0, 0))[0] for k in set(k1) | set(k2)
                 if k not in ("timer", "extint")}
        npf_n, npf_tsc = k2.get("npf", (0, 0))
        out.append({"wait": wait, "messages": f"{n1} and {n2}",
                    "extra_exits_per_message": sum(guest.values()) / (n2 - n1),
                    "extra_exits_by_kind": " ".join(f"{k}:{v}" for k, v in sorted(guest.items()) if v),
                    "extra_mmio_per_message": (mm2 - mm1) / (n2 - n1),
                    "instructions_per_mmio_exit": npf_tsc // npf_n if npf_n else 0,
                    "events": t2["rx"]["events"] + t2["tx"].get("events", 0)})
        print(out[-1], flush=True)
    return out


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def plot(rows, path):
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for mode, mark in (("static", "o-"), ("dynamic", "s-")):
        r = [x for x in rows if x["mode"] == mode]
        a.plot([x["size"] for x in r], [100 * x["util"] for x in r], mark, label=mode)
        b.plot([x["size"] for x in r], [x["kib_s"] / 1024 for x in r], mark, label=mode)
    for ax, title, unit in ((a, "utilisation of the region", "%"), (b, "throughput (receiver)", "MiB/s")):
        size_axis(ax, title, unit)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    global IMAGE
    IMAGE, outdir = sys.argv[1:3]
    md = ["# Pipes between VMs (Bochs, VT-x; its TSC counts instructions)\n"]
    m = boot("bochs")
    try:
        rows = mempipe(m)
        ratio = copy_ratio(m)
        c = cost(m)
        m.shutdown()
    finally:
        m.close()
    write_csv(os.path.join(outdir, "pipes_mempipe.csv"), rows)
    write_csv(os.path.join(outdir, "pipes_copy.csv"), ratio)
    write_csv(os.path.join(outdir, "pipes_cost.csv"), c)
    plot(rows, os.path.join(outdir, "pipes_mempipe.png"))
    md.append("## MemPipe's table\n\n"
              f"{TOTAL >> 20} MiB per run through a 1 MiB region, both sides waiting by interrupt; throughput on "
              "the receiver's TSC. Allocated and used are averages over the hypervisor's samples while data "
              "flowed, one a millisecond (TSC), each the mean of the ends of the millisecond before it; exits are "
              "all but the host's timer and interrupts.\n\n"
              "| size (B) | mode | allocated KiB | used KiB | utilisation | peak KiB | pages backed on faults | exits "
              "| throughput KiB/s |\n|---|---|---|---|---|---|---|---|---|\n")
    md += [f"| {r['size']} | {r['mode']} | {r['alloc_kib']:.0f} | {r['used_kib']:.0f} | {100 * r['util']:.1f} % "
           f"| {r['peak_kib']:.0f} | {r['faults']} | {r['exits']} | {r['kib_s']} |\n" for r in rows]
    md.append("\nDynamic throughput over static, per size: " + ", ".join(
        f"{s}: {d['kib_s'] / st['kib_s']:.3f}" for s in SIZES
        for st in [x for x in rows if x['size'] == s and x['mode'] == 'static']
        for d in [x for x in rows if x['size'] == s and x['mode'] == 'dynamic']) + "\n")
    md.append("\n## 64 KiB messages against an in-guest memcpy\n\nThe receiver times a memcpy of the same bytes "
              "alone before the sender starts. copy=1: the sender copies each message from a buffer, the receiver "
              "takes it in place and checks its index, length and last word (the pipe's own cost); copy=0: the "
              "sender computes every byte and the receiver checks every byte, on the same CPU.\n\n"
              "| copy | mode | pipe KiB/s | memcpy KiB/s | ratio | receiver waits | exits |\n|---|---|---|---|---|---|---|\n")
    md += [f"| {r['copy']} | {r['mode']} | {r['pipe_kib_s']} | {r['memcpy_kib_s']} | {r['ratio']:.3f} | "
           f"{r['receiver_waits']} | {r['exits']} |\n" for r in ratio]
    md.append("\n## Cost per message\n\n64 B messages through a static pipe between "
              f"static VMs, {COUNTS[0]} and then {COUNTS[1]}: the extra exits (all but the host's timer and "
              "interrupts) over the extra messages, and what an MMIO exit costs the hypervisor.\n\n"
              "| wait | extra exits per message | by kind | extra MMIO accesses per message | "
              "hypervisor instructions per MMIO exit | events (second run) |\n|---|---|---|---|---|---|\n")
    md += [f"| {r['wait']} | {r['extra_exits_per_message']:.4f} | {r['extra_exits_by_kind'] or '-'} | "
           f"{r['extra_mmio_per_message']:.4f} | {r['instructions_per_mmio_exit']} | {r['events']} |\n" for r in c]
    md.append("\nGoals (issue 9): dynamic utilisation >= 90 % for messages of 1 KiB and more, >= 75 % at 64 B, "
              "throughput within 5 % of static; 64 KiB throughput >= 0.8 of memcpy; a polled 64 B message "
              "needs no exit, at most one exit per batch when notified.\n")
    with open(os.path.join(outdir, "pipes.md"), "w") as f:
        f.write("".join(md))
    print("".join(md))


if __name__ == "__main__":
    main()
