"""Far memory (issue 10) under VT-x (Bochs) and AMD-V (QEMU): nodes set aside from the pool and
given back; VMs whose local share is 100 %, 50 % and 10 % of what they touch keep every byte while
their pages move out to a node and back; pages released while far read zero afterwards; a far fault
charges exactly the configured latency in warp mode (Bochs counts instructions: exact to the
measuring code; QEMU's emulated TLB flushes add time of their own, under 5 % of the 1 ms checked); clean pages go out without a copy; bad commands change nothing. Every
scenario ends with every node's and VM's frames recounted ('mem verify') and given back."""
import re
import time

import pytest

from machine import parse_uptime
from test_pipes import hv  # noqa: F401 (the fixture: a booted machine with no VMs)
from test_vms import destroy_all, free_frames, info, vm_list, wait_until

DONE = ("exited", "stopped")
MIB = 1 << 20


NODE_COLUMNS = ("node", "frames", "free", "latency_ns", "bw_mib_s", "in_use_k", "users", "bytes_moved", "busy_ms")


def nodes(m):
    """'mem node list' as {name: {column: int}}."""
    lines = m.cmd_ok("mem node list").strip().splitlines()
    assert tuple(lines[0].split()) == NODE_COLUMNS, lines[0]
    return {f[0]: dict(zip(NODE_COLUMNS[1:], map(int, f[1:]))) for f in (line.split() for line in lines[1:])}


@pytest.fixture
def vmx(hv):
    """No VMs and no nodes before and after; every frame back where it was."""
    free = free_frames(hv)
    yield hv
    destroy_all(hv)
    for name, n in nodes(hv).items():
        assert n["free"] == n["frames"] and n["users"] == 0, (name, n)  # every far frame back in its node
        assert "deleted" in hv.cmd_ok("mem node del " + name)
    assert nodes(hv) == {}
    assert free_frames(hv) == free


def far_info(m, name):
    """The far lines of 'vm info' as numbers."""
    out = m.cmd_ok("vm info " + name)
    io = re.search(r"^far io:\s+(\d+) far faults, (\d+) pages in, (\d+) out \((\d+) clean, (\d+) dirty\); "
                   r"latency charged (\d+) ticks", out, re.M)
    assert io, out
    keys = ("faults", "pages_in", "pages_out", "clean", "dirty", "charged")
    return dict(zip(keys, map(int, io.groups())))


def wait_until_true(check, timeout, what="it"):
    """Call check once a second until it returns something true, and return that."""
    end = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < end, f"{what}: not so after {timeout} s"
        time.sleep(1)


def run(m, name, timeout=900):
    wait_until(m, [name], DONE, timeout=timeout)
    i = info(m, name)
    assert i["reason"] == "exited with status 0", (i, m.cmd_ok("vm console " + name))
    return i["results"]


def test_nodes_are_set_aside_and_given_back(vmx):
    free = free_frames(vmx)
    out = vmx.cmd_ok("mem node add cxl size=16M latency=250ns bw=20G")
    assert out.strip() == "node cxl: 16 MiB of far memory, latency 250 ns, bandwidth 20 GiB/s", out
    n = nodes(vmx)["cxl"]
    assert (n["frames"], n["free"], n["latency_ns"], n["bw_mib_s"], n["users"]) == (4096, 4096, 250, 20 * 1024, 0), n
    assert free_frames(vmx) == free - 4096  # real RAM, taken from the pool
    assert re.search(r"^node cxl\s+4096 frames of far memory", vmx.cmd_ok("mem"), re.M)
    assert "mem verify: node cxl: 4096 frames held, 4096 free: ok" in vmx.cmd_ok("mem verify")


NODE_ERRORS = [
    ("mem node add cxl size=16M latency=250ns", "missing arguments"),
    ("mem node add cxl size=16M size=8M latency=250ns", "size=, latency= and bw= are required"),
    ("mem node add cxl size=16M latency=250 bw=1G", "a number with ns, us or ms"),
    ("mem node add cxl size=16M latency=2000ms bw=1G", "at most 1000ms"),
    ("mem node add cxl size=16M latency=1us bw=1K", "bw=1024: from 1M to 1T"),
    ("mem node add cxl size=5000 latency=1us bw=1G", "a nonzero multiple of 4K"),
    ("mem node add cxl size=64T latency=1us bw=1G", "the pool has"),
    ("mem node add c/x size=1M latency=1us bw=1G", "a name of letters"),
    ("mem node add cxl size=1M latency=1us speed=1G", "'speed=1G': size=SIZE"),
    ("mem node del nosuch", "no node 'nosuch'"),
    ("vm create f image=memtouch.elf min=2M max=16M far=nosuch local=4M", "far='nosuch': no such node"),
]


@pytest.mark.parametrize("line,error", NODE_ERRORS)
def test_bad_node_commands_change_nothing(vmx, line, error):
    free = free_frames(vmx)
    out = vmx.cmd(line)
    assert out.startswith("error:") and error in out and len(out.strip().splitlines()) == 1, out
    assert nodes(vmx) == {} and vm_list(vmx) == {} and free_frames(vmx) == free


def test_a_node_in_use_cannot_be_deleted(vmx):
    vmx.cmd_ok("mem node add rdma size=32M latency=3us bw=5G")
    vmx.cmd_ok("vm create f image=memtouch.elf min=2M max=32M far=rdma local=2M size=8M hold=60")
    out = vmx.cmd("mem node del rdma")
    assert out.startswith("error:") and "is in use by 1 VM or disk: VM f" in out, out
    for line, error in (("vm create g image=memtouch.elf min=2M max=32M far=rdma", "go together"),
                        ("vm create g image=memtouch.elf min=2M max=32M far=rdma local=512K", "from 1M up to max"),
                        ("vm create g image=memtouch.elf min=2M max=32M far=rdma local=2M inject=fast",
                         "spin or warp"),
                        ("vm far f local=100K", "from 1M up to max"), ("vm far f speed=1", "local=SIZE, inject=spin|warp, policy= or prefetch="),
                        ("vm set f max=64M", "has a far share")):
        out = vmx.cmd(line)
        assert out.startswith("error:") and error in out, (line, out)
    assert "rdma" in nodes(vmx) and list(vm_list(vmx)) == ["f"]


# local share as a fraction of what memtouch touches (its 2 MiB of code and page tables included)
@pytest.mark.parametrize("local_pct", [100, 50, 10])
def test_pages_moving_out_and_back_keep_their_bytes(vmx, local_pct):
    """memtouch writes a 16 MiB region in random order at a 512-byte stride and checks every byte;
    its local share holds local_pct % of that (at least 1 MiB): the rest moves out to the node and
    back, dirty pages with a copy each time."""
    size = 16 * MIB
    local = max(MIB, (size + 2 * MIB) * local_pct // 100 // 4096 * 4096)
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok(f"vm create f image=memtouch.elf min=2M max=32M far=far0 local={local // 1024}K "
               f"size=16M stride=512 order=random")
    vmx.cmd_ok("vm start f")
    r = run(vmx, "f")
    assert r["differ"] == 0 and r["bytes"] == size, r
    f = far_info(vmx, "f")
    if local_pct == 100:
        assert f["pages_out"] == 0 and f["faults"] == 0, f
    else:
        # every page beyond the local share went out once at least, and came back when touched
        assert f["pages_out"] >= (size - local) // 4096 and f["faults"] > 0 and f["dirty"] > 0, f
        assert f["pages_in"] >= f["faults"], f
    n = nodes(vmx)["far0"]
    assert n["users"] == 1 and n["frames"] - n["free"] == int(
        re.search(r"(\d+) far frames held", vmx.cmd_ok("vm info f")).group(1)), n


def test_released_far_pages_read_zero(vmx):
    """memtouch releases its whole region after the check (most of it lies in far memory then) and
    checks that every byte reads zero: far copies of released pages are dropped, not fetched back."""
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok("vm create f image=memtouch.elf min=2M max=32M far=far0 local=2M size=16M release=1")
    vmx.cmd_ok("vm start f")
    r = run(vmx, "f")
    assert r["differ"] == 0 and r["released"] == 16 * MIB and r["zero_after"] == 1, r
    # the check after the release read the region back through 2M of local memory: the pages it
    # found (zeros, every one) went out again; a stale far copy fetched would have made it fail
    assert far_info(vmx, "f")["pages_out"] > 2 * (16 * MIB // 4096) - 2 * MIB // 4096


def test_clean_pages_go_out_without_a_copy(vmx):
    """The latency guest writes its region once, then only reads: pages fetched for a read and
    evicted again have a valid far copy and no dirty bit, and go out without one."""
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok("vm create f image=latency.elf min=2M max=32M far=far0 local=2M size=8M probes=1000")
    vmx.cmd_ok("vm start f")
    r = run(vmx, "f")
    assert r["differ"] == 0 and r["probes"] == 1000, r
    f = far_info(vmx, "f")
    assert f["clean"] > 100 and f["dirty"] >= 8 * MIB // 4096 - 2 * MIB // 4096, f


def test_warp_charges_exactly_the_configured_latency(vmx, hv):
    """In warp mode a far fault costs the guest the configured latency and no more: the guest's
    median first touch of far pages (nearly all of its probes) against the configured latency in
    its own TSC ticks. Bochs: less the measuring code (its median local hit), the excess is the
    few instructions of the VM exit and entry that the entry stub cannot count (under 10). QEMU:
    its emulated VM exit and entry take tens of thousands of ticks, which the hypervisor measures
    and takes off, but TCG's timing varies from one to the next: at 1 ms the median is the latency
    to 5 %, and at 0 a small part of it."""
    medians = {}
    for us in (0, 1000):
        vmx.cmd_ok(f"mem node add n{us} size=32M latency={us}us bw=1T")
        vmx.cmd_ok(f"vm create w{us} image=latency.elf min=2M max=32M far=n{us} local=2M inject=warp "
                   f"size=8M probes=300")
        vmx.cmd_ok(f"vm start w{us}")
        r = run(vmx, f"w{us}")
        assert r["differ"] == 0, r
        f = far_info(vmx, f"w{us}")
        ticks = us * r["tsc_khz"] // 1000
        link = 4096 * r["tsc_khz"] * 1000 // (1 << 40)  # a page's transfer at 1 TiB/s, in ticks
        assert f["faults"] * ticks <= f["charged"] <= f["faults"] * (ticks + link + 1), (f, ticks)
        medians[us] = (r["first_median"], ticks, r["hit_median"])
    (m0, _, hit0), (m1, t1, _) = medians[0], medians[1000]
    if hv.emu == "bochs":  # the far fault as measured (first touch less the measuring code) is the latency
        for median, ticks, hit in medians.values():
            assert ticks <= median - hit <= ticks + 10, medians
    else:  # what is left of QEMU's world switch, either way, is under 5 % of 1 ms
        assert t1 - t1 // 20 <= m1 <= t1 + t1 // 20 and m0 <= t1 // 20, medians


@pytest.mark.parametrize("us", [100, 200])
def test_spin_waits_the_latency(vmx, us):
    """In spin mode the vCPU waits until the latency has passed since the fault (in the entry stub;
    at 200 us after sitting out all but the last 100 us; both above the floor): the guest's median
    first touch is at least the configured latency (its own TSC counts real time). In Bochs, whose
    TSC counts instructions, it is the latency to 1 % once the measuring code (the median local
    hit) is taken off. Under QEMU the hypervisor takes the world switch it measured off the wait,
    and TCG's timing of a switch varies by some microseconds from one moment to the next (more
    with another emulator beside it): the median is at least three quarters of the latency, which
    a vCPU that did not wait (about 30 us there) would not reach."""
    vmx.cmd_ok(f"mem node add far0 size=32M latency={us}us bw=1T")
    vmx.cmd_ok("vm create s image=latency.elf min=2M max=32M far=far0 local=2M inject=spin size=8M probes=200")
    out = vmx.cmd_ok("vm info s")
    assert "latency injected by spin" in out, out
    vmx.cmd_ok("vm start s")
    r = run(vmx, "s")
    ticks = us * r["tsc_khz"] // 1000
    least = ticks if vmx.emu == "bochs" else ticks - ticks // 4
    assert r["differ"] == 0 and r["first_median"] >= least and r["hit_median"] < ticks, (r, ticks)
    if vmx.emu == "bochs":
        assert r["first_median"] - r["hit_median"] <= ticks + ticks // 100, (r, ticks)


def test_a_flood_of_far_faults_cannot_starve_another_vm(vmx):
    """Two VMs share a slow link (4 MiB/s: a page holds it for about 1 ms). 'hog' updates random
    records of a 16 MiB table through a 2 MiB local share, without end: every operation fetches a
    page and writes one back, and in warp mode nothing holds it back, so its transfers pile up far
    ahead of the clock. 'v' probes far pages with the latency guest, once alone and once beside
    the hog: a fair link gives it half the bandwidth while the hog is busy, so each of its far
    faults is charged at most about twice what it was alone (its own write-backs queue ahead of
    its fetches either way), never the hog's backlog, which is many times longer."""
    vmx.cmd_ok("mem node add link size=48M latency=1us bw=4M")
    charged = {}
    for name in ("alone", "beside"):
        if name == "beside":
            vmx.cmd_ok("vm create hog image=kv.elf min=2M max=32M far=link local=2M inject=warp size=16M "
                       "ops=100000000 update=100 hot=100")
            vmx.cmd_ok("vm start hog")
            # its backlog: some thousands of transfers, many times what the victim's own writes queue
            wait_until_true(lambda: far_info(vmx, "hog")["faults"] >= 2000, 900)
        vmx.cmd_ok(f"vm create {name} image=latency.elf min=2M max=32M far=link local=2M inject=warp size=3M "
                   "probes=100")
        vmx.cmd_ok(f"vm start {name}")
        r = run(vmx, name)
        f = far_info(vmx, name)
        assert r["differ"] == 0 and f["faults"] >= 20, (r, f)
        charged[name] = f["charged"] / f["faults"]
    hog = far_info(vmx, "hog")
    assert vm_list(vmx)["hog"]["state"] == "running", vm_list(vmx)  # busy all along
    # the hog's own faults wait behind its backlog: far longer than the victim's
    assert hog["charged"] / hog["faults"] > 4 * charged["beside"], (hog, charged)
    assert charged["alone"] <= charged["beside"] <= 2.5 * charged["alone"], charged


def test_a_long_spin_lets_the_cpu_go_to_others(vmx):
    """In spin mode a far fault of 20 ms keeps its vCPU waiting 20 ms of real time, but not the
    CPU: 'q' sorts beside 's', which waits out far faults all the while, and takes about as long
    (by its own TSC) as it did alone. Were the wait spun in the exit handler, each of s's slices
    would hold the CPU for its faults' 20 ms and q would take several times as long. And s waited
    all along: its faults' 20 ms each fit in the host's time since it started, and it has far more
    far pages to touch (hundreds) than the test's polling lets pass."""
    vmx.cmd_ok("mem node add far0 size=32M latency=20ms bw=1T")
    vmx.cmd_ok("vm create q1 image=qsort.elf min=2M max=16M size=1M")
    vmx.cmd_ok("vm start q1")
    alone = run(vmx, "q1")["sort_tsc"]
    vmx.cmd_ok("vm create s image=latency.elf min=2M max=32M far=far0 local=2M inject=spin size=8M probes=1000")
    vmx.cmd_ok("vm create q2 image=qsort.elf min=2M max=16M size=1M")
    start, hz = parse_uptime(vmx.cmd_ok("uptime"))
    vmx.cmd_ok("vm start s")
    wait_until_true(lambda: far_info(vmx, "s")["faults"] >= 2, 900)  # probing far pages now
    vmx.cmd_ok("vm start q2")
    beside = run(vmx, "q2")["sort_tsc"]
    f = far_info(vmx, "s")
    now = parse_uptime(vmx.cmd_ok("uptime"))[0]
    assert beside < 2 * alone, (alone, beside, f)
    assert vm_list(vmx)["s"]["state"] == "running", f
    assert f["faults"] * (hz // 50) <= now - start + hz // 50, (f, now - start, hz)  # 20 ms each, the last begun


def test_stats_shows_far_faults(vmx):
    """'stats' counts far faults among the exits, with their cost from VM exit to VM entry, and sums
    the far shares: as many far faults as the VM's own 'vm info' counted."""
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok("vm create f image=latency.elf min=2M max=32M far=far0 local=2M inject=warp size=4M probes=200")
    vmx.cmd_ok("stats reset")
    vmx.cmd_ok("vm start f")
    run(vmx, "f")
    out = vmx.cmd_ok("stats")
    exits = re.search(r"^far faults: (\d+), (\d+) tsc/fault", out, re.M)
    total = re.search(r"^far shares of the 1 VMs with one: (\d+) far faults", out, re.M)
    faults = far_info(vmx, "f")["faults"]
    assert exits and total and faults > 50, out
    assert int(exits.group(1)) == faults == int(total.group(1)) and int(exits.group(2)) > 0, (out, faults)


def test_local_share_lowered_moves_pages_out_at_once(vmx):
    """'vm far' lowers the local share of a created VM below what its loaded program and min hold:
    those pages (its code among them) move out at once; started, the program runs from pages that
    come back on its touches, and checks every byte it writes."""
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok("vm create f image=memtouch.elf min=4M max=32M far=far0 local=24M size=8M")
    assert far_info(vmx, "f")["pages_out"] == 0
    out = vmx.cmd_ok("vm far f local=1M inject=warp")
    assert "local 1024K (backed locally 1024K)" in out and "warp" in out, out
    assert far_info(vmx, "f")["pages_out"] >= 3 * MIB // 4096
    vmx.cmd_ok("vm start f")
    r = run(vmx, "f")
    f = far_info(vmx, "f")
    assert r["differ"] == 0 and r["bytes"] == 8 * MIB and f["faults"] > 0, (r, f)


@pytest.mark.parametrize("policy", ["fifo", "random", "clock", "lru"])
def test_every_eviction_policy_keeps_the_bytes(vmx, policy):
    """memtouch over 8 MiB in random order with a 2 MiB local share, under each eviction policy:
    pages go out and come back (dirty ones copied, clean ones not) and every byte checks."""
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok("vm create f image=memtouch.elf min=2M max=32M far=far0 local=2M size=8M stride=256 order=random")
    out = vmx.cmd_ok(f"vm far f policy={policy} inject=warp")
    assert f"eviction {policy}," in out, out
    vmx.cmd_ok("vm start f")
    r = run(vmx, "f")
    f = far_info(vmx, "f")
    assert r["differ"] == 0 and f["pages_out"] > 6 * MIB // 4096 and f["faults"] > 0, (r, f)


def test_prefetch_on_a_scan(vmx):
    """stride.elf reads its 16 MiB page by page, twice, through a 4 MiB local share: with
    prefetch=next:16 its far faults drop to a fraction, at least 80 % of the pages prefetched are
    used before they go out again, and every word checks; stride:8 finds a stride of two pages."""
    vmx.cmd_ok("mem node add far0 size=64M latency=10us bw=10G")
    faults = {}
    for name, pf, stride in (("none", "none", 4096), ("next", "next:16", 4096), ("none8k", "none", 8192),
                             ("stride", "stride:8", 8192)):
        vmx.cmd_ok(f"vm create {name} image=stride.elf min=2M max=64M far=far0 local=4M size=16M passes=2 "
                   f"stride={stride}")
        vmx.cmd_ok(f"vm far {name} inject=warp prefetch={pf}")
        vmx.cmd_ok(f"vm start {name}")
        r = run(vmx, name)
        assert r["differ"] == 0, r
        out = vmx.cmd_ok(f"vm info {name}")
        pf_line = re.search(r"(\d+) pages prefetched: (\d+) moved out untouched \(wasted\), (\d+) not looked at",
                            out)
        faults[name] = (far_info(vmx, name)["faults"], *map(int, pf_line.groups()))
        vmx.cmd_ok(f"vm destroy {name}")
    (none, p0, _, _), (nxt, pn, wn, _) = faults["none"], faults["next"]
    (none8k, _, _, _), (strd, ps, ws, _) = faults["none8k"], faults["stride"]
    assert p0 == 0 and none >= 2 * (16 - 4) * MIB // 4096, faults
    assert nxt * 4 < none and pn > 0 and wn <= pn // 5, faults
    assert strd * 2 < none8k and ps > 0 and ws <= ps // 5, faults


@pytest.mark.parametrize("line,error", [
    ("vm far f policy=lfu", "fifo, random, clock or lru"),
    ("vm far f prefetch=always", "none, next[:N] or stride[:N]"),
    ("vm far f prefetch=next:0", "with N from 1 to 64"),
    ("vm far f prefetch=none:4", "with N from 1 to 64"),
    ("vm far g", "no VM 'g'"),
])
def test_bad_far_settings_change_nothing(vmx, line, error):
    vmx.cmd_ok("mem node add far0 size=16M latency=1us bw=10G")
    vmx.cmd_ok("vm create f image=memtouch.elf min=2M max=16M far=far0 local=2M")
    before = vmx.cmd_ok("vm far f")
    out = vmx.cmd(line)
    assert out.startswith("error:") and error in out and len(out.strip().splitlines()) == 1, out
    assert vmx.cmd_ok("vm far f") == before


# the other workloads, small: image, arguments, footprint in KiB (their data and 2 MiB of program)
WORKLOADS = {"kv": ("kv.elf", "size=4M ops=5000", 6144), "stride": ("stride.elf", "size=4M passes=1", 6144),
             "qsort": ("qsort.elf", "size=2M", 4096 + 2048), "latency": ("latency.elf", "size=4M probes=100", 6144)}


@pytest.mark.parametrize("local_pct", [100, 50, 10])
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_workload_checks_its_data(vmx, name, local_pct):
    """kv (every value it reads), stride (every word), qsort (order, sum and xor of its keys) and
    latency (every probe) at 100, 50 and 10 % of their footprint in local memory: 0 differ."""
    image, args, foot = WORKLOADS[name]
    local = max(1024, foot * local_pct // 100 // 4 * 4)
    vmx.cmd_ok("mem node add far0 size=32M latency=1us bw=10G")
    vmx.cmd_ok(f"vm create w image={image} min=2M max=32M far=far0 local={local}K inject=warp {args}")
    vmx.cmd_ok("vm start w")
    r = run(vmx, "w")
    assert r.get("differ", 0) == 0 and r.get("sorted", 1) == 1, r
    f = far_info(vmx, "w")
    assert (f["pages_out"] == 0) == (local_pct == 100), f
