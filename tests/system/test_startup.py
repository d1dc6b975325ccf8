"""System tests of startup.cfg: a bad line is reported with its number and boot completes."""
import re

import pytest

from conftest import EMULATORS, build_image
from machine import Machine


@pytest.mark.parametrize("emu", EMULATORS)
def test_bad_startup_line_is_reported_and_boot_completes(emu, tmp_path):
    cfg = tmp_path / "startup.cfg"
    cfg.write_text("# test script\nversion\nfrobnicate now\n\nmem check 12Q\nhelp uptime\n")
    image = build_image(str(tmp_path / "bad.img"), str(cfg))
    m = Machine(emu, image)
    try:
        boot = m.wait_prompt().replace("\r\n", "\n")
        assert "error: startup.cfg:3: unknown command 'frobnicate'" in boot, boot
        assert re.search(r"^error: startup.cfg:5: mem check: '12Q': bad size suffix", boot, re.M)
        # the lines around the bad ones ran
        assert re.search(r"^emhv \d+\.\d+\.\d+ \(git", boot, re.M)
        assert re.search(r"^  uptime\s+show the time", boot, re.M)
        assert "startup.cfg: done, 2 lines failed" in boot
        # the monitor works and the errors are in the log
        log = m.cmd("log")
        assert "error: startup.cfg:3:" in log
        assert m.cmd_ok("version").startswith("emhv ")
        assert m.shutdown() == 0
    finally:
        m.close()


@pytest.mark.parametrize("emu", EMULATORS)
def test_startup_creates_and_starts_vms(emu, tmp_path):
    cfg = tmp_path / "startup.cfg"
    cfg.write_text("vm create hi image=hello.elf min=4M max=64M\nvm start hi\n"
                   "vm create broken image=hello.elf min=4M\n")
    image = build_image(str(tmp_path / "vms.img"), str(cfg))
    m = Machine(emu, image)
    try:
        boot = m.wait_prompt().replace("\r\n", "\n")
        assert "vm 1 (hi) created: elastic, min 4M, max 64M, backed 4M" in boot, boot
        assert "error: startup.cfg:3: vm create: image=FILE or kernel=FILE, min=SIZE and max=SIZE are required" in boot
        for _ in range(60):
            info = m.cmd_ok("vm info hi")
            if "state:   exited" in info:
                break
        assert "reason:  exited with status 0" in info and "result hello = 1" in info, info
        assert "hello from hi (vm 1)" in m.cmd_ok("vm console hi")
        assert m.shutdown() == 0
    finally:
        m.close()
