"""Boots an emhv image in an emulator and talks to its monitor over the serial port."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import tty

import pexpect
import pexpect.fdpexpect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = "emhv> "
BOOT_TIMEOUT = {"qemu": 120, "bochs": 300}


class MonitorError(AssertionError):
    pass


class EmulatorDied(AssertionError):
    """The emulator ended (or the hypervisor halted) before the output a test waited for."""


# What the core prints when it halts for good: no prompt can follow.
HALTED = "hypervisor halted"
# How often a wait checks that the emulator still runs.
POLL_S = 0.5
# What QEMU's human monitor prints when it waits for a command.
QEMU_PROMPT = b"(qemu) "


class Machine:
    """One emulator running one image, its COM1 wired to us.

    QEMU's COM1 connects to a TCP port we listen on (with TCP_NODELAY); Bochs's
    socket mode has no such option (every reply would wait out a delayed ACK),
    so Bochs gets a pty instead. With qemu_monitor=True (QEMU only) QEMU's human
    monitor listens on a Unix socket and qemu() talks to it.
    """

    def __init__(self, emu, image, mem=1024, qemu_monitor=False):
        if qemu_monitor and emu != "qemu":
            raise ValueError(f"qemu_monitor: {emu} has no QEMU monitor")
        self.emu = emu
        self.listener = self.sock = None
        self.pty_slave = None
        self.fd = -1
        self.mon_dir = self.mon = None
        self.mon_buf = b""
        extra = []
        if qemu_monitor:
            self.mon_dir = tempfile.TemporaryDirectory(prefix="emhv-mon-")
            extra = ["--qemu-monitor", os.path.join(self.mon_dir.name, "hmp.sock")]
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
             "--mem", str(mem)] + extra,
            stdin=subprocess.DEVNULL, stdout=self.errlog, stderr=subprocess.STDOUT,
            start_new_session=True)
        if self.listener:
            self._accept(60)
        self.con = pexpect.fdpexpect.fdspawn(self.fd, encoding="utf-8",
                                             codec_errors="replace", timeout=60)
        self.boot_output = ""

    def _accept(self, timeout):
        """Wait for QEMU to connect its serial port, failing at once if QEMU has ended."""
        self.listener.settimeout(POLL_S)
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock, _ = self.listener.accept()
                break
            except socket.timeout:
                self._check_alive("connect its serial port")
                if time.monotonic() > end:
                    raise EmulatorDied(f"{self.emu} did not connect its serial port in {timeout} s")
        self.fd = self.sock.fileno()

    def emulator_output(self, lines=15):
        """The last lines the launcher and the emulator printed (exit status, log tail)."""
        self.errlog.seek(0)
        text = self.errlog.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _check_alive(self, waiting_for):
        status = self.proc.poll()
        if status is not None:
            raise EmulatorDied(f"{self.emu} exited with status {status} while waiting to "
                               f"{waiting_for}; its last output:\n{self.emulator_output()}")

    def expect(self, patterns, timeout, exact=False):
        """pexpect's expect (or expect_exact), in short steps that fail at once when the
        emulator has ended or the hypervisor has halted; returns the index matched.
        pexpect.TIMEOUT may be one of the patterns, as with pexpect."""
        pats = patterns if isinstance(patterns, list) else [patterns]
        want_timeout = pexpect.TIMEOUT in pats
        real = [p for p in pats if p is not pexpect.TIMEOUT]
        fn = self.con.expect_exact if exact else self.con.expect
        halted = len(real)
        end = time.monotonic() + timeout
        while True:
            step = max(0.05, min(POLL_S, end - time.monotonic()))
            try:
                i = fn(real + [HALTED], timeout=step)
            except pexpect.TIMEOUT:
                # unmatched output stays in pexpect's buffer for the next step
                self._check_alive(f"see {real!r}")
                if time.monotonic() >= end:
                    if want_timeout:
                        return pats.index(pexpect.TIMEOUT)
                    raise pexpect.TIMEOUT(f"no {real!r} within {timeout} s; last output:\n"
                                          f"{(self.con.before or '')[-2000:]}")
                continue
            except pexpect.EOF:
                # the serial link closed: the emulator is ending
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                self._check_alive(f"see {real!r}")
                raise EmulatorDied(f"{self.emu} closed its serial port while waiting to see {real!r}")
            if i == halted:
                raise EmulatorDied("the hypervisor halted; its report:\n" +
                                   (self.con.before or "")[-3000:] + HALTED)
            return pats.index(real[i])

    def wait_prompt(self):
        """Wait for the first prompt; returns everything printed before it."""
        self.expect(PROMPT, BOOT_TIMEOUT[self.emu], exact=True)
        self.boot_output = self.con.before
        return self.boot_output

    def send_raw(self, data):
        os.write(self.fd, data if isinstance(data, bytes) else data.encode())

    def send_line(self, line):
        """Type a line and Enter."""
        self.send_raw((line.encode() if isinstance(line, str) else line) + b"\r")

    def cmd(self, line, timeout=60):
        """Type a line, wait for the next prompt, return the reply without the echo."""
        self.send_line(line)
        self.expect(PROMPT, timeout, exact=True)
        out = self.con.before.replace("\r\n", "\n")
        return out.split("\n", 1)[1] if "\n" in out else ""

    def cmd_ok(self, line, timeout=60):
        out = self.cmd(line, timeout)
        if re.search(r"^error:", out, re.M):
            raise MonitorError(f"{line!r} failed: {out}")
        return out

    def _mon_read_until(self, marker, timeout, what):
        """Bytes from the QEMU monitor up to and including marker, failing fast if QEMU ends."""
        end = time.monotonic() + timeout
        while marker not in self.mon_buf:
            self._check_alive(what)
            if time.monotonic() >= end:
                raise pexpect.TIMEOUT(f"QEMU monitor: no {marker!r} within {timeout} s while "
                                      f"waiting to {what}; got {self.mon_buf[-500:]!r}")
            try:
                data = self.mon.recv(4096)
            except socket.timeout:
                continue
            if not data:
                self._check_alive(what)
                raise EmulatorDied(f"QEMU closed its monitor socket while waiting to {what}")
            self.mon_buf += data
        i = self.mon_buf.index(marker) + len(marker)
        out, self.mon_buf = self.mon_buf[:i], self.mon_buf[i:]
        return out

    def _mon_connect(self, timeout):
        path = os.path.join(self.mon_dir.name, "hmp.sock")
        end = time.monotonic() + timeout
        while True:
            self._check_alive("open its monitor socket")
            try:
                self.mon = socket.socket(socket.AF_UNIX)
                self.mon.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.mon.close()
                self.mon = None
                if time.monotonic() >= end:
                    raise EmulatorDied(f"QEMU opened no monitor socket at {path} in {timeout} s")
                time.sleep(POLL_S)
        self.mon.settimeout(POLL_S)
        self._mon_read_until(QEMU_PROMPT, timeout, "greet on its monitor")

    def qemu(self, line, timeout=30):
        """Send one line to QEMU's human monitor (Machine(..., qemu_monitor=True));
        returns its reply without the echoed line and the next prompt."""
        if self.mon_dir is None:
            raise MonitorError("qemu(): this machine was started without qemu_monitor=True")
        if self.mon is None:
            self._mon_connect(timeout)
        self.mon.sendall(line.encode() + b"\n")
        out = self._mon_read_until(QEMU_PROMPT, timeout, f"answer {line!r} on its monitor")
        # the monitor echoes what it reads, with terminal escapes (VT100 line editing)
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out.decode(errors="replace"))
        text = text.replace("\r\n", "\n").replace("\r", "")
        text = text[: -len(QEMU_PROMPT)]
        return text.split("\n", 1)[1] if "\n" in text else ""

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
        if self.mon:
            self.mon.close()
            self.mon = None
        if self.mon_dir:
            self.mon_dir.cleanup()
            self.mon_dir = None
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


def parse_uptime(out):
    """'uptime': (TSC ticks since the core started, their rate in Hz)."""
    m = re.search(r"\((\d+) TSC ticks at (\d+) Hz", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def parse_size(s):
    """'16M' or '1028K' (as 'vm list' prints them) in bytes."""
    return int(s[:-1]) << (20 if s[-1] == "M" else 10)


VM_LIST_COLUMNS = {"id": int, "name": str, "state": str, "min": parse_size, "max": parse_size,
                   "backed": parse_size, "wss": parse_size, "idle": parse_size, "released": parse_size,
                   "volatile": parse_size, "zero": parse_size, "harvested": parse_size, "refaults": int,
                   "exits": int, "grow4k": int, "grow2m": int}


def parse_vm_list(out):
    """Rows of 'vm list' by name, each a dict of its columns (named by the header line)."""
    lines = out.splitlines()
    if not lines:
        raise MonitorError("'vm list' printed nothing")
    header = lines[0].split()
    if header != list(VM_LIST_COLUMNS):
        raise MonitorError(f"'vm list' has other columns than expected: {header}")
    vms = {}
    for line in lines[1:]:
        f = line.split()
        if len(f) != len(header):
            raise MonitorError(f"odd 'vm list' row: {line!r}")
        row = {k: VM_LIST_COLUMNS[k](v) for k, v in zip(header, f)}
        vms[row["name"]] = row
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
