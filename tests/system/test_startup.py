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
