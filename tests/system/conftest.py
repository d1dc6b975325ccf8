"""pytest fixtures: one booted machine per emulator per test module."""
import os
import subprocess

import pytest

from machine import ROOT, Machine

EMULATORS = os.environ.get("EMHV_EMULATORS", "qemu,bochs").split(",")


def image_path():
    return os.path.join(ROOT, os.environ.get("EMHV_IMAGE", "build/emhv.img"))


GUESTS = ["hello", "memtouch", "qsort", "hostile", "isolation", "wss", "volatile", "pipe_send", "pipe_recv",
          "ping", "virtio_check", "balloon_check", "latency", "stride", "kv"]


def build_image(out, startup_cfg=None, core=None):
    """Build a variant of the boot image with another startup.cfg or hv.elf (guests included)."""
    guests = [os.path.join(ROOT, "build/guests/%s.elf" % g) for g in GUESTS]
    subprocess.run([os.path.join(ROOT, "scripts/mkimage.sh"), out,
                    os.path.join(ROOT, "build/BOOTX64.EFI"),
                    core or os.path.join(ROOT, "build/hv.elf"),
                    startup_cfg or os.path.join(ROOT, "startup.cfg")] + guests, check=True)
    return out


def bench_image_path():
    """The benchmark image beside the test image: the same, with the full Linux initramfs (Redis, sysbench)."""
    return os.path.join(os.path.dirname(image_path()), "emhv-bench.img")


def booted(emu, mem=1024, qemu_monitor=False, image=None):
    """A machine booted to the prompt, shut down and closed afterwards (for fixtures);
    qemu_monitor: QEMU's human monitor on Machine.qemu() (QEMU only); image: another than the test image."""
    m = Machine(emu, image or image_path(), mem=mem, qemu_monitor=qemu_monitor)
    try:
        m.wait_prompt()
        yield m
        m.shutdown()
    finally:
        m.close()


def booted_empty(emu, **kw):
    """booted(), once the guest startup.cfg starts at boot has ended and is destroyed (every frame
    recounted before and after): scenarios begin with no VM."""
    from test_vms import destroy_all, vm_list, wait_until  # test_vms imports this file

    for m in booted(emu, **kw):
        wait_until(m, vm_list(m), ("exited", "stopped"), timeout=300)
        destroy_all(m)
        yield m


@pytest.fixture(scope="module", params=EMULATORS)
def machine(request):
    yield from booted(request.param)
