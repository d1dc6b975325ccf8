"""Boots an emhv image in an emulator and talks to its monitor over the serial port."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import tty

import pexpect
import pexpect.fdpexpect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = "emhv> "
BOOT_TIMEOUT = {"qemu": 120, "bochs": 300}


class MonitorError(AssertionError):
    pass


class Machine:
    """One emulator running one image, its COM1 wired to us.

    QEMU's COM1 connects to a TCP port we listen on (with TCP_NODELAY); Bochs's
    socket mode has no such option (every reply would wait out a delayed ACK),
    so Bochs gets a pty instead.
    """

    def __init__(self, emu, image, mem=1024):
        self.emu = emu
        self.listener = self.sock = None
        self.pty_slave = None
        if emu == "bochs":
            self.fd, self.pty_slave = os.openpty()
            tty.setraw(self.pty_slave)
            serial = "pty:" + os.ttyname(self.pty_slave)
        else:
            self.listener = socket.socket()
            self.listener.bind(("127.0.0.1", 0))
            self.listener.listen(1)
            serial = "tcp:127.0.0.1:%d" % self.listener.getsockname()[1]
        self.errlog = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "scripts/run.sh"), emu, image, "--serial", serial,
             "--mem", str(mem)],
            stdin=subprocess.DEVNULL, stdout=self.errlog, stderr=subprocess.STDOUT,
            start_new_session=True)
        if self.listener:
            self.listener.settimeout(60)
            self.sock, _ = self.listener.accept()
            self.fd = self.sock.fileno()
        self.con = pexpect.fdpexpect.fdspawn(self.fd, encoding="utf-8",
                                             codec_errors="replace", timeout=60)
        self.boot_output = ""

    def wait_prompt(self):
        """Wait for the first prompt; returns everything printed before it."""
        self.con.expect_exact(PROMPT, timeout=BOOT_TIMEOUT[self.emu])
        self.boot_output = self.con.before
        return self.boot_output

    def send_raw(self, data):
        os.write(self.fd, data if isinstance(data, bytes) else data.encode())

    def cmd(self, line, timeout=60):
        """Type a line, wait for the next prompt, return the reply without the echo."""
        self.send_raw(line.encode() + b"\r" if isinstance(line, str) else line + b"\r")
        self.con.expect_exact(PROMPT, timeout=timeout)
        out = self.con.before.replace("\r\n", "\n")
        return out.split("\n", 1)[1] if "\n" in out else ""

    def cmd_ok(self, line, timeout=60):
        out = self.cmd(line, timeout)
        if re.search(r"^error:", out, re.M):
            raise MonitorError(f"{line!r} failed: {out}")
        return out

    def shutdown(self, timeout=120):
        """Ask the hypervisor to power off; returns the emulator's exit status."""
        self.send_raw(b"shutdown\r")
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def close(self):
        """Stop the emulator (its whole process group) and close the serial link; idempotent."""
        # Bochs ignores SIGTERM and outlives run.sh: always end the whole group with SIGKILL.
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.fd < 0:
            return
        if self.sock:
            self.sock.close()
            self.listener.close()
        else:
            os.close(self.fd)
            os.close(self.pty_slave)
        self.fd = -1


def parse_mem(out):
    """Frames per line of 'mem': {'owned': n, 'free': n, 'hypervisor': n, 'vms': n, ...}."""
    vals = {k: int(v) for k, v in re.findall(r"^([a-z ]+):\s+(\d+) frames", out, re.M)}
    for key in ("owned", "free", "hypervisor", "vms", "firmware usable"):
        if key not in vals:
            raise MonitorError(f"'mem' has no {key!r} line: {out}")
    return vals


USABLE_TYPES = {"conventional", "boot code", "boot data", "loader code", "loader data"}


def parse_mem_map(out):
    """Entries of 'mem map' as (start, end, pages, type)."""
    rows = re.findall(r"^0x([0-9a-f]+) 0x([0-9a-f]+)\s+(\d+)\s+(.+?)\s+0x[0-9a-f]+$", out, re.M)
    return [(int(s, 16), int(e, 16), int(p), t) for s, e, p, t in rows]


def parse_size(s):
    """'16M' or '1028K' (as 'vm list' prints them) in bytes."""
    return int(s[:-1]) << (20 if s[-1] == "M" else 10)


def parse_vm_list(out):
    """Rows of 'vm list' by name: {'id', 'state', 'min', 'max', 'backed', 'exits', 'grow4k', 'grow2m'}."""
    vms = {}
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) != 9:
            raise MonitorError(f"odd 'vm list' row: {line!r}")
        vms[f[1]] = {"id": int(f[0]), "state": f[2], "min": parse_size(f[3]), "max": parse_size(f[4]),
                     "backed": parse_size(f[5]), "exits": int(f[6]), "grow4k": int(f[7]),
                     "grow2m": int(f[8])}
    return vms


def parse_vm_info(out):
    """'vm info': {'state': ..., 'reason': ..., 'results': {name: value}}."""
    info = {"results": {}}
    for line in out.splitlines():
        m = re.match(r"^result (\S+) = (-?\d+)$", line)
        if m:
            info["results"][m.group(1)] = int(m.group(2))
            continue
        m = re.match(r"^(state|reason|image):\s+(.*)$", line)
        if m:
            info[m.group(1)] = m.group(2)
    return info
