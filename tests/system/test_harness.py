"""The harness itself: an emulator that ends before the output a test waits for fails that
test within seconds, with the emulator's exit status and the end of its output, instead of
waiting out a boot timeout."""
import os
import signal
import time

import pytest

from conftest import EMULATORS, image_path
from machine import EmulatorDied, Machine


@pytest.mark.parametrize("emu", EMULATORS)
def test_an_emulator_killed_during_boot_fails_the_wait_at_once(emu):
    m = Machine(emu, image_path())
    try:
        time.sleep(2)
        os.killpg(m.proc.pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(EmulatorDied) as err:
            m.wait_prompt()
        assert time.monotonic() - start < 15
        assert "status -9" in str(err.value) or "closed its serial port" in str(err.value), err.value
    finally:
        m.close()


@pytest.mark.parametrize("emu", EMULATORS)
def test_a_launcher_that_fails_reports_why(emu, tmp_path):
    start = time.monotonic()
    with pytest.raises(EmulatorDied) as err:
        m = Machine(emu, str(tmp_path / "missing.img"))
        try:
            m.wait_prompt()
        finally:
            m.close()
    assert time.monotonic() - start < 15
    assert "exited with status 1" in str(err.value), err.value
    assert "missing.img: no such image" in str(err.value), err.value
