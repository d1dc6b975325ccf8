"""Debian's Redis in a Linux VM on emhv (issue 12, item 5), in QEMU (AMD-V), from the benchmark image
(build/emhv-bench.img, whose initrd-full.cpio holds redis-server, redis-benchmark, redis-cli and
sysbench with the libraries guests/linux/libs.py found they need): redis-benchmark's SET and GET run
against a local server, the keys it wrote are there, kvfill loads keys under redis-benchmark's names,
and sysbench's fileio runs on a pool-backed disk. (QEMU only: a Linux boot with the 34 MiB initramfs
takes Bochs minutes, and the tests of the disk and balloon devices themselves run in both emulators.)"""
import re

import pytest

from conftest import EMULATORS, bench_image_path, booted_empty
from test_linux import BOOT_S, READY, shell, wait_console
from test_vms import destroy_all, free_frames

FULL = "kernel=vmlinuz initrd=initrd-full.cpio"

pytestmark = pytest.mark.skipif("qemu" not in EMULATORS, reason="Redis runs in QEMU only")


@pytest.fixture(scope="module")
def rq():
    yield from booted_empty("qemu", image=bench_image_path())


def test_redis_benchmark_and_sysbench_run_in_a_linux_vm(rq):
    before = free_frames(rq)
    rq.cmd_ok("disk create d size=256M")
    rq.cmd_ok(f"vm create lx {FULL} min=64M max=512M disk=d")
    rq.cmd_ok("vm start lx")
    wait_console(rq, "lx", "^" + READY, BOOT_S["qemu"])
    wait_console(rq, "lx", r"^# ", 60)
    shell(rq, "lx", "redis-server --save '' --appendonly no --daemonize yes >/dev/null; sleep 1; "
          "redis-cli ping | sed 's/^/P=/'", r"^P=PONG")
    hit = shell(rq, "lx", "redis-benchmark -q -n 2000 -r 1000 -t set,get | tr '\\r' '\\n' | grep -E '^(SET|GET):' "
                "| tr '\\n' ' '; echo; echo K=$(redis-cli dbsize)=K",
                r"SET: ([\d.]+) requests per second.*GET: ([\d.]+) requests per second.*\s+K=(\d+)=K", timeout=300)
    assert float(hit.group(1)) > 0 and float(hit.group(2)) > 0, hit.group(0)
    assert 0 < int(hit.group(3)) <= 1000, hit.group(0)  # -r 1000: keys from a space of 1000
    # kvfill (guests/linux/tools) loads keys under redis-benchmark's names through redis-cli --pipe
    hit = shell(rq, "lx", "redis-cli flushall >/dev/null; kvfill 500 3000 | redis-cli --pipe | tr -d '\\r' | "
                "tail -n 1; echo K=$(redis-cli dbsize),$(redis-cli strlen key:000000000499),"
                "$(redis-cli exists key:000000000500)=K",
                r"errors: (\d+), replies: (\d+)\s+^K=(\d+),(\d+),(\d+)=K", timeout=300)
    assert hit.group(1, 2, 3, 4, 5) == ("0", "500", "500", "3000", "0"), hit.group(0)
    # sysbench's file I/O test on a pool-backed disk (ext2 made by busybox, mounted by ext4)
    shell(rq, "lx", "mke2fs -q /dev/vda && mount -t ext4 /dev/vda /mnt && cd /mnt && "
          "sysbench fileio --file-total-size=16M --file-num=4 prepare >/dev/null && echo F=ready", r"^F=ready",
          timeout=300)
    hit = shell(rq, "lx", "sysbench fileio --file-total-size=16M --file-num=4 --file-test-mode=rndwr --time=3 run "
                "| grep -E 'written, MiB/s' | sed 's/^ */W=/'; cd /", r"^W=written, MiB/s:\s+([\d.]+)", timeout=300)
    assert float(hit.group(1)) > 0
    assert re.search(r"^d\s+lx\s", rq.cmd_ok("disk list"), re.M)
    destroy_all(rq)
    assert "destroyed" in rq.cmd_ok("disk destroy d")
    assert free_frames(rq) == before
