"""emhv pipes under Linux (issue 12 item 4): the guest driver guests/linux/pipe/emhv_pipe.ko and
pipetest (message format of guests/pipe_msg.h). Two Linux VMs exchange small and large messages with
every byte and their order checked, and what the hypervisor counted in the header ('pipe list') agrees
with both ends; a Linux VM talks to the small guests pipe_send and pipe_recv both ways; a write larger
than the pipe's largest record is refused, a sender that wrecks the header gives the Linux receiver
EIO (never an oops) and the monitor a broken pipe, and a Linux sender whose receiver's VM is destroyed
times out in poll() with the pipe half-closed. Every scenario ends with destroy_all ('mem verify',
then every frame back) and no pipe left.

QEMU only: a Linux boot takes Bochs minutes (test_linux.py), and these tests boot one or two per
scenario; the VT-x side of the pipe device is tested in Bochs by test_pipes.py with the small guests."""
import re
import time

import pytest

from conftest import EMULATORS, booted_empty
from test_linux import console, wait_console
from test_pipes import pipes
from test_vms import destroy_all, info, wait_until

DONE = ("exited", "stopped")
KIB = 1 << 10
# /init loads the pipe driver (guests/linux/init)
LINUX = "kernel=vmlinuz initrd=initrd.cpio min=64M max=256M"
READY = "emhv-linux: init ready"
BOOT_S = 240  # two Linux VMs boot on emhv's one CPU in QEMU TCG
DEV = "/dev/emhv-pipe-p"
# the last line pipetest recv prints (its key figures are pipe_recv's)
RECV_LINE = (r"^pipetest recv: (\d+) messages, (\d+) bytes, (\d+) KiB/s; (\d+) bytes differ, "
             r"(\d+) order errors")


@pytest.fixture(scope="module", params=EMULATORS)
def lx(request):
    if request.param != "qemu":
        pytest.skip("QEMU only: each scenario boots one or two Linux VMs, minutes apiece in Bochs; "
                    "test_pipes.py covers the pipe device under VT-x")
    yield from booted_empty(request.param)


@pytest.fixture
def hv(lx):
    yield lx
    destroy_all(lx)
    assert pipes(lx) == {}


def boot_wait(m, names):
    """Wait until each started Linux VM has its shell and the pipe driver loaded."""
    for name in names:
        wait_console(m, name, "^" + READY, BOOT_S)
        wait_console(m, name, r"^# ", 60)


_tags = iter(range(1, 1 << 30))


def run(m, name, line, timeout=300):
    """Run line in the guest's shell; (its exit status, the console up to the status line)."""
    tag = f"R{next(_tags)}"
    m.cmd_ok(f'vm send {name} "{line}; echo {tag} status=$?"')
    hit = wait_console(m, name, rf"^{tag} status=(\d+)", timeout)
    return int(hit.group(1)), hit.string[:hit.start()]


def start(m, name, line):
    """Start line in the guest's shell without waiting; run_end() collects it."""
    tag = f"R{next(_tags)}"
    m.cmd_ok(f'vm send {name} "{line}; echo {tag} status=$?"')
    return tag


def run_end(m, name, tag, timeout=600):
    hit = wait_console(m, name, rf"^{tag} status=(\d+)", timeout)
    return int(hit.group(1)), hit.string[:hit.start()]


def last(pattern, out):
    """The last match of pattern (multi-line) in out."""
    hits = list(re.finditer(pattern, out, re.M))
    assert hits, (pattern, out[-3000:])
    return hits[-1]


def sysfs(m, name, keys):
    """The driver's counts for the end /dev/emhv-pipe-p, from /sys/class/misc."""
    status, out = run(m, name, "cd /sys/class/misc/emhv-pipe-p && for k in " + " ".join(keys) +
                      "; do echo SYS $k=$(cat $k); done; cd /root")
    assert status == 0, out[-2000:]
    return {k: v for k, v in re.findall(r"^SYS (\w+)=(\S*)$", out, re.M)[-len(keys):]}


def recv_figures(out):
    hit = last(RECV_LINE, out)
    return dict(zip(("messages", "bytes", "kib_s", "differ", "order_errors"), map(int, hit.groups())))


# (size, count, timeout_ms): small records through O_NONBLOCK and poll(), and large ones that wrap the
# 1 MiB ring many times (skip records) through blocking read() and write() (timeout 0)
RUNS = [(64, 3000, 120000), (65536, 200, 0)]


def test_two_linux_vms_exchange_messages(hv):
    hv.cmd_ok(f"vm create ltx {LINUX}")
    hv.cmd_ok(f"vm create lrx {LINUX}")
    out = hv.cmd_ok("pipe create p ltx lrx max=1M")
    assert out.strip() == "pipe p: ltx -> lrx, 1 MiB, dynamic region", out
    hv.cmd_ok("vm start lrx")
    hv.cmd_ok("vm start ltx")
    boot_wait(hv, ["lrx", "ltx"])
    # each end as the driver describes it (ioctl), from the device's configuration
    status, out = run(hv, "lrx", f"pipetest info {DEV}")
    assert status == 0 and last(r"^pipetest info: \S+: receive end of pipe 'p', peer VM \d+, region 1048576 "
                                r"bytes, data area 1044480, max record 522232, broken 0$", out), out[-2000:]
    status, out = run(hv, "ltx", f"pipetest info {DEV}")
    assert status == 0 and last(r"^pipetest info: \S+: send end of pipe 'p'", out), out[-2000:]

    total_msgs = total_bytes = 0
    for seed, (size, count, timeout_ms) in enumerate(RUNS, 11):
        rx = start(hv, "lrx", f"pipetest recv {DEV} {size} {count} {seed} {timeout_ms}")
        status, tx_out = run(hv, "ltx", f"pipetest send {DEV} {size} {count} {seed} {timeout_ms}", timeout=900)
        assert status == 0, tx_out[-2000:]
        status, rx_out = run_end(hv, "lrx", rx)
        r = recv_figures(rx_out)
        assert status == 0 and r["messages"] == count and r["bytes"] == count * size, rx_out[-2000:]
        assert r["differ"] == 0 and r["order_errors"] == 0 and r["kib_s"] > 0, r
        print(f"Linux -> Linux, {count} x {size} B: {r['kib_s']} KiB/s "
              f"({last(r'^pipetest send: .*$', tx_out).group(0)})")
        total_msgs += count
        total_bytes += count * size
        # the hypervisor counted every record from the header as it went by
        p = pipes(hv)["p"]
        assert (p["messages"], p["bytes"], p["state"], p["inuse_k"]) == (total_msgs, total_bytes, "open", 0), p

    # both drivers counted the same records; they slept in read() or write() (waits) and were woken by
    # events the other sent
    keys = ("records", "bytes", "broken", "waits", "events", "notifies")
    s_rx, s_tx = sysfs(hv, "lrx", keys), sysfs(hv, "ltx", keys)
    assert (s_rx["records"], s_rx["bytes"], s_rx["broken"]) == (str(total_msgs), str(total_bytes), "0"), s_rx
    assert (s_tx["records"], s_tx["bytes"], s_tx["broken"]) == (str(total_msgs), str(total_bytes), "0"), s_tx
    assert int(s_rx["waits"]) + int(s_tx["waits"]) > 0, (s_rx, s_tx)
    assert int(s_rx["events"]) > 0 and int(s_tx["notifies"]) > 0, (s_rx, s_tx)

    # the region through mmap(): the header emhv wrote, and every byte sent consumed
    status, out = run(hv, "lrx", f"pipetest peek {DEV}")
    hit = last(r"^pipetest peek: magic (0x[0-9a-f]+) version (\d+) size (\d+) data_off (\d+) data_size (\d+) "
               r"head (\d+) tail (\d+) reserve (\d+)$", out)
    assert status == 0 and hit.group(1, 2, 3, 4, 5) == ("0x65706970", "1", "1048576", "4096", "1044480"), out
    head, tail = int(hit.group(6)), int(hit.group(7))
    assert head == tail and head >= total_bytes + 8 * total_msgs, hit.group(0)

    # the driver unloaded and loaded again on both ends (device reset, probe) goes on where it was
    for name in ("lrx", "ltx"):
        status, out = run(hv, name, "rmmod emhv_pipe && insmod /lib/modules/emhv_pipe.ko && ls /dev/emhv-pipe-p")
        assert status == 0, out[-2000:]
    rx = start(hv, "lrx", f"pipetest recv {DEV} 1000 100 21 120000")
    status, out = run(hv, "ltx", f"pipetest send {DEV} 1000 100 21")
    assert status == 0, out[-2000:]
    status, out = run_end(hv, "lrx", rx)
    r = recv_figures(out)
    assert status == 0 and (r["messages"], r["differ"], r["order_errors"]) == (100, 0, 0), out[-2000:]
    total_msgs += 100
    total_bytes += 100 * 1000

    # a message larger than the largest record is refused; nothing reaches the pipe
    status, out = run(hv, "ltx", f"pipetest send {DEV} 522240 1 1")
    assert status == 2 and last(r"^pipetest: \S+: message 0 of 522240 bytes: write: Message too long "
                                r"\(max_record 522232\)$", out), out[-2000:]
    status, out = run(hv, "ltx", f"pipetest send {DEV} 522232 1 1")  # the largest one passes
    assert status == 0, out[-2000:]
    status, out = run(hv, "lrx", f"pipetest recv {DEV} 522232 1 1 60000")
    assert status == 0 and recv_figures(out)["differ"] == 0, out[-2000:]
    p = pipes(hv)["p"]
    assert (p["messages"], p["bytes"]) == (total_msgs + 1, total_bytes + 522232), p
    # the kernels never complained
    for name in ("lrx", "ltx"):
        assert not re.search(r"BUG:|Oops|WARNING:|: broken:", console(hv, name)), console(hv, name)[-3000:]


# the last line pipetest ping prints: round trips, size, median, p1, p99 (ns), bytes differ, order errors
PING_LINE = (r"^pipetest ping: (\d+) round trips of (\d+) bytes: median (\d+) ns, p1 (\d+) ns, p99 (\d+) ns; "
             r"(\d+) bytes differ, (\d+) order errors$")


def test_ping_pong_between_two_linux_vms(hv):
    """pipetest ping sends through p (dynamic), pong echoes each message back through q (static): every
    echo intact and in order, the round trips timed, small ones through poll() and large ones through
    blocking read() and write(). The guests keep the TSC as their clock (emhv's command line says
    tsc=reliable): two VMs on one CPU each miss timer ticks while the other runs, and Linux's
    clocksource watchdog would otherwise fall back to jiffies, whose 4 ms steps make round trips 0 ns."""
    count = 200
    for name in ("lping", "lpong"):
        hv.cmd_ok(f"vm create {name} {LINUX}")
    hv.cmd_ok("pipe create p lping lpong max=1M")
    hv.cmd_ok("pipe create q lpong lping max=1M mode=static")
    hv.cmd_ok("vm start lpong")
    hv.cmd_ok("vm start lping")
    boot_wait(hv, ["lpong", "lping"])
    back = "/dev/emhv-pipe-q"
    for seed, (size, timeout_ms) in enumerate([(64, 120000), (65536, 0)], 31):
        pong = start(hv, "lpong", f"pipetest pong {DEV} {back} {size} {count} {seed} {timeout_ms}")
        status, out = run(hv, "lping", f"pipetest ping {DEV} {back} {size} {count} {seed} {timeout_ms}")
        hit = last(PING_LINE, out)
        n, got_size, median, p1, p99, differ, order = map(int, hit.groups())
        assert status == 0 and (n, got_size, differ, order) == (count, size, 0, 0), out[-2000:]
        assert 0 < p1 <= median <= p99 < 10 ** 10, hit.group(0)
        status, out = run_end(hv, "lpong", pong)
        assert status == 0 and last(rf"^pipetest pong: {count} messages echoed; 0 bytes differ, 0 order errors$",
                                    out), out[-2000:]
        print(f"Linux ping-pong, {count} x {size} B: {hit.group(0)}")
    # every message went out through p and came back through q
    p, q = pipes(hv)["p"], pipes(hv)["q"]
    assert (p["messages"], p["bytes"]) == (q["messages"], q["bytes"]) == (2 * count, count * (64 + 65536)), (p, q)
    # the ends the wrong way round: refused with one line, nothing sent
    status, out = run(hv, "lping", f"pipetest ping {back} {DEV} 64 1 1")
    assert status == 2 and last(rf"^pipetest: {back}: the receive end of pipe 'q', not the send end$", out), \
        out[-2000:]
    assert pipes(hv)["q"]["messages"] == 2 * count


@pytest.mark.parametrize("small", ["pipe_send", "pipe_recv"])
def test_linux_talks_to_a_small_guest(hv, small):
    """The same messages between a Linux VM and the small guest pipe_send or pipe_recv, either way."""
    size, count, seed = 4096, 1000, 5
    linux_sends = small == "pipe_recv"
    hv.cmd_ok(f"vm create lx {LINUX}")
    hv.cmd_ok(f"vm create sg image={small}.elf min=4M max=16M size={size} count={count} seed={seed} "
              "wait=irq timeout_ms=120000")
    hv.cmd_ok("pipe create p lx sg" if linux_sends else "pipe create p sg lx")
    hv.cmd_ok("vm start lx")
    boot_wait(hv, ["lx"])
    if linux_sends:
        hv.cmd_ok("vm start sg")
        status, out = run(hv, "lx", f"pipetest send {DEV} {size} {count} {seed}", timeout=600)
        assert status == 0, out[-2000:]
        wait_until(hv, ["sg"], DONE, timeout=300)
        i = info(hv, "sg")
        r = i["results"]
        assert i["reason"] == "exited with status 0", (i, console(hv, "sg"))
        assert (r["messages"], r["bytes"], r["differ"], r["order_errors"], r["broken"]) == \
            (count, count * size, 0, 0, 0), r
        print(f"Linux -> pipe_recv: {r['kib_s']} KiB/s ({last(r'^pipetest send: .*$', out).group(0)})")
    else:
        rx = start(hv, "lx", f"pipetest recv {DEV} {size} {count} {seed} 120000")
        time.sleep(2)  # pipetest is waiting in poll() (either order works: the pipe holds what comes first)
        hv.cmd_ok("vm start sg")
        status, out = run_end(hv, "lx", rx)
        r = recv_figures(out)
        assert status == 0 and (r["messages"], r["bytes"], r["differ"], r["order_errors"]) == \
            (count, count * size, 0, 0), out[-2000:]
        wait_until(hv, ["sg"], DONE, timeout=300)
        i = info(hv, "sg")
        assert i["reason"] == "exited with status 0" and i["results"]["messages"] == count, i
        print(f"pipe_send -> Linux: {r['kib_s']} KiB/s")
    p = pipes(hv)["p"]
    assert (p["messages"], p["bytes"], p["state"], p["inuse_k"]) == (count, count * size, "open", 0), p


def test_a_hostile_sender_gives_the_linux_receiver_eio(hv):
    """pipe_send hostile=1 sends half its messages, pauses (the Linux receiver takes them all), then
    writes an absurd record, garbage in head and tail and floods the notify queue: the receiver gets
    EIO (status 4) after the good half, and EIO again at once on the next read; the kernel says why,
    and the monitor calls the pipe broken."""
    size, count = 256, 200
    hv.cmd_ok(f"vm create lx {LINUX}")
    hv.cmd_ok(f"vm create sg image=pipe_send.elf min=4M max=16M size={size} count={count} seed=5 "
              "wait=irq timeout_ms=120000 pause_ms=3000 hostile=1")
    hv.cmd_ok("pipe create p sg lx")
    hv.cmd_ok("vm start lx")
    boot_wait(hv, ["lx"])
    rx = start(hv, "lx", f"pipetest recv {DEV} {size} {count} 5 120000")
    hv.cmd_ok("vm start sg")
    status, out = run_end(hv, "lx", rx)
    r = recv_figures(out)
    # poll() says POLLERR or read() fails with EIO, whichever looks first
    assert status == 4 and last(rf"^pipetest: \S+: broken pipe \((poll: 0x8|read: EIO)\) after {count // 2} messages$",
                                out), out[-2000:]
    assert (r["messages"], r["differ"], r["order_errors"]) == (count // 2, 0, 0), r
    wait_until(hv, ["sg"], DONE, timeout=300)
    assert info(hv, "sg")["results"].get("hostile") == 1
    # broken for good: the next reader fails at once, the driver and the kernel log say so
    status, out = run(hv, "lx", f"pipetest recv {DEV} {size} 1 5 5000")
    assert status == 4, out[-2000:]
    status, out = run(hv, "lx", "cat /sys/class/misc/emhv-pipe-p/broken; "
                      "dmesg | grep -c 'emhv_pipe .*: pipe .p.: broken:'")
    assert re.search(r"^1\s+^1$", out, re.M), out[-2000:]
    assert not re.search(r"BUG|Oops|WARNING: CPU", console(hv, "lx")), console(hv, "lx")[-3000:]
    p = pipes(hv)["p"]
    assert p["state"] == "broken" and p["messages"] == count // 2 and p["notifies"] >= 1000, p
    # the shell and the kernel still work
    status, out = run(hv, "lx", "echo alive-$((6*7))")
    assert status == 0 and re.search(r"^alive-42$", out, re.M)


def test_a_linux_sender_outlives_its_receiver(hv):
    """pipe_recv takes 50 messages and ends, and its VM is destroyed: the pipe is half-closed, the
    Linux sender fills the 60 KiB data area and its poll() times out (status 5); nothing breaks."""
    size = 4096
    hv.cmd_ok(f"vm create lx {LINUX}")
    hv.cmd_ok(f"vm create sg image=pipe_recv.elf min=4M max=16M size={size} count=50 seed=3 "
              "wait=irq timeout_ms=120000")
    hv.cmd_ok("pipe create p lx sg max=64K")
    hv.cmd_ok("vm start lx")
    boot_wait(hv, ["lx"])
    hv.cmd_ok("vm start sg")
    tx = start(hv, "lx", f"pipetest send {DEV} {size} 1000 3 5000")
    wait_until(hv, ["sg"], DONE, timeout=300)
    i = info(hv, "sg")
    assert i["reason"] == "exited with status 0" and i["results"]["messages"] == 50, i
    assert "destroyed" in hv.cmd_ok("vm destroy sg")
    p = pipes(hv)["p"]
    assert p["state"] == "half-closed" and re.fullmatch(r"\(vm\d+-gone\)", p["receiver"]), p
    status, out = run_end(hv, "lx", tx)
    hit = last(r"^pipetest: timeout: nothing moved for 5000 ms after (\d+) of 1000 messages$", out)
    assert status == 5, out[-2000:]
    # 50 taken, then what the 61440-byte data area holds of 4104-byte records (fewer by a skip record)
    sent = int(hit.group(1))
    assert 50 + 7 <= sent <= 50 + (64 * KIB - 4096) // 4104, hit.group(0)
    assert 50 <= pipes(hv)["p"]["messages"] <= sent, pipes(hv)["p"]
