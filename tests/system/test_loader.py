"""System tests of the UEFI loader: a corrupt hv.elf is refused with a clear message and the
loader returns to the firmware instead of jumping into it."""
import os

import pexpect
import pytest

from conftest import EMULATORS, build_image
from machine import ROOT, Machine


def corrupt_copies(tmp_path):
    good = open(os.path.join(ROOT, "build/hv.elf"), "rb").read()
    truncated = tmp_path / "truncated.elf"
    truncated.write_bytes(good[:200])
    wrong_arch = tmp_path / "wrong-arch.elf"
    wrong_arch.write_bytes(good[:18] + b"\x03\x00" + good[20:])  # e_machine = EM_386
    return [(truncated, "program headers outside the file"), (wrong_arch, "not x86-64")]


@pytest.mark.parametrize("emu", EMULATORS)
def test_corrupt_core_is_refused_and_control_returns_to_firmware(emu, tmp_path):
    for core, reason in corrupt_copies(tmp_path):
        image = build_image(str(tmp_path / "bad.img"), core=str(core))
        m = Machine(emu, image)
        try:
            m.expect("emhv loader: error: corrupt \\emhv\\hv.elf: " + reason, 300, exact=True)
            m.expect("emhv loader: returning to the firmware", 30, exact=True)
            # the firmware carries on; the core never starts
            idx = m.expect(["emhv 0.", "emhv> ", pexpect.TIMEOUT], 3, exact=True)
            assert idx == 2, "the core started from a corrupt hv.elf"
        finally:
            m.close()
