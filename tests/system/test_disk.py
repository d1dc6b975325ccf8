"""Pool-backed virtio disks (issue 12, items 2 and 3) under VT-x (Bochs) and AMD-V (QEMU), driven by
Debian's own Linux (virtio_blk, ext4, busybox's mke2fs, fstrim, blkdiscard, mkswap, swapon): a
filesystem survives write, sync, unmount and remount with its checksums; sectors are backed on first
write only and discarded ones come back to the pool, exactly, and read as zeros; swap on a disk lets a
process use more memory than its VM's max and get every byte back; a disk on a far memory node
charges each request the node's latency; the monitor refuses what it must with one line each. Every
scenario ends with 'mem verify' (which recounts each disk's frames from its index) and every frame back."""
import re

import pytest

from conftest import EMULATORS, booted_empty
from machine import parse_mem
from test_far import nodes
from test_linux import BOOT_S, READY, boot, shell, wait_console
from test_vms import destroy_all, free_frames, verify, vm_list

MIB = 1 << 20
PAGE = 4096


def disks(m):
    """'disk list' as {name: {vm, medium, reads, writes, bytes_read, bytes_written, discards, errors}}."""
    rows = {}
    for line in m.cmd_ok("disk list").splitlines()[1:]:
        f = line.split()
        rows[f[0]] = dict(vm=f[1], medium=f[2], reads=int(f[-6]), writes=int(f[-5]), bytes_read=int(f[-4]),
                          bytes_written=int(f[-3]), discards=int(f[-2]), errors=int(f[-1]))
    return rows


def disk_info(m, name):
    """The figures of 'disk info NAME' that the tests judge by."""
    out = m.cmd_ok("disk info " + name)
    backed = re.search(r"^backed: (\d+) pages .*; index: (\d+) table frames \+ (\d+) directory frames", out, re.M)
    frames = re.search(r"^frames: (\d+) of the pool", out, re.M)
    refused = re.search(r"^refused: (\d+) I/O errors, (\d+) unsupported", out, re.M)
    assert backed and frames and refused, out
    return dict(pages=int(backed.group(1)), tables=int(backed.group(2)), dir=int(backed.group(3)),
                frames=int(frames.group(1)), ioerr=int(refused.group(1)), unsupp=int(refused.group(2)))


def mem_owner_frames(m, kind, name):
    """Frames 'mem' lists for one VM or disk (its own line)."""
    out = m.cmd_ok("mem")
    pat = {"disk": rf"^disk {name}\s+(\d+) frames", "vm": rf"^vm \d+ {name}\s+(\d+) frames backed, (\d+) frames of "
           r"nested tables, (\d+) spare, (\d+) page state"}[kind]
    hit = re.search(pat, out, re.M)
    assert hit, out
    return sum(int(g) for g in hit.groups())


def pool_frames(m):
    """Free frames and the hypervisor's own (its zero cache refills from the free ones while idle)."""
    mem = parse_mem(m.cmd_ok("mem"))
    return mem["free"] + mem["hypervisor"]


def destroy_disks(m):
    for name in disks(m):
        assert "destroyed" in m.cmd_ok("disk destroy " + name)
    assert disks(m) == {}


@pytest.fixture(scope="module", params=EMULATORS)
def dk(request):
    yield from booted_empty(request.param)


@pytest.fixture
def hv(dk):
    before = free_frames(dk)
    yield dk
    destroy_all(dk)
    destroy_disks(dk)
    for line in dk.cmd_ok("mem node list").splitlines()[1:]:
        assert "deleted" in dk.cmd_ok("mem node del " + line.split()[0])
    assert free_frames(dk) == before


def test_filesystem_survives_remount_and_discard_gives_frames_back(hv):
    hv.cmd_ok("disk create d size=64M")
    assert disk_info(hv, "d")["pages"] == 0  # nothing backed until written
    boot(hv, "lx", "min=32M max=128M disk=d")
    wait_console(hv, "lx", "^" + READY, BOOT_S[hv.emu])
    wait_console(hv, "lx", r"^# ", 60)
    assert disks(hv)["d"]["vm"] == "lx"
    # ext2 (busybox mke2fs) mounted by the kernel's ext4 driver; 8 MiB of random data, checksummed
    # before and after an unmount: the second sum reads the disk, not the page cache
    shell(hv, "lx", "mke2fs -q /dev/vda && mount -t ext4 /dev/vda /mnt && "
          "dd if=/dev/urandom of=/mnt/f bs=1M count=8 2>/dev/null && sha256sum < /mnt/f > /tmp/a && echo F=done",
          r"^F=done", timeout=BOOT_S[hv.emu])
    hit = shell(hv, "lx", "sync && umount /mnt && echo 3 > /proc/sys/vm/drop_caches && mount -t ext4 /dev/vda /mnt "
                "&& sha256sum < /mnt/f > /tmp/b && echo S=$(cut -c1-64 /tmp/a)=$(cut -c1-64 /tmp/b)=S",
                r"^S=([0-9a-f]{64})=([0-9a-f]{64})=S", timeout=BOOT_S[hv.emu])
    assert hit.group(1) == hit.group(2)
    row = disks(hv)["d"]
    assert row["bytes_written"] >= 8 * MIB and row["bytes_read"] >= 8 * MIB and row["errors"] == 0, row
    verify(hv)  # the disk's frames recounted from its index
    # the file goes and fstrim discards the free blocks: their pages leave the disk
    full = disk_info(hv, "d")
    assert full["pages"] >= 8 * MIB // PAGE, full
    hit = shell(hv, "lx", "rm /mnt/f && sync && fstrim -v /mnt && umount /mnt && echo T=done",
                r"^/mnt: (\d+) bytes trimmed\s+T=done", timeout=BOOT_S[hv.emu])
    assert int(hit.group(1)) >= 8 * MIB
    trimmed = disk_info(hv, "d")
    assert trimmed["pages"] <= full["pages"] - 8 * MIB // PAGE, (full, trimmed)
    assert disks(hv)["d"]["discards"] > 0
    # raw sectors: 8 MiB written at 40 MiB, its first half discarded with blkdiscard: exactly 1024
    # pages go back to the pool and read as zeros, the other half keeps its checksum
    shell(hv, "lx", "dd if=/dev/urandom of=/dev/vda bs=1M seek=40 count=8 oflag=direct 2>/dev/null && "
          "dd if=/dev/vda bs=1M skip=44 count=4 iflag=direct 2>/dev/null | sha256sum > /tmp/h && echo W=done",
          r"^W=done", timeout=BOOT_S[hv.emu])
    written = disk_info(hv, "d")
    pool_before, vm_before = pool_frames(hv), mem_owner_frames(hv, "vm", "lx")
    shell(hv, "lx", "blkdiscard -o 41943040 -l 4194304 /dev/vda && echo B=done", r"^B=done")
    hit = shell(hv, "lx", "Z=$(dd if=/dev/vda bs=1M skip=40 count=4 iflag=direct 2>/dev/null | cmp - /dev/zero 2>&1); "
                "dd if=/dev/vda bs=1M skip=44 count=4 iflag=direct 2>/dev/null | sha256sum > /tmp/h2; "
                "echo D=$(cmp /tmp/h /tmp/h2 && echo same)=Z=${Z}=D", r"^D=(\w*)=Z=(.*)=D", timeout=BOOT_S[hv.emu])
    assert hit.group(1) == "same", hit.group(0)
    assert "EOF on -" in hit.group(2), hit.group(0)  # cmp: the 4 MiB read matched /dev/zero to its end
    after = disk_info(hv, "d")
    assert after["pages"] == written["pages"] - 1024, (written, after)
    # the pool got back what the disk gave up (its pages, and any index table left empty), as the
    # VM's own frames moved meanwhile
    returned = written["frames"] - after["frames"]
    assert returned >= 1024
    assert pool_frames(hv) - pool_before == returned - (mem_owner_frames(hv, "vm", "lx") - vm_before)
    assert mem_owner_frames(hv, "disk", "d") == after["frames"]
    assert after["ioerr"] == 0 and after["unsupp"] == 0, after


@pytest.mark.parametrize("emu", ["qemu"])
def test_swap_on_a_pool_disk_lets_a_process_outgrow_max(hv, emu):
    """MemFlex: swap on hypervisor memory. (QEMU only: swapping 64 MiB through a Bochs Linux takes
    minutes; the disk's device model is the same in both.)"""
    if hv.emu != emu:
        pytest.skip("swap-heavy run in QEMU only: swapping through Bochs takes minutes")
    hv.cmd_ok("disk create sw size=256M")
    boot(hv, "lx", "min=32M max=96M disk=sw cmdline=emhv.swap=vda")
    wait_console(hv, "lx", "^emhv-linux: swap on /dev/vda$", BOOT_S[hv.emu])
    wait_console(hv, "lx", r"^# ", 60)
    # 160 MiB of its own data in a VM of 96 MiB: the kernel must swap, and every byte comes back
    hit = shell(hv, "lx", "memfill 160M 7; grep -E 'MemTotal|SwapTotal' /proc/meminfo | tr -s ' ' | tr '\\n' ' '; "
                "echo X=done", r"^memfill: 160 MiB, 1 passes, (\d+) bytes differ.*\s+MemTotal: (\d+) kB "
                r"SwapTotal: (\d+) kB X=done", timeout=600)
    assert hit.group(1) == "0", hit.group(0)
    assert int(hit.group(2)) < 96 * 1024 and int(hit.group(3)) > 200 * 1024, hit.group(0)
    row = disks(hv)["sw"]
    # what did not fit went out to the disk and came back
    assert row["bytes_written"] >= 64 * MIB and row["bytes_read"] >= 32 * MIB and row["errors"] == 0, row
    assert vm_list(hv)["lx"]["backed"] <= 96 * MIB


@pytest.mark.parametrize("emu", ["qemu"])
def test_a_disk_on_a_far_node_charges_its_latency(hv, emu):
    """Each request on a node's disk waits the node's latency: 200 direct 4 KiB reads at 2 ms each take
    at least 0.4 s of the guest's clock. (QEMU only: the guest's clock there is real time.)"""
    if hv.emu != emu:
        pytest.skip("measured against the guest's clock in QEMU only")
    hv.cmd_ok("mem node add slow size=64M latency=2ms bw=1G")
    hv.cmd_ok("disk create sd size=16M node=slow")
    assert nodes(hv)["slow"]["users"] == 1  # the disk, before any VM
    boot(hv, "lx", "min=32M max=128M disk=sd")
    wait_console(hv, "lx", "^" + READY, BOOT_S[hv.emu])
    wait_console(hv, "lx", r"^# ", 60)
    hit = shell(hv, "lx", "A=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=4k count=200 iflag=direct "
                "2>/dev/null; B=$(cut -d' ' -f1 /proc/uptime); echo U=$A=$B=U", r"^U=([\d.]+)=([\d.]+)=U")
    assert float(hit.group(2)) - float(hit.group(1)) >= 0.4, hit.group(0)
    assert disks(hv)["sd"]["reads"] >= 200
    # the node is in use: it cannot go, and the refusal names the disk
    out = hv.cmd("mem node del slow")
    assert out.startswith("error:") and "disk sd" in out, out
    destroy_all(hv)
    destroy_disks(hv)
    assert "deleted" in hv.cmd_ok("mem node del slow")


def test_disk_commands_refuse_with_one_line_and_take_nothing(hv):
    hv.cmd_ok("mem node add nd size=4M latency=1us bw=1G")
    before = parse_mem(hv.cmd_ok("mem"))
    for bad, why in [("disk create d", "missing arguments"),
                     ("disk create d node=nd", "size=SIZE is required"),
                     ("disk create d size=0", "multiple of 4 KiB"),
                     ("disk create d size=1000", "multiple of 4 KiB"),
                     ("disk create d size=65G", "up to 64 GiB"),
                     ("disk create d/x size=1M", "not a disk name"),
                     ("disk create d size=1M node=nope", "no such node"),
                     ("disk create d size=1M colour=red", "expected size=SIZE or node=NODE"),
                     ("disk info nope", "no disk 'nope'"),
                     ("disk destroy nope", "no disk 'nope'"),
                     ("vm create v image=hello.elf min=4M max=16M disk=nope", "no such disk")]:
        out = hv.cmd(bad)
        assert out.startswith("error:") and why in out and len(out.strip().splitlines()) == 1, (bad, out)
    assert parse_mem(hv.cmd_ok("mem"))["free"] == before["free"]
    hv.cmd_ok("disk create d size=1M")
    assert hv.cmd("disk create d size=1M").startswith("error:")  # the name is taken
    hv.cmd_ok("vm create v image=hello.elf min=4M max=16M disk=d")
    for bad, why in [("vm create w image=hello.elf min=4M max=16M disk=d", "is attached to VM 'v'"),
                     ("disk attach d v", "is attached to VM 'v' already"),
                     ("disk destroy d", "attached to VM 'v'")]:
        out = hv.cmd(bad)
        assert out.startswith("error:") and why in out, (bad, out)
    hv.cmd_ok("vm create w image=hello.elf min=4M max=16M")
    hv.cmd_ok("vm start w")
    hv.cmd_ok("disk create e size=1M")
    out = hv.cmd("disk attach e w")
    assert out.startswith("error:") and "was started" in out, out
    assert disks(hv)["e"]["vm"] == "-"
    # the VM goes, the disk stays (its data with it) and can go to another VM
    assert "destroyed" in hv.cmd_ok("vm destroy v")
    assert disks(hv)["d"]["vm"] == "-"
    hv.cmd_ok("vm create x image=hello.elf min=4M max=16M")
    hv.cmd_ok("disk attach d x")
    assert disks(hv)["d"]["vm"] == "x"
    assert "deleted" in hv.cmd_ok("mem node del nd")
