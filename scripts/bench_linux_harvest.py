#!/usr/bin/env python3
"""Harvest speed from Linux (issue 12): how fast memory a Linux guest frees gets back to emhv's pool,
in Bochs (VT-x; its TSC counts instructions, the guest's and the hypervisor's) and in QEMU (AMD-V;
TSC ticks are wall time at the calibrated rate). An elastic Linux VM (min 64M, max 1536M) runs
memfill over 1 GiB (every byte written and checked), which exits: Linux frees the 1 GiB.
  reporting   free-page reporting gives it back by itself: from the console line printed after the
              free ('vm console -t' stamp) to the first report that returned frames is reporting's
              own delay (Linux waits 2 s, page_reporting_delay), to the last is the whole time;
              the hypervisor's ticks handling those reports are its own cost.
  balloon     memfill runs over 1 GiB again, and as soon as its free is on the console the balloon's
              target becomes 1 GiB: from the target to the guest holding it, and the frames it
              returned (reporting may give back some of the same free memory in between: both counts
              are shown).
The pool's free memory ('mem') is read before memfill and after the give-back, independently of the
balloon's own counts. A measurement, never a pass/fail test (a failed run stops it).
usage: bench_linux_harvest.py IMAGE OUTDIR"""
import csv
import os
import re
import sys
import time

from bench_plot import grouped_bars
from linux_vm import SMALL, boot, clear_startup, run, stamped
from machine import Machine, parse_mem  # noqa: E402  (linux_vm puts tests/system on the path)

GIB_KIB = 1 << 20
VM = "min=64M max=1536M"
GIVE_BACK = (r"^last give-back: (\d+) KiB inflated and (\d+) KiB reported, from (\d+) to (\d+) TSC ticks after "
             r"start, (\d+) ticks handling it; its first inflate buffer (\d+|-), its first report (\d+|-) ")
QUIET_S = 8  # longer than a burst's gap (5 s of the guest's time): the burst is over


def give_back(m):
    hit = re.search(GIVE_BACK, m.cmd_ok("vm info lx"), re.M)
    return tuple(int(g) if g != "-" else None for g in hit.groups()) if hit else None


def settled(m, after, want_kib, timeout):
    """The last give-back once it has begun after tick `after`, returned want_kib or more, and stopped."""
    end, last, since = time.time() + timeout, None, time.time()
    while time.time() < end:
        now = give_back(m)
        if now != last:
            last, since = now, time.time()
        elif now and now[2] > after and now[0] + now[1] >= want_kib and time.time() - since > QUIET_S:
            return now
        time.sleep(1)
    sys.exit(f"bench_linux_harvest: no give-back of {want_kib} KiB after tick {after} in {timeout} s: "
             f"{m.cmd_ok('vm info lx')}")


def pool_free_kib(m):
    return parse_mem(m.cmd_ok("mem"))["free"] * 4


def fill_and_free(m, seed, tag):
    line = run(m, "lx", f"memfill 1G {seed}; echo {tag}=freed", r"^(memfill: .*)").group(1)
    if ", 0 bytes differ" not in line:
        sys.exit(f"bench_linux_harvest: {line}")
    return stamped(m, "lx", f"^{tag}=freed", 60)[0]


def measure(emu, image):
    m = Machine(emu, image, mem=2048)
    rows = []
    try:
        m.wait_prompt()
        clear_startup(m)
        hz = int(re.search(r"\(\d+ TSC ticks at (\d+) Hz", m.cmd_ok("uptime")).group(1))
        boot(m, "lx", VM, kernel=SMALL)
        time.sleep(QUIET_S)  # what boot freed is reported first
        before = pool_free_kib(m)
        freed = fill_and_free(m, 3, "F1")
        g = settled(m, freed, GIB_KIB * 9 // 10, 900)
        rows.append({"emulator": emu, "path": "reporting", "hz": hz, "inflated_kib": g[0], "reported_kib": g[1],
                     "delay_ticks": g[6] - freed if g[6] is not None else None, "total_ticks": g[3] - freed,
                     "handling_ticks": g[4],
                     "pool_free_change_kib": pool_free_kib(m) - before})
        before = pool_free_kib(m)
        freed = fill_and_free(m, 5, "F2")
        m.cmd_ok("vm balloon lx 1G")
        g = settled(m, freed, GIB_KIB * 9 // 10, 900)
        target = int(re.search(r"^balloon target set (\d+) TSC ticks after start", m.cmd_ok("vm info lx"),
                               re.M).group(1))
        holds = int(re.search(r"the guest says it holds (\d+) KiB", m.cmd_ok("vm info lx")).group(1))
        rows.append({"emulator": emu, "path": "balloon", "hz": hz, "inflated_kib": g[0], "reported_kib": g[1],
                     "delay_ticks": g[5] - target if g[5] is not None else None, "total_ticks": g[3] - target,
                     "handling_ticks": g[4],
                     "pool_free_change_kib": pool_free_kib(m) - before, "balloon_holds_kib": holds,
                     "target_after_free_ticks": target - freed})
        m.cmd_ok("vm destroy lx")
        m.shutdown()
    finally:
        m.close()
    for r in rows:
        print(f"bench_linux_harvest: {r}", flush=True)
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rows = measure("bochs", image) + measure("qemu", image)
    fields = ["emulator", "path", "hz", "inflated_kib", "reported_kib", "delay_ticks", "total_ticks",
              "handling_ticks", "pool_free_change_kib", "balloon_holds_kib", "target_after_free_ticks"]
    with open(os.path.join(out, "linux_harvest.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    lines = ["# Harvest speed from Linux: 1 GiB freed by the guest back in the pool", "",
             "Bochs: TSC ticks are instructions (guest and hypervisor). QEMU: ticks are wall time at the rate "
             "shown (TCG, an emulated CPU). reporting: from the guest's free (console stamp) to the first report "
             "that returned frames (delay: Linux's own wait) and to the last (total); balloon: from the target "
             "set to the first inflate buffer (delay) and to the last (total). handling: the hypervisor's ticks "
             "in those buffers.", "",
             "| emulator | path | KiB inflated | KiB reported | delay | total | total ms | handling ticks | "
             "handling per GiB | pool free change KiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kib = r["inflated_kib"] + r["reported_kib"]
        lines.append(f"| {r['emulator']} | {r['path']} | {r['inflated_kib']} | {r['reported_kib']} | "
                     f"{r['delay_ticks']} | {r['total_ticks']} | {r['total_ticks'] * 1000 / r['hz']:.0f} | "
                     f"{r['handling_ticks']} | {r['handling_ticks'] * GIB_KIB // kib} | {r['pool_free_change_kib']} |")
    lines += ["", "Pool free change: 'mem' free after the give-back minus before memfill (0: all of it came back)."]
    with open(os.path.join(out, "linux_harvest.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    paths, series = ["reporting", "balloon"], {}
    for emu in ("bochs", "qemu"):
        for part, key in (("total", "total_ticks"), ("handling", "handling_ticks")):
            series[f"{emu}, {part}"] = [next(r[key] * 1000 / r["hz"] for r in rows
                                             if r["emulator"] == emu and r["path"] == p) for p in paths]
    grouped_bars(os.path.join(out, "linux_harvest.png"), paths, series,
                 "ms of TSC time (Bochs: instructions at its rate)", "1 GiB freed by Linux back in the pool")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
