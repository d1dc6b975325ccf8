"""System tests: boot the real image and drive the monitor (QEMU: AMD-V, Bochs: VT-x)."""
import random
import re
import time

import pytest

from machine import USABLE_TYPES, parse_mem, parse_mem_map, parse_uptime, parse_vm_info, parse_vm_list

COMMANDS = ["help", "version", "cpu", "mem", "vm", "pipe", "disk", "stats", "log", "uptime", "shutdown", "reboot"]


def test_version_answers(machine):
    assert re.search(r"^emhv \d+\.\d+\.\d+ \(git \S+\)$", machine.cmd_ok("version"), re.M)


def test_boot_log_reports_each_stage(machine):
    log = machine.cmd_ok("log")
    assert re.search(r"^mm: \d+ frames owned", log, re.M)
    assert re.search(r"^tsc: \d+ Hz", log, re.M)
    assert re.search(r"^boot: loader entry to monitor \d+ TSC ticks", log, re.M)


def test_help_lists_every_command(machine):
    out = machine.cmd_ok("help")
    listed = re.findall(r"^  (\S+)", out, re.M)
    assert listed == COMMANDS
    # commands with subcommands list them, one per entry, every line short enough to read
    for cmd, subs in (("mem", ["map", "check", "verify", "zero-cache", "reclaim", "policy", "node"]),
                      ("vm", ["create", "list", "info", "start", "pause", "resume", "stop", "destroy",
                              "console", "log", "send", "set", "balloon", "far"]),
                      ("pipe", ["create", "list", "info", "destroy"]),
                      ("disk", ["create", "list", "info", "attach", "destroy"]),
                      ("mem node", ["add", "list", "del"])):
        one = machine.cmd_ok("help " + cmd)
        assert re.findall(r"^  %s ([a-z-]+)" % cmd, one, re.M) == subs, one
        assert all(len(line) <= 100 for line in one.splitlines()), one
        assert machine.cmd_ok(f"help {cmd} {subs[1]}").strip().startswith(f"{cmd} {subs[1]}")
    assert all(len(line) <= 100 for line in out.splitlines()), out
    assert machine.cmd("help nosuch").startswith("error: help: unknown command 'nosuch'")
    assert machine.cmd("help vm nosuch").startswith("error: help: unknown command 'vm nosuch'")
    # a subcommand's wrong arguments or an unknown subcommand: one line naming it
    out = machine.cmd("vm info")
    assert out.startswith("error: vm info: missing arguments (usage: vm info VM)") and out.count("\n") == 1, out
    out = machine.cmd("mem frob")
    assert out.startswith("error: mem: unknown subcommand 'frob' (see 'help mem')"), out


def test_cpu_names_the_virtualization_extension(machine):
    out = machine.cmd_ok("cpu")
    if machine.emu == "bochs":
        assert re.search(r"^virtualization: VT-x with EPT$", out, re.M), out
        assert re.search(r"ept: yes; 4-level walk: yes, write-back: yes", out), out
        assert re.search(r"^backend in use: VT-x with EPT$", out, re.M), out
    else:
        assert re.search(r"^virtualization: AMD-V with NPT$", out, re.M), out
        assert re.search(r"svm: revision \d+, \d+ ASIDs", out), out
        assert re.search(r"^backend in use: AMD-V with NPT$", out, re.M), out


def test_mem_accounting_identity_and_ownership(machine):
    out = machine.cmd_ok("mem")
    mem = parse_mem(out)
    assert mem["free"] + mem["hypervisor"] + mem["vms"] == mem["owned"]
    # the VMs' frames (startup.cfg's guest) are exactly their RAM and nested tables
    per_vm = re.findall(r"^vm \d+ \S+\s+(\d+) frames backed, (\d+) frames of nested tables, (\d+) spare, "
                        r"(\d+) page state$", out, re.M)
    assert per_vm, out
    assert mem["vms"] == sum(int(b) + int(t) + int(s) + int(p) for b, t, s, p in per_vm)
    rows = parse_mem_map(machine.cmd_ok("mem map"))
    assert rows, "mem map printed no entries"
    usable = sum(pages for _, _, pages, kind in rows if kind in USABLE_TYPES)
    assert mem["firmware usable"] == usable
    assert abs(mem["owned"] - usable) <= 0.02 * usable, (mem, usable)
    for (s0, e0, _, _), (s1, _, _, _) in zip(rows, rows[1:]):
        assert s0 <= e0 < s1, "memory map entries overlap or are unsorted"


def test_mem_check_writes_verifies_and_returns_everything(machine):
    before = parse_mem(machine.cmd_ok("mem"))
    out = machine.cmd_ok("mem check 3M", timeout=120)
    m = re.search(r"mem check: 3 MiB in (\d+) blocks written and read back: (\d+) bad words", out)
    assert m, out
    assert int(m.group(2)) == 0
    after = parse_mem(machine.cmd_ok("mem"))
    assert after == before


def test_bad_sizes_are_refused(machine):
    before = parse_mem(machine.cmd_ok("mem"))
    for size, reason in [("12Q", "bad size suffix"), ("abc", "not a size"),
                         ("99999999999999999999", "size too large"), ("16384P", "bad size suffix"),
                         ("17179869184G", "size too large"), ("0", "must be between"),
                         ("-1", "not a size"), ("1T", "must be between")]:
        out = machine.cmd(f"mem check {size}")
        assert out.startswith(f"error: mem check: "), (size, out)
        assert reason in out, (size, out)
        assert out.count("\n") == 1, f"more than one line for {size}: {out!r}"
    assert parse_mem(machine.cmd_ok("mem")) == before


def test_unknown_commands_and_arguments(machine):
    assert machine.cmd("frobnicate").startswith("error: unknown command 'frobnicate'")
    assert machine.cmd("version 1").startswith("error: version: too many arguments")
    assert machine.cmd("mem foo").startswith("error: mem: unknown subcommand 'foo'")
    assert machine.cmd('help "unterminated').startswith("error: unterminated")
    assert machine.cmd(" ".join(["w"] * 33)).startswith("error: too many words (at most 32)")
    assert machine.cmd("   ") == ""
    assert machine.cmd("# a comment") == ""
    machine.cmd_ok("version")


def test_over_long_line_is_refused(machine):
    out = machine.cmd("help " + "x" * 300)
    assert out.strip() == "error: line too long (at most 255 characters)"
    ok = "help " + "h" * 250  # 255 bytes: accepted, and help says the command is unknown
    assert machine.cmd(ok).startswith("error: help: unknown command 'hhh")
    machine.cmd_ok("version")


def test_line_editing(machine):
    assert machine.cmd(b"verx\x7fsion") == machine.cmd("version")
    assert machine.cmd(b"garbage\x15version").startswith("emhv ")
    machine.send_raw(b"mem map\x03")
    machine.expect("^C", 30, exact=True)
    machine.expect("emhv> ", 30, exact=True)
    assert "0x" not in machine.con.before, "the cancelled 'mem map' ran"
    assert machine.cmd_ok("version").startswith("emhv ")


def test_random_bytes_each_give_an_error(machine):
    rng = random.Random(20261121)
    # Every byte but line ends and the editing keys (^C, ^U, backspace, DEL),
    # with at least one byte outside printable ASCII, so each line is an error.
    alphabet = [b for b in range(256) if b not in (3, 8, 10, 13, 0x15, 0x7f)]
    errors = 0
    for i in range(1000):
        line = bytearray(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        line.insert(rng.randint(0, len(line)), rng.randint(0x80, 0xff))
        out = machine.cmd(bytes(line), timeout=30)
        assert re.fullmatch(r"error: [^\n]+\n", out), (i, bytes(line), out)
        errors += 1
    assert errors == 1000
    assert machine.cmd_ok("version").startswith("emhv ")


def test_uptime_advances(machine):
    def seconds():
        m = re.search(r"^up (\d+)\.(\d+) s \((\d+) TSC ticks", machine.cmd_ok("uptime"), re.M)
        assert m
        return int(m.group(1)) * 10**6 + int(m.group(2)), int(m.group(3))

    us0, t0 = seconds()
    machine.cmd_ok("mem")
    us1, t1 = seconds()
    assert us1 > us0 and t1 > t0


def test_an_answer_does_not_hold_the_cpu_while_the_uart_sends_it(machine):
    """The console's output drains on the UART's transmit interrupt: a guest that runs while the
    monitor answers loses far less than the answers' time on the wire (10 bits a byte at 115200
    baud: 86.8 us). Bochs's UART sends at its baud rate and its TSC counts instructions, so qsort's
    own clock tells what the answers cost it: the same sort with answers and with few."""
    if machine.emu != "bochs":
        pytest.skip("QEMU's UART takes every byte at once: no answer can hold the CPU there")

    def sort(talk):
        machine.cmd_ok("vm create talk image=qsort.elf min=2M max=16M size=4M")
        machine.cmd_ok("vm start talk")
        sent = 0
        while True:
            out = machine.cmd_ok("vm list")
            sent += len(out) + len("vm list") + 8  # the echo, line ends and the prompt
            if parse_vm_list(out)["talk"]["state"] in ("exited", "stopped"):
                break
            if talk:
                sent += len(machine.cmd_ok("help vm")) + len("help vm") + 8
            else:
                time.sleep(1)
        r = parse_vm_info(machine.cmd_ok("vm info talk"))
        assert r["reason"] == "exited with status 0" and r["results"]["sorted"] == 1, r
        machine.cmd_ok("vm destroy talk")
        return r["results"]["sort_tsc"], sent

    hz = parse_uptime(machine.cmd_ok("uptime"))[1]  # the guest's rate too
    quiet, few = sort(False)
    busy, many = sort(True)
    assert many > few + 20000, (few, many)  # enough answers to tell
    per_byte_us = (busy - quiet) / (many - few) / hz * 1e6
    assert per_byte_us < 86.8 / 4, (quiet, busy, few, many, per_byte_us)
