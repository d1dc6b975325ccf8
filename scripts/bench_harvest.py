#!/usr/bin/env python3
"""Memory flowing back, measured (a measurement, never a pass/fail test).

1. MemLego's harvesting experiment (QEMU, AMD-V; wall time): three `wss` guests whose
   working sets peak at different times share a pool smaller than the sum of their
   peaks. Four ways: static upper bounds (what fits runs, the rest after it),
   elastic without harvesting, elastic with harvesting with the guests releasing what
   a phase stops using (release=1) and without (release=0, only zero pages come back).
   Per VM: time from start to exit, time it waited for memory, the passes over its
   working set it managed (its throughput); pool use per VM over time as PNG plots.
2. The speed of giving back (Bochs, VT-x; its TSC counts instructions): hypervisor
   instructions to take back 1 GiB a guest released, and 1 GiB of zero memory (backed,
   never written), with the invalidations it needed and the longest stretch a vCPU
   stood still (the longest release hypercall; the longest harvest step).
3. The working-set estimate against the `wss` guest's exact working set per phase
   (Bochs), how many scan periods it took to follow a phase change (once the phase settled
   in), how long a pass over the working set took, and what the scans cost against the
   guest's own instructions.
usage: bench_harvest.py IMAGE OUTDIR"""
import csv
import os
import re
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from machine import Machine, parse_mem, parse_size, parse_vm_info, parse_vm_list  # noqa: E402

MIB = 1 << 20
DONE = ("exited", "stopped")


def boot(emu, mem=1024):
    m = Machine(emu, IMAGE, mem=mem)
    m.wait_prompt()
    for name in parse_vm_list(m.cmd_ok("vm list")):  # the startup.cfg guest
        m.cmd_ok(f"vm destroy {name}")
    return m


def ticks(m):
    """The hypervisor's TSC now (uptime), and its rate."""
    u = re.search(r"\((\d+) TSC ticks at (\d+) Hz", m.cmd_ok("uptime"))
    return int(u.group(1)), int(u.group(2))


def waited(m, name):
    return int(re.search(r"^waited for memory: (\d+) TSC ticks", m.cmd_ok(f"vm info {name}"), re.M).group(1))


def free_bytes(m):
    return parse_mem(m.cmd_ok("mem"))["free"] * 4096


# ---- 1. MemLego's experiment -----------------------------------------------------

# Peaks one after another: together they never need more than 192 + 2 * 32 MiB at a time.
PHASES = {"a": "160M:3,24M:3,24M:3", "b": "24M:3,160M:3,24M:3", "c": "24M:3,24M:3,160M:3"}
POOL = 288 * MIB  # what the VMs get: less than the sum of their peaks (480 MiB)


def make_room(m, pool):
    """A static hog takes all but `pool` of the free memory."""
    m.cmd_ok("mem zero-cache 0")
    hog = (free_bytes(m) - pool) // (2 * MIB) * (2 * MIB)
    m.cmd_ok(f"vm create hog image=hello.elf min=4M max={hog >> 10}K mode=static")


def run_wss(m, mode, release, sample):
    """Start the three VMs (static: one at a time, as many as fit); poll until all are done."""
    names, t0 = list(PHASES), time.monotonic()
    started, done, series = {}, {}, []
    pending = list(names)
    mem_opt = "mode=static" if mode == "static" else ""

    def start(n):
        m.cmd_ok(f"vm create {n} image=wss.elf min=8M max=192M {mem_opt} phases={PHASES[n]} "
                 f"release={release} seed={ord(n)}")
        m.cmd_ok(f"vm start {n}")
        started[n] = time.monotonic()

    while pending or len(done) < len(names):
        vms = parse_vm_list(m.cmd_ok("vm list"))
        for n in list(started):
            if n not in done and vms[n]["state"] in DONE:
                done[n] = time.monotonic()
                info = parse_vm_info(m.cmd_ok(f"vm info {n}"))
                if info["reason"] != "exited with status 0" or info["results"].get("differ") != 0:
                    sys.exit(f"bench_harvest: {n} failed: {info}")
                done[n] = (done[n], waited(m, n), info["results"])
                m.cmd_ok(f"vm destroy {n}")
        while pending:
            if mode == "static" and any(n not in done for n in started):
                break  # static: only one of 192 MiB fits next to the others' nothing
            start(pending.pop(0))
        if sample:
            series.append((time.monotonic() - t0, {n: vms[n]["backed"] for n in vms if n in PHASES}))
        time.sleep(0.25)
    return {n: {"time": done[n][0] - started[n], "waited": done[n][1],
                "passes": sum(v for k, v in done[n][2].items() if k.endswith("_passes"))}
            for n in names}, series, hz_of(m)


def hz_of(m):
    return ticks(m)[1]


def memlego(out):
    m = boot("qemu")
    results = {}
    try:
        make_room(m, POOL)
        for label, mode, release, harvest in (("static", "static", 0, "on"),
                                              ("elastic, no harvesting", "elastic", 0, "off"),
                                              ("harvesting, release=1", "elastic", 1, "on"),
                                              ("harvesting, release=0", "elastic", 0, "on")):
            m.cmd_ok(f"mem policy harvest={harvest}")
            results[label] = run_wss(m, mode, release, sample=True)
        m.cmd_ok("mem policy harvest=on")
        m.shutdown()
    finally:
        m.close()
    rows = []
    for label, (per_vm, _, hz) in results.items():
        for n, r in per_vm.items():
            rows.append({"scenario": label, "vm": n, "seconds_start_to_exit": f"{r['time']:.2f}",
                         "seconds_waiting_for_memory": f"{r['waited'] / hz:.2f}", "passes": r["passes"]})
    write_csv(os.path.join(out, "harvest_memlego.csv"), rows)
    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.6 * len(results)), sharex=True)
    for ax, (label, (_, series, _)) in zip(axes, results.items()):
        for n in PHASES:
            ax.plot([t for t, _ in series], [b.get(n, 0) / MIB for _, b in series], label=f"vm {n}")
        ax.axhline(POOL / MIB, color="grey", linestyle=":", label="pool")
        ax.set_title(label)
        ax.set_ylabel("backed (MiB)")
        ax.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("seconds (QEMU wall time)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "harvest_memlego.png"))
    return rows


# ---- 2. speed of giving back -----------------------------------------------------

def stats_exit(m, kind):
    row = re.search(r"^%s\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$" % kind, m.cmd_ok("stats"), re.M)
    return (int(row.group(1)), int(row.group(2)), int(row.group(4))) if row else (0, 0, 0)


def invalidations(m, name):
    """The invalidations taking memory back needed (the working-set scans count theirs apart)."""
    return int(re.search(r"^taken:.*; (\d+) invalidations$", m.cmd_ok(f"vm info {name}"), re.M).group(1))


def speed(out):
    rows = []
    m = boot("bochs", mem=2048)
    try:
        # released: memtouch writes 1 GiB, checks it, releases it all
        m.cmd_ok("mem zero-cache 0")
        m.cmd_ok("vm create rel image=memtouch.elf min=4M max=1040M size=1G release=1")
        m.cmd_ok("stats reset")
        m.cmd_ok("vm start rel")
        while parse_vm_list(m.cmd_ok("vm list"))["rel"]["state"] not in DONE:
            time.sleep(2)
        info = parse_vm_info(m.cmd_ok("vm info rel"))
        n, total, longest = stats_exit(m, "hypercall")
        rows.append({"metric": "released_1g_hypercall_instructions", "value": total,
                     "note": f"{n} hypercalls in all (the release calls and a few result calls)"})
        rows.append({"metric": "released_1g_longest_hypercall_instructions", "value": longest, "note": ""})
        rows.append({"metric": "released_1g_invalidations", "value": invalidations(m, "rel"),
                     "note": f"released {info['results'].get('released')} bytes"})
        m.cmd_ok("vm destroy rel")
        # zero: 1 GiB backed by the hypervisor (vm set min), never written, then taken by the sweep
        m.cmd_ok("vm create z image=hello.elf min=16M max=1040M")
        m.cmd_ok("vm set z min=1040M", timeout=600)
        m.cmd_ok("vm set z min=16M")
        out_r = m.cmd_ok("mem reclaim z", timeout=600)
        r = re.search(r"mem reclaim: (.+?) back .*; (\d+) TSC ticks", out_r)
        rows.append({"metric": "zero_1g_reclaim_instructions", "value": int(r.group(2)),
                     "note": f"took {r.group(1)} (never written: the D bit says so, nothing read)"})
        rows.append({"metric": "zero_1g_invalidations", "value": invalidations(m, "z"), "note": ""})
        # the same under pressure, in steps between slices: the longest step is the longest stall
        m.cmd_ok("vm set z min=1040M", timeout=600)
        m.cmd_ok("vm set z min=16M")
        m.cmd_ok("mem policy period=100 idle=1")
        time.sleep(5)  # a few scans: z's memory is idle
        m.cmd_ok("stats reset")
        hog = (free_bytes(m) - 64 * MIB) // (2 * MIB) * (2 * MIB)
        m.cmd_ok(f"vm create grow image=memtouch.elf min=8M max={(hog >> 20) + 512}M size={(hog >> 20) + 256}M")
        m.cmd_ok("vm start grow")
        while parse_vm_list(m.cmd_ok("vm list"))["grow"]["state"] not in DONE:
            time.sleep(2)
        st = re.search(r"harvest steps: (\d+), (\d+) tsc in all, (\d+) tsc at most", m.cmd_ok("stats"))
        rows.append({"metric": "harvest_steps", "value": st.group(1), "note": "under pressure"})
        rows.append({"metric": "harvest_instructions_all_steps", "value": st.group(2), "note": ""})
        rows.append({"metric": "harvest_longest_step_instructions", "value": st.group(3),
                     "note": "the longest a vCPU stood still for harvesting"})
        rows.append({"metric": "harvest_zero_bytes_taken_from_z",
                     "value": parse_size(re.search(r"zero (\d+[KM]);", m.cmd_ok("vm info z")).group(1)),
                     "note": ""})
        m.shutdown()
    finally:
        m.close()
    write_csv(os.path.join(out, "harvest_speed.csv"), rows)
    return rows


# ---- 3. working-set estimate -----------------------------------------------------

# Each phase settles in first (in Bochs, backing and writing 64 MiB takes about 4 s, checking 48 MiB
# that leaves about 1.5 s, checking and writing 112 MiB afresh about 5.5 s), then makes passes over
# exactly its working set: the phases are long enough for several samples after that.
WSS_PHASES = [(64, 7), (16, 5), (128, 10)]
WSS_PERIOD, WSS_WINDOW = 500, 1  # the defaults the goal is stated for


def wss_sample(m):
    """One 'vm info w': (scans, phase, its passes, estimate, guest TSC), the text, the state."""
    text = m.cmd_ok("vm info w")
    info = parse_vm_info(text)
    r = info["results"]
    scans_now = int(re.search(r"^scans:\s+(\d+),", text, re.M).group(1))
    ws = re.search(r"^working set: (\d+[KM]) accessed", text, re.M)
    guest = int(re.search(r"^guest tsc: (\d+)", text, re.M).group(1))
    phase = r.get("phase", -1)
    return (scans_now, phase, r.get(f"phase{phase}_passes", 0), parse_size(ws.group(1)) if ws else 0,
            guest), text, info["state"]


def accuracy(out):
    """One 'vm info' every 0.5 s, nothing else: in Bochs every line the monitor prints is time the
    guest does not run (a sample of several commands every 0.3 s starved it). Time is counted in
    scan periods (the scan count in the same answer as the estimate). The guest's exact working set
    is known once a phase has settled in (its first pass made, see guests/wss.c): its region's
    phase size plus the 2 MiB leaf at 0 that holds its code, stack and page tables. A phase
    changes, at the latest, at the scan count of the last sample that still saw it settling in (or
    saw the phase before): the lag counted from there is an upper bound."""
    m = boot("bochs")
    samples = []
    try:
        m.cmd_ok(f"mem policy period={WSS_PERIOD} window={WSS_WINDOW}")
        hz = ticks(m)[1]
        phases = ",".join(f"{s}M:{t}" for s, t in WSS_PHASES)
        m.cmd_ok(f"vm create w image=wss.elf min=4M max=192M phases={phases} release=1")
        m.cmd_ok("vm start w")
        while True:
            sample, text, state = wss_sample(m)
            samples.append(sample)
            if state in DONE:
                break
            time.sleep(0.5)
        scans = re.search(r"^scans:\s+(\d+), the last (\d+) TSC ticks, all (\d+) ticks", text, re.M)
        guest = samples[-1][4]
        m.shutdown()
    finally:
        m.close()
    rows = []
    for i, (size, secs) in enumerate(WSS_PHASES):
        before = [n for n, p, passes, _, _ in samples if p < i or (p == i and not passes)]
        steady = [(n, w, passes, g) for n, p, passes, w, g in samples if p == i and passes]
        if not steady:
            rows.append({"phase": i, "exact_bytes": size * MIB + 2 * MIB, "note": "no sample after it settled"})
            continue
        n0 = max(before) if before else 0
        exact = size * MIB + 2 * MIB
        settled = [w for n, w, _, _ in steady if n - n0 >= 2]
        errors = [abs(w - exact) / exact for w in settled]
        lag = next((n - n0 for n, w, _, _ in steady if abs(w - exact) <= 0.05 * exact), None)
        # a pass's length, from the guest's passes and its TSC between the first and last steady sample
        (_, _, p0, g0), (_, _, p1, g1) = steady[0], steady[-1]
        pass_ms = f"{(g1 - g0) / (p1 - p0) / hz * 1000:.0f}" if p1 > p0 else ""
        rows.append({"phase": i, "exact_bytes": exact, "ms_per_pass": pass_ms,
                     "samples_2_periods_after_settling": len(settled),
                     "median_estimate": sorted(settled)[len(settled) // 2] if settled else "",
                     "max_error_pct": f"{100 * max(errors):.1f}" if errors else "",
                     "scan_periods_to_within_5pct": lag if lag is not None else "never",
                     "note": ""})
    rows.append({"phase": "scans", "exact_bytes": "", "ms_per_pass": "",
                 "samples_2_periods_after_settling": scans.group(1),
                 "median_estimate": "", "max_error_pct": "", "scan_periods_to_within_5pct": "",
                 "note": f"scan cost {int(scans.group(3)) / guest * 100:.3f} % of the guest's instructions "
                         f"({scans.group(1)} scans, {int(scans.group(3)) // int(scans.group(1))} each on "
                         f"average) at period={WSS_PERIOD} ms, window={WSS_WINDOW}"})
    for r in rows:
        for k in rows[-1]:
            r.setdefault(k, "")
    write_csv(os.path.join(out, "harvest_wss.csv"), rows)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot([s[0] for s in samples], [s[3] / MIB for s in samples], label="estimate (vm info)")
    exact_line = [WSS_PHASES[p][0] + 2 if 0 <= p < len(WSS_PHASES) and passes else float("nan")
                  for _, p, passes, _, _ in samples]
    ax.step([s[0] for s in samples], exact_line, where="post", label="exact (the guest, once settled)",
            linestyle="--")
    ax.set_xlabel(f"scans (one per {WSS_PERIOD} ms, emulated, Bochs)")
    ax.set_ylabel("working set (MiB)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "harvest_wss.png"))
    return rows


def write_csv(path, rows):
    if not rows:
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def md_table(rows):
    if not rows:
        return "(none)\n"
    keys = list(rows[0])
    return ("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n" +
            "".join("| " + " | ".join(str(r[k]) for k in keys) + " |\n" for r in rows))


def main():
    global IMAGE
    IMAGE, out = sys.argv[1:3]
    parts = os.environ.get("EMHV_BENCH_PARTS", "memlego,speed,accuracy").split(",")
    text = "# Memory flowing back\n\n"
    if "memlego" in parts:
        text += ("## MemLego's harvesting experiment (QEMU, wall time)\n\n"
                 f"Three `wss` guests ({PHASES}), {POOL >> 20} MiB for all of them; "
                 "plot: harvest_memlego.png.\n\n" + md_table(memlego(out)) + "\n")
    if "speed" in parts:
        text += "## Speed of giving back (Bochs: instructions)\n\n" + md_table(speed(out)) + "\n"
    if "accuracy" in parts:
        text += ("## Working-set estimate (Bochs)\n\nplot: harvest_wss.png\n\n" + md_table(accuracy(out)) + "\n")
    with open(os.path.join(out, "harvest.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
