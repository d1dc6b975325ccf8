#!/usr/bin/env python3
"""Disks on hypervisor memory (issue 12): MemFlex's Table 2 in QEMU (AMD-V). One Linux VM (the
benchmark image's full initramfs: Debian's sysbench) with two pool-backed disks of the same size: one
on local pool memory, one on an emulated SSD node (80 us, 500 MB/s, latency and link charged per
request). On each, an ext2 filesystem and sysbench fileio (16 KiB blocks, O_DIRECT so the page cache
does not answer, one thread) sequential and random, read and write: MiB/s as sysbench reports it.
Then swap: a VM of 128 MiB whose swap is each disk runs memfill over 256 MiB (every byte written,
then read back and checked); its time as memfill reports it. QEMU's clock is wall time on an
emulated CPU: compare the two media, not the figures to real hardware. A measurement, never a
pass/fail test (a failed run stops it).
usage: bench_disk.py IMAGE OUTDIR   (IMAGE: build/emhv-bench.img)"""
import csv
import os
import re
import sys

from bench_plot import grouped_bars
from linux_vm import boot, clear_startup, run
from machine import Machine  # noqa: E402  (linux_vm puts tests/system on the path)

SSD = "latency=80us bw=500M"
MEDIA = {"pool": "", "ssd": "node=ssd"}
MODES = ["seqwr", "seqrd", "rndwr", "rndrd"]
# seqwr writes its files from the start again, shorter than prepared: it runs last
RUN_ORDER = ["seqrd", "rndrd", "rndwr", "seqwr"]
FILES = "sysbench fileio --file-total-size=64M --file-num=4"
SYSBENCH = FILES + " --file-block-size=16384 --file-extra-flags=direct --file-fsync-freq=0 --time=8"


def fileio(m):
    rows = []
    boot(m, "io", "min=64M max=512M disk=pool disk=ssd")
    for medium, dev in (("pool", "vda"), ("ssd", "vdb")):
        run(m, "io", f"mke2fs -q /dev/{dev} && mkdir -p /m/{dev} && mount -t ext4 /dev/{dev} /m/{dev} && "
            f"cd /m/{dev} && {FILES} prepare >/dev/null", "")
        for mode in RUN_ORDER:
            what = "read" if mode.endswith("rd") else "written"
            hit = run(m, "io", f"{SYSBENCH} --file-test-mode={mode} run | grep -E '{what}, MiB/s'",
                      rf"^\s+{what}, MiB/s:\s+([\d.]+)")
            rows.append({"medium": medium, "test": mode, "mib_s": float(hit.group(1))})
            print(f"bench_disk: {medium} {mode}: {hit.group(1)} MiB/s", flush=True)
        run(m, "io", "cd / && umount /m/" + dev, "")
    m.cmd_ok("vm destroy io")
    return rows


def swap(m):
    rows = []
    for medium in MEDIA:
        boot(m, "sw", f"min=32M max=128M disk={medium} cmdline=emhv.swap=vda")
        hit = run(m, "sw", "memfill 256M 11", r"^memfill: 256 MiB, 1 passes, (\d+) bytes differ, (\d+) ms")
        if hit.group(1) != "0":
            sys.exit(f"bench_disk: memfill over swap on {medium}: {hit.group(1)} bytes differ")
        written = re.search(rf"^{medium}\s.*", m.cmd_ok("disk list"), re.M).group(0).split()[-3]
        rows.append({"medium": medium, "test": "swap-memfill-256M", "ms": int(hit.group(2)),
                     "swap_bytes_written": int(written)})
        print(f"bench_disk: swap on {medium}: memfill 256M in {hit.group(2)} ms", flush=True)
        m.cmd_ok("vm destroy sw")
    return rows


def plot(rows, path):
    grouped_bars(path, MODES, {medium: [next(r["mib_s"] for r in rows if r["medium"] == medium and r["test"] == t)
                                        for t in MODES] for medium in MEDIA},
                 "MiB/s (sysbench fileio, 16 KiB, O_DIRECT)",
                 "Disk on pool memory vs emulated SSD (80 us, 500 MB/s), QEMU")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    m = Machine("qemu", image, mem=2048)
    try:
        m.wait_prompt()
        clear_startup(m)
        m.cmd_ok(f"mem node add ssd size=1G {SSD}")
        for medium, arg in MEDIA.items():
            m.cmd_ok(f"disk create {medium} size=256M {arg}")
        io = fileio(m)
        sw = swap(m)
        m.shutdown()
    finally:
        m.close()
    with open(os.path.join(out, "disk.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["medium", "test", "mib_s", "ms", "swap_bytes_written"])
        w.writeheader()
        w.writerows(io + sw)
    by = {(r["medium"], r["test"]): r for r in io + sw}
    lines = ["# Disks on hypervisor memory (MemFlex Table 2), QEMU TCG", "",
             "sysbench fileio, 64 MiB in 4 files, 16 KiB blocks, O_DIRECT, 8 s per test, one thread; the SSD "
             f"node: {SSD}.", "", "| test | pool MiB/s | SSD node MiB/s | pool / SSD |", "|---|---|---|---|"]
    for t in MODES:
        p, s = by[("pool", t)]["mib_s"], by[("ssd", t)]["mib_s"]
        lines.append(f"| {t} | {p:.2f} | {s:.2f} | {p / s:.2f} |" if s else f"| {t} | {p:.2f} | {s:.2f} | - |")
    p, s = by[("pool", "swap-memfill-256M")]["ms"], by[("ssd", "swap-memfill-256M")]["ms"]
    lines += ["", "Swap: memfill over 256 MiB in a VM of 128 MiB, swap on the disk (every byte checked).", "",
              "| swap on | ms | swap bytes written |", "|---|---|---|",
              f"| pool | {p} | {by[('pool', 'swap-memfill-256M')]['swap_bytes_written']} |",
              f"| SSD node | {s} | {by[('ssd', 'swap-memfill-256M')]['swap_bytes_written']} |", "",
              f"SSD over pool run time: {s / p:.2f}."]
    with open(os.path.join(out, "disk.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(io, os.path.join(out, "disk.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
