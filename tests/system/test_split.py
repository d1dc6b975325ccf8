"""Working sets to the 4 KiB page (mem policy split=on) under VT-x (Bochs) and AMD-V (QEMU): a
2 MiB leaf the guest touches only in part is split, the estimate then counts the 4 KiB pages the
guest touches (its own exact working set, not rounded up to 2 MiB leaves), the leaves are merged
back when all their pages are hot again, and every frame is accounted for throughout.

Splitting is on demand: a scan splits the accessed 2 MiB leaves above min of a VM with nothing
idle when the pool is under pressure (below the low watermark). The test sets the low watermark
above all memory, so the pressure lasts; the `wss` guest's pages all hold data, so harvesting
finds nothing to take and the memory stays where it is."""

from machine import parse_mem
from test_reclaim import REGION, exited_ok, hv, settled, vmx, wss_samples  # noqa: F401 (the fixtures)
from test_vms import destroy_all, verify

MIB = 1 << 20
LEAF = 2 * MIB
PERIOD_MS = 100


def test_split_counts_4k_pages_and_merges_hot_leaves_back(vmx):
    # Phases of 8, 5 and 8 MiB of the region at 2 MiB: in the second, the leaf [6M, 8M) is touched
    # in its lower half only (its upper half holds data from the first, so nothing is zero).
    vmx.cmd_ok(f"mem policy period={PERIOD_MS} window=1 idle=2 split=on low=64G high=64G")
    before = parse_mem(vmx.cmd_ok("mem"))
    vmx.cmd_ok("vm create w image=wss.elf min=4M max=16M phases=8M:2,5M:3,8M:2 release=0")
    vmx.cmd_ok("vm start w")
    samples = wss_samples(vmx, "w", every=0.2)
    r = exited_ok(vmx, "w")
    assert r["differ"] == 0 and r["phase"] == 3, r
    assert r["phase0_bytes"] == r["phase2_bytes"] and r["phase1_bytes"] < r["phase0_bytes"], r
    part = r["phase1_bytes"]
    assert part % LEAF, ("phase 1 must end inside a 2 MiB leaf", part)
    # The exact working set of phase 1: its bytes of the region and the guest's code, stack and
    # page tables in the 2 MiB leaf at 0 (below min: never split, touched all the time).
    exact = part + REGION
    rounded = REGION + -(-part // LEAF) * LEAF  # what 2 MiB leaves would count
    one = settled(samples, 1, 3)
    assert len(one) >= 3, ("too few samples of phase 1", [(s[0], s[1], s[3]) for s in samples])
    for scans, ws, res, (split, merged) in one:
        assert split > 0, (scans, split)
        assert abs(ws - exact) <= 0.05 * exact and ws < rounded, (scans, ws, exact, rounded)
    # the last of them counts exactly the guest's pages: the split leaf's cold half is not there
    assert one[-1][1] == exact, (one[-1], exact)
    # Phase 2 touches all of the split leaf again: it is merged back (after phase 1's samples)
    two = settled(samples, 2, 3)
    assert two, ("no sample of phase 2", [(s[0], s[1], s[3]) for s in samples])
    assert two[-1][3][1] > one[-1][3][1], (one[-1][3], two[-1][3])
    full = r["phase2_bytes"] + REGION
    assert all(abs(ws - full) <= 0.05 * full for _, ws, _, _ in two), (two, full)
    # the frames: recounted while the VM holds them, all back after it is destroyed
    verify(vmx)
    destroy_all(vmx)
    after = parse_mem(vmx.cmd_ok("mem"))
    assert before["vms"] == after["vms"] == 0, (before, after)
    assert after["free"] + after["hypervisor"] == before["free"] + before["hypervisor"], (before, after)
