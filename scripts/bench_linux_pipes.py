#!/usr/bin/env python3
"""Pipes between Linux VMs (issue 12), measured in QEMU (AMD-V): MemPipe's table with Linux at both
ends. Two Linux VMs, a and b (the small initramfs: the pipe driver emhv_pipe.ko and pipetest), and
for each message size from 64 B to 64 KiB its own 1 MiB pipe from a to b (max_record 522232 bytes),
all static or all dynamic, and one pipe back from b to a; one boot per mode.

Per size and mode, three runs (all sizes in turn, then again):
1. Throughput: pipetest send on a, pipetest recv on b, every byte checked; the receiver's KiB/s
   (from the first record to the last). The pipe's use as the hypervisor sampled it while data
   flowed ('pipe info', as bench_pipes.py takes it): average bytes allocated of the data area,
   average bytes in flight, their ratio (utilisation), the peak allocation, pages backed on faults.
2. Latency: pipetest ping on a through the same pipe, pipetest pong on b echoing each message back
   through the pipe back; the median, p1 and p99 round trip (one message in flight).

Both sides block in read() and write() (pipetest's TIMEOUT_MS 0): the driver sleeps until the
pipe's event. The guests time with CLOCK_MONOTONIC on the TSC (emhv's command line says tsc=reliable:
with two VMs on emhv's one CPU each loses timer ticks while the other runs, and Linux's clocksource
watchdog would find the TSC 'unstable' against jiffies and fall back to refined-jiffies, which
moves in 4 ms steps). QEMU's clock is wall time on an emulated CPU (TCG): compare sizes and modes,
not the figures to hardware. The monitor reads the consoles once a second meanwhile. A measurement,
never a pass/fail test: a run whose bytes differ or whose VM stops ends it with a message.
usage: bench_linux_pipes.py IMAGE OUTDIR   (IMAGE: build/emhv.img)"""
import csv
import os
import re
import sys
import time

from bench_plot import size_axis
from linux_vm import READY, clear_startup, console_wait
from machine import Machine  # noqa: E402  (linux_vm puts tests/system on the path)

LINUX = "kernel=vmlinuz initrd=initrd.cpio min=64M max=256M"
SIZES = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10]
MODES = ["static", "dynamic"]
TOTAL = 32 << 20  # bytes per throughput run
MIN_MESSAGES = 512
ROUND_TRIPS = 500  # per run
RUNS = 3  # of each size in each mode
SEED = 7
TIMEOUT_S = 300  # for any one pipetest run


def label(size):
    return f"{size >> 10} KiB" if size >= 1024 else f"{size} B"


def dev(pipe):
    return "/dev/emhv-pipe-" + pipe


_started = [0]


def start(m, name, line):
    """Type line into name's shell without waiting; collect() reads its answer."""
    _started[0] += 1
    tag = f"L{_started[0]}"
    m.cmd_ok(f'vm send {name} "echo {tag}=start; {line}; echo {tag}=end status=$?"')
    return tag


def collect(m, name, tag, answer):
    """The match of answer between tag's start and end lines; the run ends unless the status is 0."""
    hit = console_wait(m, name, rf"^{tag}=start$(?P<out>[\s\S]*?)^{tag}=end status=(?P<status>\d+)$", TIMEOUT_S)
    found = re.search(answer, hit.group("out"), re.M)
    if hit.group("status") != "0" or not found:
        sys.exit(f"bench_linux_pipes: {name}: exit status {hit.group('status')}:{hit.group('out')[-2000:]}")
    return found


USE = re.compile(r"^use:\s+(\d+) samples while data flowed: on average (\d+) bytes in flight of (\d+) allocated",
                 re.M)
REGION = re.compile(r"^region:.* (\d+) pages backed .*peak (\d+)$", re.M)
FAULTS = re.compile(r"^paging:\s+(\d+) pages backed on faults", re.M)
RECV = (r"^pipetest recv: (\d+) messages, (\d+) bytes, (\d+) KiB/s; (\d+) bytes differ, (\d+) order errors$")
PING = (r"^pipetest ping: (\d+) round trips of \d+ bytes: median (\d+) ns, p1 (\d+) ns, p99 (\d+) ns; "
        r"(\d+) bytes differ, (\d+) order errors$")
PONG = r"^pipetest pong: (\d+) messages echoed; (\d+) bytes differ, (\d+) order errors$"


def pipe_use(m, pipe):
    """The pipe's counts so far ('pipe info'): samples, sums over them, peak, pages backed on faults."""
    info = m.cmd_ok(f"pipe info {pipe}")
    samples, used, alloc = map(int, USE.search(info).groups())
    # the averages are whole bytes: the sums rebuilt from them are short by less than a byte a sample
    return {"samples": samples, "used_sum": used * samples, "alloc_sum": alloc * samples,
            "peak_kib": int(REGION.search(info).group(2)) * 4, "faults": int(FAULTS.search(info).group(1))}


def throughput(m, pipe, size):
    """One run: the receiver's KiB/s, and what the hypervisor counted of the pipe meanwhile."""
    count = max(TOTAL // size, MIN_MESSAGES)
    before = pipe_use(m, pipe)
    rx = start(m, "b", f"pipetest recv {dev(pipe)} {size} {count} {SEED} 0")
    collect(m, "a", start(m, "a", f"pipetest send {dev(pipe)} {size} {count} {SEED} 0"), "^pipetest send: ")
    messages, nbytes, kib_s, differ, order = map(int, collect(m, "b", rx, RECV).groups()[:5])
    if (messages, nbytes, differ, order) != (count, count * size, 0, 0):
        sys.exit(f"bench_linux_pipes: {pipe}: {messages} of {count} messages, {nbytes} bytes, {differ} bytes "
                 f"differ, {order} order errors")
    after = pipe_use(m, pipe)
    run = {k: after[k] - before[k] for k in ("samples", "used_sum", "alloc_sum", "faults")}
    run.update(kib_s=kib_s, messages=count, peak_kib=after["peak_kib"])
    return run


def latency(m, pipe, size):
    """One run of round trips: median, p1 and p99 in us."""
    pong = start(m, "b", f"pipetest pong {dev(pipe)} {dev('back')} {size} {ROUND_TRIPS} {SEED} 0")
    ping = collect(m, "a", start(m, "a", f"pipetest ping {dev(pipe)} {dev('back')} {size} {ROUND_TRIPS} {SEED} 0"),
                   PING)
    n, median, p1, p99, differ, order = map(int, ping.groups()[:6])
    echoed, pong_differ, pong_order = map(int, collect(m, "b", pong, PONG).groups()[:3])
    if (n, echoed, differ, order, pong_differ, pong_order) != (ROUND_TRIPS, ROUND_TRIPS, 0, 0, 0, 0):
        sys.exit(f"bench_linux_pipes: {pipe}: {n} round trips, {echoed} echoed, {differ} and {pong_differ} bytes "
                 f"differ, {order} and {pong_order} order errors")
    return median / 1000, p1 / 1000, p99 / 1000


def summary(size, mode, tp, lat):
    """A row of the table from a size's runs: use over all its throughput runs, medians over runs."""
    samples, used, alloc = (sum(r[k] for r in tp) for k in ("samples", "used_sum", "alloc_sum"))
    kib_s = sorted(r["kib_s"] for r in tp)
    med, p1, p99 = (sorted(x[i] for x in lat) for i in range(3))
    mid = len(tp) // 2
    return {"size": size, "mode": mode, "runs": len(tp), "messages_per_run": tp[0]["messages"], "samples": samples,
            "alloc_kib": alloc / samples / 1024 if samples else 0, "used_kib": used / samples / 1024 if samples else 0,
            "util": used / alloc if alloc else 0, "peak_kib": tp[-1]["peak_kib"],
            "faults_per_run": sum(r["faults"] for r in tp) / len(tp), "kib_s": kib_s[mid], "kib_s_min": kib_s[0],
            "kib_s_max": kib_s[-1], "rtt_median_us": med[mid], "rtt_median_min_us": med[0],
            "rtt_median_max_us": med[-1], "rtt_p1_us": p1[mid], "rtt_p99_us": p99[mid],
            "kib_s_runs": " ".join(str(r["kib_s"]) for r in tp),
            "rtt_median_us_runs": " ".join(f"{x[0]:.0f}" for x in lat)}


def measure(m, mode):
    """One boot of a and b with a pipe of this mode per size and one back; a row per size."""
    m.cmd_ok(f"vm create a {LINUX}")
    m.cmd_ok(f"vm create b {LINUX}")
    for size in SIZES:
        m.cmd_ok(f"pipe create p{size} a b max=1M mode={mode}")
    m.cmd_ok(f"pipe create back b a max=1M mode={mode}")
    for name in ("a", "b"):
        m.cmd_ok("vm start " + name)
    for name in ("a", "b"):
        console_wait(m, name, "^" + READY, 300)
        console_wait(m, name, r"^# ", 60)
    tp, lat = {s: [] for s in SIZES}, {s: [] for s in SIZES}
    for k in range(RUNS):  # the runs of a size apart in time: QEMU's pace drifts
        for size in SIZES:
            tp[size].append(throughput(m, f"p{size}", size))
            lat[size].append(latency(m, f"p{size}", size))
            print(f"bench_linux_pipes: {mode} {label(size)} run {k + 1}: {tp[size][-1]['kib_s']} KiB/s; round trip "
                  f"median {lat[size][-1][0]:.0f} us", flush=True)
    for name in ("a", "b"):  # their pipes go with them
        m.cmd_ok("vm destroy " + name)
    return [summary(size, mode, tp[size], lat[size]) for size in SIZES]


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for mode, mark in (("static", "o-"), ("dynamic", "s-")):
        r = [x for x in rows if x["mode"] == mode]
        sizes = [x["size"] for x in r]
        axes[0].plot(sizes, [100 * x["util"] for x in r], mark, label=mode)
        tp = [x["kib_s"] / 1024 for x in r]
        axes[1].errorbar(sizes, tp, yerr=[[t - x["kib_s_min"] / 1024 for t, x in zip(tp, r)],
                                          [x["kib_s_max"] / 1024 - t for t, x in zip(tp, r)]],
                         fmt=mark, capsize=3, label=mode)
        med = [x["rtt_median_us"] for x in r]
        axes[2].errorbar(sizes, med, yerr=[[m - x["rtt_p1_us"] for m, x in zip(med, r)],
                                           [x["rtt_p99_us"] - m for m, x in zip(med, r)]],
                         fmt=mark, capsize=3, label=mode)
    for ax, title, unit in ((axes[0], "utilisation of the region", "%"),
                            (axes[1], "throughput (receiver; runs' range)", "MiB/s"),
                            (axes[2], "round trip (median run: median, p1 to p99)", "us")):
        size_axis(ax, title, unit)
    axes[2].set_yscale("log")
    fig.suptitle("Pipes between Linux VMs on emhv (QEMU TCG wall time, emulated CPU)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def table(rows, seconds):
    md = ["# Pipes between Linux VMs (QEMU TCG wall time, emulated CPU)\n\n",
          "Two Linux VMs on emhv's one CPU in QEMU (AMD-V), one 1 MiB pipe per message size (max record 522232 "
          "bytes), pipetest at both ends blocking in read() and write(), every byte checked; "
          f"{RUNS} runs of each size, one size after another. Throughput: {TOTAL >> 20} MiB per run, the "
          "receiver's KiB/s, the median run (slowest and fastest in brackets). Allocated and used: averages of "
          "the data area over the hypervisor's samples while data flowed in all runs ('pipe info'); peak: the most "
          f"pages of the region backed at once. Round trip: {ROUND_TRIPS} messages a run, one in flight, out "
          "through the same pipe and back through another of the same mode; the median run's median (the "
          "runs' lowest and highest median in brackets), and the median run's p1 and p99. Guest clocks on the "
          "TSC (tsc=reliable on emhv's command line). QEMU's TCG emulates the CPU: wall times here are far "
          "from hardware's; compare sizes and modes.\n\n",
          "| size | mode | allocated KiB | used KiB | utilisation | peak KiB | pages backed on faults per run "
          "| throughput KiB/s | round trip median us | p1 us | p99 us |\n|---|---|---|---|---|---|---|---|---|---|---|\n"]
    md += [f"| {label(r['size'])} | {r['mode']} | {r['alloc_kib']:.0f} | {r['used_kib']:.0f} | {100 * r['util']:.1f} % "
           f"| {r['peak_kib']} | {r['faults_per_run']:.0f} | {r['kib_s']} ({r['kib_s_min']}-{r['kib_s_max']}) "
           f"| {r['rtt_median_us']:.0f} ({r['rtt_median_min_us']:.0f}-{r['rtt_median_max_us']:.0f}) "
           f"| {r['rtt_p1_us']:.0f} | {r['rtt_p99_us']:.0f} |\n" for r in rows]
    by = {(r["size"], r["mode"]): r for r in rows}
    md.append("\nDynamic over static, per size: throughput " + ", ".join(
        f"{label(s)}: {by[(s, 'dynamic')]['kib_s'] / by[(s, 'static')]['kib_s']:.2f}" for s in SIZES) +
        "; median round trip " + ", ".join(
        f"{label(s)}: {by[(s, 'dynamic')]['rtt_median_us'] / by[(s, 'static')]['rtt_median_us']:.2f}"
        for s in SIZES) + ".\n")
    md.append("\nUsed is head minus tail as the hypervisor reads them, less a skip record's stretch (the unused "
              "end of the ring at a wrap, never written). Each sample, one a millisecond of TSC, is the mean of the "
              "ends of the millisecond before it. A static region is as full as the sender gets ahead of the "
              "receiver, which checks every byte: its utilisation varies from run to run. A dynamic region keeps "
              "the pages a stream at its recent pace comes round to within 8 ms: Linux's fast streams keep most of "
              "the ring.\n")
    md.append(f"\nThe whole run took {seconds:.0f} s of wall time (two boots of two Linux VMs included).\n")
    return "".join(md)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    m = Machine("qemu", image, mem=1024)
    try:
        m.wait_prompt()
        clear_startup(m)
        rows = [r for mode in MODES for r in measure(m, mode)]
        m.shutdown()
    finally:
        m.close()
    with open(os.path.join(out, "linux_pipes.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(rows, os.path.join(out, "linux_pipes.png"))
    md = table(rows, time.time() - t0)
    with open(os.path.join(out, "linux_pipes.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
