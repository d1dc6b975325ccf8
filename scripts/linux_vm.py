"""Driving Linux VMs on emhv from a benchmark: boot one to its shell, type a line and read its answer
from the console, clear away the startup guest. Shared by the benchmarks that run Linux workloads
(bench_disk.py, bench_redis.py, ...); the system tests have their own in tests/system/test_linux.py."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from machine import parse_vm_list  # noqa: E402

FULL = "kernel=vmlinuz initrd=initrd-full.cpio"  # the benchmark image's: Redis and sysbench
SMALL = "kernel=vmlinuz initrd=initrd.cpio"
READY = "emhv-linux: init ready"
_asked = [0]


def stopped(m, name, state):
    """End the run for a VM that stopped: what the monitor says of it, and its console's last lines
    (a kernel's panic message is there)."""
    tail = "\n".join(m.cmd_ok("vm console " + name).splitlines()[-60:])
    sys.exit(f"{sys.argv[0]}: {name} {state}: {m.cmd_ok('vm info ' + name)}\nits console's last lines:\n{tail}")


def console_wait(m, name, pattern, timeout, stall=None):
    """The first match of pattern in name's console within timeout s. A VM that stops ends the run;
    stall(m, name) may end the wait early by returning a reason (the run goes on: None is returned)."""
    end = time.time() + timeout
    while time.time() < end:
        hit = re.search(pattern, m.cmd_ok("vm console " + name), re.M)
        if hit:
            return hit
        state = parse_vm_list(m.cmd_ok("vm list"))[name]["state"]
        if state in ("stopped", "exited"):
            stopped(m, name, state)
        if stall and stall(m, name):
            return None
        time.sleep(1)
    sys.exit(f"{sys.argv[0]}: no {pattern!r} from {name} in {timeout} s:\n"
             f"{m.cmd_ok('vm console ' + name)[-3000:]}")


def run(m, name, line, answer, timeout=600, stall=None):
    """Type line, tagged so that only this answer matches; the match of answer between the tags."""
    _asked[0] += 1
    tag = f"B{_asked[0]}"
    m.cmd_ok(f'vm send {name} "echo {tag}=start; {line}; echo {tag}=end"')
    return console_wait(m, name, rf"^{tag}=start[\s\S]*?{answer}[\s\S]*?^{tag}=end", timeout, stall)


def boot(m, name, args, kernel=FULL):
    m.cmd_ok(f"vm create {name} {kernel} {args}")
    m.cmd_ok("vm start " + name)
    console_wait(m, name, "^" + READY, 300)
    console_wait(m, name, r"^# ", 60)


def stamped(m, name, pattern, timeout):
    """Wait for a console line matching pattern; the TSC ticks from 'vm start' 'vm console -t' gives it."""
    end = time.time() + timeout
    while time.time() < end:
        for line in m.cmd_ok(f"vm console {name} -t").splitlines():
            hit = re.match(r"^\[\s*(\d+)\] (.*)$", line)
            if hit and re.search(pattern, hit.group(2)):
                return int(hit.group(1)), hit.group(2)
        state = parse_vm_list(m.cmd_ok("vm list"))[name]["state"]
        if state in ("stopped", "exited"):
            stopped(m, name, state)
        time.sleep(1)
    sys.exit(f"{sys.argv[0]}: no {pattern!r} from {name} in {timeout} s:\n{m.cmd_ok('vm console ' + name)}")


def clear_startup(m):
    """Wait for the startup.cfg guest to end, and destroy it."""
    for name in parse_vm_list(m.cmd_ok("vm list")):
        while parse_vm_list(m.cmd_ok("vm list"))[name]["state"] not in ("exited", "stopped"):
            time.sleep(1)
        m.cmd_ok("vm destroy " + name)
