"""Pipes between VMs (issue 9) under VT-x (Bochs) and AMD-V (QEMU): messages from 64 B to 64 KiB
cross with every byte and their order checked by the receiving guest, in both modes; the dynamic
region grows with the data in flight and gives its pages back when the sender pauses (exact frame
counts in 'pipe list' and 'mem'); a sender that wrecks the header and floods notifications breaks
only its own pipe; either end's VM can go first, and the other keeps its view of the region until
it goes too. Every scenario ends with destroy_all ('mem verify', which also recounts the pipes'
frames, then every frame back)."""
import re
import time

import pytest

from conftest import EMULATORS, booted_empty
from test_vms import destroy_all, free_frames, info, vm_list, wait_until

DONE = ("exited", "stopped")
KIB = 1 << 10
PAGE = 4096


@pytest.fixture(scope="module", params=EMULATORS)
def hv(request):
    yield from booted_empty(request.param)


@pytest.fixture
def vmx(hv):
    """The machine with no VMs and no pipes; afterwards (also after a failure) the same, every frame
    recounted."""
    yield hv
    destroy_all(hv)
    assert pipes(hv) == {}


PIPE_COLUMNS = ("name", "sender", "receiver", "mode", "state", "size_k", "alloc_k", "inuse_k", "peak_k",
                "util", "messages", "bytes", "notifies")


def pipes(m):
    """'pipe list' as {name: {column: value}} (numbers as int, util as float)."""
    lines = m.cmd_ok("pipe list").strip().splitlines()
    assert lines[0].split() == [c if c != "util" else "util%" for c in PIPE_COLUMNS], lines[0]
    out = {}
    for line in lines[1:]:
        row = dict(zip(PIPE_COLUMNS, line.split()))
        for k in PIPE_COLUMNS[5:]:
            row[k] = float(row[k]) if k == "util" else int(row[k])
        out[row["name"]] = row
    return out


def pipe_frames(m, name):
    """The pipe's frames as 'mem' shows them (the pool's per-owner count)."""
    hit = re.search(rf"^pipe {re.escape(name)}\s+(\d+) frames of shared region", m.cmd_ok("mem"), re.M)
    assert hit, m.cmd_ok("mem")
    return int(hit.group(1))


def ended(m, name, status=0, timeout=900):
    """Wait for the VM to end with this exit status; its results."""
    wait_until(m, [name], DONE, timeout=timeout)
    i = info(m, name)
    assert i["reason"] == f"exited with status {status}", (i, m.cmd_ok("vm console " + name))
    return i["results"]


def pair(m, size, count, mode="dynamic", region="1M", send="", recv=""):
    """A sender and a receiver joined by pipe p; nothing started yet."""
    m.cmd_ok(f"vm create tx image=pipe_send.elf min=4M max=16M size={size} count={count} seed=5 {send}")
    m.cmd_ok(f"vm create rx image=pipe_recv.elf min=4M max=16M size={size} count={count} seed=5 {recv}")
    out = m.cmd_ok(f"pipe create p tx rx max={region} mode={mode}")
    unit = {"K": "KiB", "M": "MiB"}[region[-1]]
    assert out.strip() == f"pipe p: tx -> rx, {region[:-1]} {unit}, {mode} region", out


# 64 KiB messages cost Bochs the most: fewer of them
SIZES = [(64, 3000), (4096, 400), (65536, 40)]


@pytest.mark.parametrize("mode", ["dynamic", "static"])
@pytest.mark.parametrize("size,count", SIZES)
def test_messages_cross_intact(vmx, mode, size, count):
    pair(vmx, size, count, mode, recv="wait=irq")
    vmx.cmd_ok("vm start rx")
    vmx.cmd_ok("vm start tx")
    r = ended(vmx, "rx")
    s = ended(vmx, "tx")
    assert (r["messages"], r["bytes"], r["differ"], r["order_errors"], r["broken"]) == \
        (count, count * size, 0, 0, 0), r
    assert (s["messages"], s["bytes"]) == (count, count * size), s
    p = pipes(vmx)["p"]
    # the hypervisor counted every record from the header as it went by (not from the guests)
    assert (p["messages"], p["bytes"], p["state"]) == (count, count * size, "open"), p
    assert p["inuse_k"] == 0, p
    if mode == "static":
        assert p["alloc_k"] == p["peak_k"] == 1024 and pipe_frames(vmx, "p") == 256, p
    else:
        assert 4 < p["peak_k"] <= 1024 and pipe_frames(vmx, "p") * 4 == p["alloc_k"], p


@pytest.mark.parametrize("send_copy,differ", [(1, False), (0, True)])
def test_copy_mode_checks_in_place(vmx, send_copy, differ):
    """copy=1 (the benchmark's mode): the sender copies message 0's bytes into each message and
    stamps its index, the receiver checks index, length and last word in place. Against a sender
    that computes every message (copy=0) the same receiver must see the last words differ."""
    size, count = 65536, 40
    pair(vmx, size, count, send=f"copy={send_copy}", recv="wait=irq copy=1")
    vmx.cmd_ok("vm start rx")
    vmx.cmd_ok("vm start tx")
    r = ended(vmx, "rx", status=1 if differ else 0)
    ended(vmx, "tx")
    assert (r["messages"], r["bytes"], r["order_errors"], r["broken"]) == (count, count * size, 0, 0), r
    assert (r["differ"] > 0) == differ, r


def npf_exits(m):
    """Nested-page-fault exits since 'stats reset', as 'stats' counts them."""
    hit = re.search(r"^npf\s+(\d+)\s", m.cmd_ok("stats"), re.M)
    assert hit, m.cmd_ok("stats")
    return int(hit.group(1))


def test_a_record_across_pages_costs_one_fault(vmx):
    """A touch of the region backs the rest of the sender's reservation with it: 64 KiB records
    (17 pages each) back their pages with about one nested-page fault each, where a fault per page
    would make as many exits as pages. Against the same run in a static region, which has the
    VMs' own faults and MMIO exits but none of the region's."""
    size, count = 65536, 40
    exits = {}
    for mode in ("static", "dynamic"):
        pair(vmx, size, count, mode, recv="wait=irq")
        vmx.cmd_ok("stats reset")
        vmx.cmd_ok("vm start rx")
        vmx.cmd_ok("vm start tx")
        r = ended(vmx, "rx")
        ended(vmx, "tx")
        assert (r["messages"], r["differ"], r["order_errors"]) == (count, 0, 0), r
        exits[mode] = npf_exits(vmx)
        paging = re.search(r"^paging:\s+(\d+) pages backed on faults", vmx.cmd_ok("pipe info p"), re.M)
        backed = int(paging.group(1))
        destroy_all(vmx)
    assert backed >= 4 * 17, backed  # four records' pages at least
    assert (exits["dynamic"] - exits["static"]) * 4 <= backed, (exits, backed)


def test_a_fault_backs_pages_ahead_of_the_sender(vmx):
    """Once the region holds a few pages, a touch of an unbacked page backs some pages after it
    too (up to 4, one for every 6 the region holds), so that the sender's next pages cost no fault
    of their own: 300 records of 1 KiB (four to a page, about 76 pages) written with nobody
    reading make at most half as many nested-page faults as the pages they back, against the same
    run in a static region; then the receiver reads them all intact."""
    size, count = 1024, 300
    exits = {}
    for mode in ("static", "dynamic"):
        pair(vmx, size, count, mode)
        vmx.cmd_ok("stats reset")
        vmx.cmd_ok("vm start tx")
        ended(vmx, "tx")
        exits[mode] = npf_exits(vmx)
        paging = re.search(r"^paging:\s+(\d+) pages backed on faults", vmx.cmd_ok("pipe info p"), re.M)
        backed = int(paging.group(1))
        vmx.cmd_ok("vm start rx")
        r = ended(vmx, "rx")
        assert (r["messages"], r["differ"], r["order_errors"], r["broken"]) == (count, 0, 0, 0), r
        destroy_all(vmx)
    assert backed >= count * (size + 8) // PAGE, backed
    assert (exits["dynamic"] - exits["static"]) * 2 <= backed, (exits, backed)


def test_dynamic_region_follows_the_data_in_flight(vmx):
    """A sender ahead of the receiver fills part of the region; when it pauses with everything
    consumed, the region shrinks to the header, the page holding tail (= head) and the page after
    it; the rest of the stream then crosses intact."""
    size, count = 4096, 600
    pair(vmx, size, count, send="pause_ms=6000", recv="wait=irq timeout_ms=60000")
    vmx.cmd_ok("vm start rx")
    vmx.cmd_ok("vm start tx")
    end = time.time() + 300
    while info(vmx, "tx")["results"].get("paused") != 1:
        assert time.time() < end and vm_list(vmx)["tx"]["state"] not in DONE, info(vmx, "tx")
        time.sleep(0.1)
    # during the pause: everything sent so far is consumed, and the pages go back
    while True:
        p = pipes(vmx)["p"]
        if p["inuse_k"] == 0 and p["alloc_k"] <= 12:
            break
        assert time.time() < end and info(vmx, "tx")["results"].get("paused") == 1, p
        time.sleep(0.1)
    assert p["messages"] == count // 2 and p["peak_k"] > 12 * 4, p
    assert pipe_frames(vmx, "p") * 4 == p["alloc_k"], p
    r = ended(vmx, "rx")
    ended(vmx, "tx")
    assert (r["messages"], r["differ"], r["order_errors"], r["broken"]) == (count, 0, 0, 0), r


def test_a_hostile_sender_breaks_only_its_pipe(vmx):
    """After half its messages the sender writes garbage into the header and a record, and floods
    the notify queue: the receiver reports a broken pipe (status 4), the hypervisor says why, and
    every frame comes back."""
    pair(vmx, 256, 200, send="hostile=1", recv="wait=irq")
    vmx.cmd_ok("vm start rx")
    vmx.cmd_ok("vm start tx")
    ended(vmx, "tx")
    r = ended(vmx, "rx", status=4)
    assert r["broken"] == 1 and r["differ"] == 0 and r["order_errors"] == 0, r
    assert r["messages"] <= 100, r  # the good half, or what of it came before the garbage
    p = pipes(vmx)["p"]
    assert p["state"] == "broken" and p["messages"] <= 100 and p["notifies"] >= 1000, p
    assert "broken:" in vmx.cmd_ok("pipe info p")


def test_a_sender_writing_past_the_region_is_stopped(vmx):
    """After half its messages the sender writes the byte just past the region, inside its slot's
    shared-memory window: the hypervisor stops that VM and names the address; the receiver keeps
    its view and has the good half intact, and its end closes cleanly afterwards."""
    pair(vmx, 256, 200, send="beyond=1", recv="wait=irq timeout_ms=3000")
    vmx.cmd_ok("vm start rx")
    vmx.cmd_ok("vm start tx")
    wait_until(vmx, ["tx"], DONE, timeout=300)
    i = info(vmx, "tx")
    where = re.search(r"at 0x([0-9a-f]+), just past", vmx.cmd_ok("vm console tx"))
    assert i["state"] == "stopped" and where, (i, vmx.cmd_ok("vm console tx"))
    assert f"write at guest-physical 0x{where.group(1)}" in i["reason"], i
    assert "the write went through" not in vmx.cmd_ok("vm console tx")
    r = ended(vmx, "rx", status=5)  # nothing after the good half: its wait times out
    assert (r["messages"], r["differ"], r["order_errors"], r["broken"]) == (100, 0, 0, 0), r
    vmx.cmd_ok("vm destroy tx")
    vmx.cmd_ok("vm destroy rx")
    assert "p" not in pipes(vmx)
    assert "mem verify: ok" in vmx.cmd_ok("mem verify")


def test_either_end_may_go_first(vmx):
    """The sender writes everything and is destroyed before the receiver starts: the region stays
    (half-closed) and the receiver reads it all; destroying the receiver then frees the pipe."""
    size, count = 1024, 100  # 100 records of 1 KiB + 8 fit in the 1020 KiB data area
    pair(vmx, size, count)
    vmx.cmd_ok("vm start tx")
    ended(vmx, "tx")
    frames = pipe_frames(vmx, "p")
    assert "destroyed" in vmx.cmd_ok("vm destroy tx")
    p = pipes(vmx)["p"]
    assert p["state"] == "half-closed" and re.fullmatch(r"\(vm\d+-gone\)", p["sender"]), p
    assert pipe_frames(vmx, "p") == frames and p["alloc_k"] == frames * 4, p
    vmx.cmd_ok("vm start rx")
    r = ended(vmx, "rx")
    assert (r["messages"], r["differ"], r["order_errors"]) == (count, 0, 0), r
    free = free_frames(vmx)
    assert "destroyed" in vmx.cmd_ok("vm destroy rx")
    assert pipes(vmx) == {}
    assert free_frames(vmx) >= free + frames


def test_the_receiver_may_go_first(vmx):
    """The receiver's VM is destroyed while the sender waits for room: the sender's wait times out
    (its own report), the pipe stays half-closed with the sender's view intact, and goes with it."""
    pair(vmx, 1024, 100, region="12K", send="wait=irq timeout_ms=3000")
    vmx.cmd_ok("vm start tx")
    end = time.time() + 300
    while pipes(vmx)["p"]["inuse_k"] < 4:  # the 8 KiB data area is full: the sender waits
        assert time.time() < end, pipes(vmx)
        time.sleep(0.1)
    assert "destroyed" in vmx.cmd_ok("vm destroy rx")
    p = pipes(vmx)["p"]
    assert p["state"] == "half-closed" and re.fullmatch(r"\(vm\d+-gone\)", p["receiver"]), p
    s = ended(vmx, "tx", status=5)
    assert 0 < s["messages"] < 100, s
    assert "destroyed" in vmx.cmd_ok("vm destroy tx")
    assert pipes(vmx) == {}


def test_ping_round_trips(vmx):
    """Two pipes, one each way: the client's messages come back unchanged, every round trip timed."""
    n = 200
    vmx.cmd_ok(f"vm create c image=ping.elf min=4M max=16M role=client count={n} wait=irq seed=9")
    vmx.cmd_ok(f"vm create s image=ping.elf min=4M max=16M role=server count={n} wait=irq seed=9")
    vmx.cmd_ok("pipe create there c s")
    vmx.cmd_ok("pipe create back s c")
    vmx.cmd_ok("vm start s")
    vmx.cmd_ok("vm start c")
    c = ended(vmx, "c")
    s = ended(vmx, "s")
    assert (c["messages"], c["differ"], c["broken"], s["messages"]) == (n, 0, 0, n), (c, s)
    assert 0 < c["rtt_min_ns"] <= c["rtt_median_ns"] <= c["rtt_max_ns"], c
    p = pipes(vmx)
    assert p["there"]["messages"] == p["back"]["messages"] == n, p


def test_virtio_negotiation_errors(vmx):
    """The driver's wrong steps are refused as virtio 1.2 says, and the device comes back after a
    reset: each check is what the guest reads back from the device."""
    vmx.cmd_ok("vm create v image=virtio_check.elf min=4M max=16M")
    vmx.cmd_ok("vm create other image=hello.elf min=4M max=16M")
    vmx.cmd_ok("pipe create p other v")
    vmx.cmd_ok("vm start v")
    r = ended(vmx, "v")
    checks = ("empty_slot", "bad_feature", "no_version_1", "bad_queue_num", "no_such_queue", "ring_loop",
              "needs_reset_irq", "recovers")
    assert {k: r.get(k) for k in checks} == {k: 1 for k in checks}, r


def test_monitor_refuses_bad_pipes(vmx):
    vmx.cmd_ok("vm create a image=hello.elf min=4M max=16M")
    vmx.cmd_ok("vm create b image=hello.elf min=4M max=16M")
    for line, why in [
        ("pipe create p a a", "pipe create p: both ends are VM 'a': a pipe joins two VMs"),
        ("pipe create p a nosuch", "pipe create: no VM 'nosuch' (see 'vm list')"),
        ("pipe create p a b max=3K",
         "pipe create p: max=3072: the region is a multiple of 4 KiB from 12 KiB to 32 MiB"),
        ("pipe create p a b max=64M",
         "pipe create p: max=67108864: the region is a multiple of 4 KiB from 12 KiB to 32 MiB"),
        ("pipe create p a b mode=fast", "pipe create: 'mode=fast': expected max=SIZE or mode=dynamic|static"),
        ("pipe create a/b a b",
         "pipe create a/b: 'a/b' is not a pipe name (1 to 15 letters, digits, '_', '-', '.')"),
        ("pipe info nosuch", "pipe info: no pipe 'nosuch' (see 'pipe list')"),
        ("pipe destroy nosuch", "pipe destroy: no pipe 'nosuch' (see 'pipe list')"),
    ]:
        assert vmx.cmd(line).strip() == "error: " + why, line
    assert pipes(vmx) == {}
    assert not re.search(r"^pipe ", vmx.cmd_ok("mem"), re.M)  # no frames held for a refused pipe
    vmx.cmd_ok("pipe create p a b")
    assert vmx.cmd("pipe create p a b").strip() == "error: pipe create p: a pipe named 'p' exists already"
    vmx.cmd_ok("vm start a")
    assert vmx.cmd("pipe create q a b").strip() == \
        "error: pipe create q: VM 'a' was started: devices attach before 'vm start'"
    for k in range(7):  # slot 0 holds p: seven more fill the eight slots
        vmx.cmd_ok(f"vm create c{k} image=hello.elf min=4M max=16M")
    for k in range(7):
        vmx.cmd_ok(f"pipe create q{k} b c{k}")
    assert vmx.cmd("pipe create q9 b c0").strip().startswith("error: pipe create q9: "), pipes(vmx)
