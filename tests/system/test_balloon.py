"""The virtio memory balloon (issue 12, item 1) with Debian's own virtio_balloon driver, in QEMU (AMD-V):
the guest's statistics reach the monitor and agree with its own /proc/meminfo; memory the guest frees
is reported and comes back to the pool, exactly as the VM's frames go down; the balloon inflates to a
target (the guest loses that memory, the VM can then never be backed beyond max less the balloon) and
deflates back; with a balloon too large for a workload, deflate-on-OOM gives memory back instead of
the OOM killer taking the workload. (QEMU only: each scenario runs a workload of 100 MiB or more
through Linux, minutes in Bochs; the device is the same in both, and the disk tests boot Linux in both.)"""
import re
import time

import pytest

from conftest import EMULATORS, booted_empty
from machine import parse_mem
from test_far import wait_until_true
from test_linux import BOOT_S, READY, boot, shell, wait_console
from test_vms import destroy_all, free_frames, info, vm_list

DONE = ("exited", "stopped")
MIB = 1 << 20

pytestmark = pytest.mark.skipif("qemu" not in EMULATORS, reason="the balloon scenarios run in QEMU only")


def balloon(m, name):
    """The balloon lines of 'vm info' as numbers (KiB and pages as printed)."""
    out = m.cmd_ok("vm info " + name)
    b = re.search(r"^balloon: target (\d+) KiB, the guest says it holds (\d+) KiB; pages inflated (\d+), "
                  r"deflated (\d+), refused (\d+)", out, re.M)
    r = re.search(r"^reports: (\d+) free-page reports of (\d+) KiB; (\d+) KiB back", out, re.M)
    assert b and r, out
    vals = dict(zip(("target", "actual", "inflated", "deflated", "refused"), map(int, b.groups())))
    vals.update(zip(("reports", "reported", "returned"), map(int, r.groups())))
    st = re.search(r"^guest stats \(\d+ ms old\):(.*)$", out, re.M)
    vals["stats"] = {k: int(v) for k, v in re.findall(r" ([a-z-]+) (\d+)", st.group(1))} if st else {}
    return vals


@pytest.fixture(scope="module")
def qm():
    yield from booted_empty("qemu")


@pytest.fixture
def hv(qm):
    before = free_frames(qm)
    yield qm
    destroy_all(qm)
    assert free_frames(qm) == before


def start_linux(m, args="min=32M max=256M"):
    boot(m, "lx", args)
    wait_console(m, "lx", "^" + READY, BOOT_S[m.emu])
    wait_console(m, "lx", r"^# ", 60)


ASKED = [0]


def meminfo(m, key):
    """A line of the guest's /proc/meminfo, in KiB (each answer tagged anew: the console keeps the old ones)."""
    ASKED[0] += 1
    tag = f"M{ASKED[0]}"
    hit = shell(m, "lx", f"echo {tag}=$(grep '^{key}:' /proc/meminfo | tr -s ' ' | cut -d' ' -f2)={tag}",
                rf"^{tag}=(\d+)={tag}")
    return int(hit.group(1))


def test_stats_and_free_page_reporting_give_memory_back(hv):
    start_linux(hv)
    # the driver's statistics arrive and say what the guest itself says
    stats = wait_until_true(lambda: balloon(hv, "lx")["stats"], 30, "balloon statistics")
    assert abs(stats["total"] - meminfo(hv, "MemTotal")) <= 4, stats
    # 160 MiB written and freed again: the VM grows for it, then the guest reports its free pages
    # (2 MiB blocks, after about two seconds) and they go back to the pool
    hit = shell(hv, "lx", "memfill 160M 3", r"^memfill: 160 MiB, 1 passes, (\d+) bytes differ", timeout=300)
    assert hit.group(1) == "0"
    before = balloon(hv, "lx")
    wait_until_true(lambda: balloon(hv, "lx")["reported"] >= before["reported"] + 64 * 1024, 60, "64 MiB reported")
    # once it settles: what the VM gave up is exactly what the pool got
    def settled():
        a = parse_mem(hv.cmd_ok("mem"))
        time.sleep(3)
        b = parse_mem(hv.cmd_ok("mem"))
        return (a, b) if a == b else None
    wait_until_true(settled, 60, "a quiet pool")
    row = vm_list(hv)["lx"]
    after = balloon(hv, "lx")
    assert after["returned"] - before["returned"] >= 64 * 1024, (before, after)
    assert row["backed"] <= 256 * MIB - 64 * MIB, row
    assert after["refused"] == 0


def test_inflate_and_deflate_to_a_target(hv):
    start_linux(hv)
    free0 = meminfo(hv, "MemFree")
    assert "balloon target" in hv.cmd_ok("vm balloon lx 100M")
    wait_until_true(lambda: balloon(hv, "lx")["actual"] == 100 * 1024, 60, "the guest holding 100 MiB")
    b = balloon(hv, "lx")
    assert b["inflated"] >= 100 * MIB // 4096 and b["refused"] == 0, b
    assert meminfo(hv, "MemFree") <= free0 - 95 * 1024  # the guest gave those pages up
    # 64 MiB of work in what is left: the balloon's pages stay out of the VM. (Pages below min are
    # zeroed in place rather than given back: min is a guarantee; so the bound allows for min.)
    hit = shell(hv, "lx", "memfill 64M 5", r"^memfill: 64 MiB, 1 passes, (\d+) bytes differ", timeout=300)
    assert hit.group(1) == "0"
    assert balloon(hv, "lx")["deflated"] == 0
    assert vm_list(hv)["lx"]["backed"] <= 256 * MIB - 100 * MIB + 32 * MIB
    # back to 0: the guest takes its pages back
    hv.cmd_ok("vm balloon lx 0")
    wait_until_true(lambda: balloon(hv, "lx")["actual"] == 0, 60, "an empty balloon")
    b = balloon(hv, "lx")
    assert b["deflated"] >= 100 * MIB // 4096, b
    assert meminfo(hv, "MemFree") >= free0 - 40 * 1024
    for bad, why in [("vm balloon lx 300M", "up to the VM's max"), ("vm balloon lx 1000", "multiple of 4 KiB"),
                     ("vm balloon nope 1M", "no VM 'nope'")]:
        out = hv.cmd(bad)
        assert out.startswith("error:") and why in out, (bad, out)


def test_deflate_on_oom_saves_the_workload(hv):
    start_linux(hv, "min=32M max=192M")
    free0 = meminfo(hv, "MemFree")
    hv.cmd_ok("vm balloon lx 100M")
    wait_until_true(lambda: balloon(hv, "lx")["actual"] == 100 * 1024, 60, "an inflated balloon")
    inflated = balloon(hv, "lx")
    # what is left, and 40 MiB more asked for: the guest deflates on OOM instead of killing memfill
    want = (free0 - 100 * 1024) // 1024 + 40
    hit = shell(hv, "lx", f"memfill {want}M 9; dmesg | grep -c -i -e 'killed process' -e 'out of memory' | sed 's/^/K=/'",
                rf"^memfill: {want} MiB, 1 passes, (\d+) bytes differ.*\s+K=(\d+)", timeout=300)
    assert hit.group(1) == "0" and hit.group(2) == "0", hit.group(0)
    assert balloon(hv, "lx")["deflated"] > inflated["deflated"]
    assert info(hv, "lx")["state"] not in DONE
