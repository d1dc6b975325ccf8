#!/usr/bin/env python3
"""Boot benchmark: instructions from loader entry to the monitor prompt in Bochs
(its TSC counts instructions), and TSC ticks plus wall time to the prompt in
QEMU. Writes a markdown table. A measurement, never a pass/fail test.
usage: bench_boot.py IMAGE OUT.md"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from machine import Machine  # noqa: E402


def boot_once(emu, image):
    t0 = time.monotonic()
    m = Machine(emu, image)
    try:
        m.wait_prompt()
        wall = time.monotonic() - t0
        log = m.cmd("log")
        m.shutdown()
    finally:
        m.close()
    total = re.search(r"loader entry to monitor (\d+) TSC ticks \((\d+) us\), core entry to "
                      r"monitor (\d+) ticks", log)
    hz = re.search(r"^tsc: (\d+) Hz", log, re.M)
    if not total or not hz:
        sys.exit(f"bench_boot: {emu}: no boot timing in the log:\n{log}")
    return {"wall": wall, "loader_ticks": int(total.group(1)), "loader_us": int(total.group(2)),
            "core_ticks": int(total.group(3)), "hz": int(hz.group(1))}


def main():
    image, out = sys.argv[1], sys.argv[2]
    rows = []
    for emu in ("bochs", "qemu"):
        r = boot_once(emu, image)
        unit = "instructions" if emu == "bochs" else "TSC ticks"
        rows.append(f"| {emu} | {r['loader_ticks']:,} {unit} | {r['core_ticks']:,} {unit} | "
                    f"{r['loader_us'] / 1000:.1f} ms | {r['wall']:.1f} s |")
    text = ("# Boot cost\n\n"
            "Bochs: `clock: sync=none`, so its TSC counts instructions (deterministic).\n"
            "QEMU: TCG, TSC ticks at the calibrated rate; wall time includes OVMF.\n\n"
            "| emulator | loader entry to prompt | core entry to prompt | same, in guest time "
            "| wall time from launch to prompt |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
