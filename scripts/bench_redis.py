#!/usr/bin/env python3
"""MemLego's Redis experiment (issue 12), in QEMU (AMD-V; wall time on an emulated CPU: compare the
scenarios, not the figures to real hardware). Two Linux VMs share a pool of POOL, less than the sum
of their max. The second VM ('b', the small initramfs) first uses B_USE (memfill writes and checks
it, then exits: Linux has freed it); then the first ('a', the benchmark image's full initramfs with
Debian's redis-server and redis-benchmark) loads Redis with more than its share (KEYS values of VALUE
bytes), and redis-benchmark measures SET and GET (random keys over the whole set, one connection)
against it. Three ways:
  static       both VMs static at half the pool each; a's swap is a pool-backed disk on an emulated
               SSD node (80 us, 500 MB/s), so what does not fit in its half goes there;
  no-harvest   both elastic with max above half the pool; b has no balloon and harvesting is off:
               what b freed stays b's, and a waits for memory once the pool is dry (a wait of
               STALL_S seconds on end counts as stalled: no throughput);
  harvest      both elastic; b's balloon reports what Linux freed (free-page reporting) and
               harvesting is on: the pool gets b's freed memory back and a grows into it.
Per scenario: SET and GET requests per second, a's and b's backing, what a wrote to swap, how long a
waited for memory. A measurement, never a pass/fail test (a failed run stops it).
usage: bench_redis.py IMAGE OUTDIR   (IMAGE: build/emhv-bench.img)"""
import csv
import os
import re
import sys
import time

from bench_plot import grouped_bars
from linux_vm import SMALL, boot, clear_startup, run
from machine import Machine, parse_mem, parse_vm_list  # noqa: E402  (linux_vm puts tests/system on the path)

MIB = 1 << 20
POOL = 640 * MIB
SHARE = POOL // 2
TABLES = 8 * MIB  # beyond the pool: the VMs' nested page tables come from it too
ELASTIC_MAX = "512M"
B_USE = "224M"
VALUE = 16000  # bytes per value: a 16 KiB allocation in Redis
KEYS = 19200  # about 300 MiB of values
BENCH_REQUESTS = 3000
STALL_S = 30
SSD = "latency=80us bw=500M"
SCENARIOS = {
    "static": ("on", f"mode=static min=64M max={SHARE >> 20}M balloon=off",
               f"mode=static min=64M max={SHARE >> 20}M balloon=off"),
    "no-harvest": ("off", f"min=64M max={ELASTIC_MAX} balloon=off", f"min=64M max={ELASTIC_MAX} balloon=off"),
    "harvest": ("on", f"min=64M max={ELASTIC_MAX}", f"min=64M max={ELASTIC_MAX}"),
}
SWAP = "disk=swap cmdline=emhv.swap=vda"


def free_bytes(m):
    return parse_mem(m.cmd_ok("mem"))["free"] * 4096


def backed(m):
    return {n: v["backed"] for n, v in parse_vm_list(m.cmd_ok("vm list")).items()}


def waited_s(m, name):
    info = m.cmd_ok("vm info " + name)
    ticks = int(re.search(r"^waited for memory: (\d+) TSC ticks", info, re.M).group(1))
    hz = int(re.search(r"\(\d+ TSC ticks at (\d+) Hz", m.cmd_ok("uptime")).group(1))
    return ticks / hz


class Stall:
    """a waiting for memory STALL_S seconds on end: the pool is dry and nothing comes back."""

    def __init__(self):
        self.since = None

    def __call__(self, m, name):
        if parse_vm_list(m.cmd_ok("vm list"))[name]["state"] != "waiting-for-memory":
            self.since = None
        elif self.since is None:
            self.since = time.monotonic()
        return self.since is not None and time.monotonic() - self.since > STALL_S


def say(label, what):
    print(f"bench_redis: {label}: {what}", flush=True)


def scenario(m, label):
    harvest, a_args, b_args = SCENARIOS[label]
    m.cmd_ok(f"mem policy harvest={harvest}")
    boot(m, "a", f"{a_args} {SWAP}")
    boot(m, "b", b_args, kernel=SMALL)
    line = run(m, "b", f"memfill {B_USE} 7", r"^(memfill: .*)").group(1)
    if ", 0 bytes differ" not in line:
        sys.exit(f"bench_redis: b: {line}")
    say(label, f"b: {line}")
    time.sleep(5)  # Linux reports free pages 2 s after they gather (page_reporting_delay)
    row = {"scenario": label, "b_backed_after_free_mib": backed(m)["b"] >> 20}
    run(m, "a", "redis-server --save '' --appendonly no --daemonize yes >/dev/null; sleep 1; "
        "redis-cli ping | sed 's/^/P=/'", r"^P=PONG")
    stall = Stall()
    hit = run(m, "a", f"kvfill {KEYS} {VALUE} | redis-cli --pipe | tr -d '\\r' | tail -n 1; "
              "echo K=$(redis-cli dbsize)=K; redis-cli info memory | grep '^used_memory:' | tr -d '\\r'",
              r"errors: (\d+), replies: (\d+)\s+^K=(\d+)=K\s+^used_memory:(\d+)", timeout=1200, stall=stall)
    if hit is None:
        row.update(stalled=1, keys=0, redis_mib=0, set_rps=0.0, get_rps=0.0)
    else:
        if hit.group(1) != "0" or int(hit.group(3)) != KEYS:
            sys.exit(f"bench_redis: loading Redis: {hit.group(0)}")
        row.update(stalled=0, keys=KEYS, redis_mib=int(hit.group(4)) >> 20)
        say(label, f"Redis holds {KEYS} keys, {row['redis_mib']} MiB; a backed {backed(m)['a'] >> 20} MiB")
        hit = run(m, "a", f"redis-benchmark -n {BENCH_REQUESTS} -r {KEYS} -d {VALUE} -t set,get --csv "
                  "| grep -E '^.(SET|GET).,' | cut -d, -f1,2 | sed 's/[^A-Z0-9.,]//g; s/^/R=/'",
                  r"^R=SET,([\d.]+)\s+^R=GET,([\d.]+)", timeout=1200, stall=stall)
        if hit is None:
            row.update(stalled=1, set_rps=0.0, get_rps=0.0)
        else:
            row.update(set_rps=float(hit.group(1)), get_rps=float(hit.group(2)))
    now = backed(m)
    row.update(a_backed_mib=now["a"] >> 20, b_backed_mib=now["b"] >> 20, a_waited_s=round(waited_s(m, "a"), 2),
               a_swap_written_mib=int(re.search(r"^swap\s.*", m.cmd_ok("disk list"), re.M).group(0).split()[-3]) >> 20)
    m.cmd_ok("vm destroy a")
    m.cmd_ok("vm destroy b")
    say(label, row)
    return row


def plot(rows, path):
    grouped_bars(path, [r["scenario"] + (" (stalled)" if r["stalled"] else "") for r in rows],
                 {op.upper(): [r[op + "_rps"] for r in rows] for op in ("set", "get")},
                 "requests per second (redis-benchmark)",
                 f"Redis over its share: two Linux VMs on a {POOL >> 20} MiB pool, QEMU")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rows = []
    m = Machine("qemu", image, mem=2048)
    try:
        m.wait_prompt()
        clear_startup(m)
        m.cmd_ok(f"mem node add ssd size=512M {SSD}")
        m.cmd_ok("disk create swap size=384M node=ssd")
        m.cmd_ok("mem zero-cache 0")
        hog = (free_bytes(m) - POOL - TABLES) // (2 * MIB) * (2 * MIB)  # a static VM holds the rest of the pool
        m.cmd_ok(f"vm create hog image=hello.elf min=4M max={hog >> 10}K mode=static")
        for label in SCENARIOS:
            rows.append(scenario(m, label))
        m.shutdown()
    finally:
        m.close()
    fields = ["scenario", "stalled", "set_rps", "get_rps", "keys", "redis_mib", "a_backed_mib", "b_backed_mib",
              "b_backed_after_free_mib", "a_swap_written_mib", "a_waited_s"]
    with open(os.path.join(out, "redis.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    base = rows[0]
    lines = ["# MemLego's Redis experiment, QEMU TCG (wall time)", "",
             f"Two Linux VMs on a {POOL >> 20} MiB pool; b used {B_USE} and freed it, then a loaded Redis with "
             f"{KEYS} keys of {VALUE} B (kvfill into redis-cli --pipe) and redis-benchmark ran "
             f"{BENCH_REQUESTS} SET and GET over them. static: {SHARE >> 20} MiB each, a's swap on an SSD node "
             f"({SSD}); elastic: max {ELASTIC_MAX} each. A VM waiting for memory {STALL_S} s on end is "
             "stalled.", "",
             "| scenario | SET rps | GET rps | GET over static | keys | Redis MiB | a backed MiB | b backed MiB "
             "(after its free) | a swap written MiB | a waited for memory s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['get_rps'] / base['get_rps']:.2f}" if base["get_rps"] else "-"
        lines.append(f"| {r['scenario']}{' (stalled)' if r['stalled'] else ''} | {r['set_rps']:.1f} | "
                     f"{r['get_rps']:.1f} | {ratio} | {r['keys']} | {r['redis_mib']} | {r['a_backed_mib']} | "
                     f"{r['b_backed_mib']} ({r['b_backed_after_free_mib']}) | {r['a_swap_written_mib']} | "
                     f"{r['a_waited_s']} |")
    with open(os.path.join(out, "redis.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(rows, os.path.join(out, "redis.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
