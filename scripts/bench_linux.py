#!/usr/bin/env python3
"""Linux guests benchmark (issue 11): Debian's cloud kernel from 'vm start' to the /init line, elastic
(min=64M) over static (max=512M), as the TSC ticks 'vm console -t' stamps on that line: in Bochs its
TSC counts instructions (hypervisor and guest, deterministic), in QEMU they are wall time at the
calibrated rate; the exits by kind on the way ('stats'); and memtester 200M 1 (all eighteen of its
tests, each of which must say ok) in QEMU, elastic over static, in one boot. A measurement, never a
pass/fail test (but a memtester failure stops it).
usage: bench_linux.py IMAGE OUTDIR"""
import csv
import os
import re
import sys
import time

from linux_vm import READY, SMALL as LINUX, stamped
from machine import Machine, parse_vm_list  # noqa: E402  (linux_vm puts tests/system on the path)

MODES = {"elastic": "min=64M max=512M", "static": "min=64M max=512M mode=static"}
MEMTESTER_TESTS = 18  # memtester 4.6: stuck address and seventeen more


def exits(m):
    """'stats' exit table: {kind: count}."""
    out = {}
    for line in m.cmd_ok("stats").splitlines():
        f = line.split()
        if len(f) == 5 and f[1].isdigit() and f[0] != "exit":
            out[f[0]] = int(f[1])
    return out


def tsc_hz(m):
    hit = re.search(r"^tsc: (\d+) Hz", m.cmd_ok("log"), re.M)
    return int(hit.group(1))


def boot_to_init(m, mode):
    m.cmd_ok("stats reset")
    m.cmd_ok(f"vm create lx {LINUX} {MODES[mode]}")
    m.cmd_ok("vm start lx")
    ticks, _ = stamped(m, "lx", "^" + READY, 900)
    ex = exits(m)
    backed = parse_vm_list(m.cmd_ok("vm list"))["lx"]["backed"]
    m.cmd_ok("vm destroy lx")
    return ticks, ex, backed


def memtester(m, name):
    m.cmd_ok(f"vm create {name} {LINUX} {MODES[name]}")
    m.cmd_ok("vm start " + name)
    stamped(m, name, "^" + READY, 600)
    time.sleep(2)
    m.cmd_ok(f'vm send {name} "echo MT-begin; memtester 200M 1 >/mt.log 2>&1; echo MT-end $? '
             f'ok=$(tr \'\\b\' \'\\n\' </mt.log | grep -c \'ok$\')"')
    begin, _ = stamped(m, name, "^MT-begin", 60)
    end, line = stamped(m, name, r"^MT-end \d+ ok=\d+", 3600)
    if line.split()[1:] != ["0", f"ok={MEMTESTER_TESTS}"]:
        sys.exit(f"bench_linux: memtester failed in {name}: {line}")
    m.cmd_ok("vm destroy " + name)
    return end - begin


def main():
    image, outdir = sys.argv[1], sys.argv[2]
    rows, kinds = [], set()
    for emu in ("bochs", "qemu"):
        m = Machine(emu, image)
        try:
            m.wait_prompt()
            hz = tsc_hz(m)
            for name in parse_vm_list(m.cmd_ok("vm list")):  # the startup.cfg guest: let it finish
                while parse_vm_list(m.cmd_ok("vm list"))[name]["state"] not in ("stopped", "exited"):
                    time.sleep(0.5)
                m.cmd_ok("vm destroy " + name)
            for mode in MODES:
                ticks, ex, backed = boot_to_init(m, mode)
                kinds |= set(ex)
                rows.append({"emulator": emu, "mode": mode, "ticks": ticks, "seconds": ticks / hz,
                             "backed_mib": backed >> 20, **ex})
            if emu == "qemu":
                mt = {mode: memtester(m, mode) for mode in MODES}
                mt_hz = hz
            m.shutdown()
        finally:
            m.close()
    kinds = sorted(kinds)
    with open(os.path.join(outdir, "linux_boot.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, ["emulator", "mode", "ticks", "seconds", "backed_mib"] + kinds)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, 0) for k in w.fieldnames})
    by = {(r["emulator"], r["mode"]): r for r in rows}
    lines = ["# Linux guests", "",
             "Debian's `linux-image-cloud-amd64` with `guests/linux/`'s initramfs, from `vm start` to the",
             f"`{READY}` line (`vm console -t`). Bochs: TSC ticks are instructions, hypervisor and guest",
             "(deterministic); QEMU: TSC ticks at the calibrated rate, i.e. wall time under TCG.", "",
             "| emulator | elastic (min 64M, max 512M) | static (512M) | elastic / static | backed at /init, "
             "elastic | QEMU wall time elastic |", "|---|---|---|---|---|---|"]
    for emu in ("bochs", "qemu"):
        e, s = by[(emu, "elastic")], by[(emu, "static")]
        unit = "instructions" if emu == "bochs" else "ticks"
        wall = f"{e['seconds']:.2f} s" if emu == "qemu" else "-"
        lines.append(f"| {emu} | {e['ticks']:,} {unit} | {s['ticks']:,} {unit} | {e['ticks'] / s['ticks']:.3f} | "
                     f"{e['backed_mib']} MiB | {wall} |")
    lines += ["", "Exits from `vm start` to the /init line, by kind (`stats`, read just after the line showed):", "",
              "| exit | " + " | ".join(f"{emu} {mode}" for emu in ("bochs", "qemu") for mode in MODES) + " |",
              "|---|" + "---|" * 4]
    for k in kinds:
        lines.append(f"| {k} | " + " | ".join(f"{by[(emu, mode)].get(k, 0):,}" for emu in ("bochs", "qemu")
                                               for mode in MODES) + " |")
    lines += ["", f"memtester 200M 1, all {MEMTESTER_TESTS} tests ok, in QEMU, one boot (wall time at the "
              "calibrated TSC rate):", "",
              "| elastic | static | elastic / static |", "|---|---|---|",
              f"| {mt['elastic'] / mt_hz:.2f} s | {mt['static'] / mt_hz:.2f} s | "
              f"{mt['elastic'] / mt['static']:.3f} |", ""]
    text = "\n".join(lines)
    with open(os.path.join(outdir, "linux.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
