#!/usr/bin/env python3
"""mkcpio.py -- writes an uncompressed newc cpio initramfs from a file list.

usage: mkcpio.py LIST [LIST...] OUT

The lists are read in order as if they were one (a later list may put files
in a directory an earlier one made, e.g. guests/linux/pipe/initramfs.list
after guests/linux/initramfs.list).  Each LIST uses the format of the kernel's usr/gen_init_cpio (one entry a line,
'#' starts a comment):
    dir   <name> <mode> <uid> <gid>
    file  <name> <location> <mode> <uid> <gid>
    slink <name> <target> <mode> <uid> <gid>
    nod   <name> <mode> <uid> <gid> <c|b> <major> <minor>
Modes are octal.  In <location>, ${VAR} is replaced from the environment and
a shell wildcard must match exactly one file (so a list need not name the
kernel's ABI version).  Every entry's parent directory must be listed before
it (the kernel's unpacker creates none), and no name may appear twice.

The archive is deterministic: entries in list order, inode numbers counted
from 1, mtime 0, and the uid/gid the list gives.  Device nodes need no root,
which is why this exists instead of `find | cpio -o`.
"""
import glob
import os
import stat
import string
import sys

TYPES = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "slink": stat.S_IFLNK, "nod": None}
FIELDS = {"dir": 5, "file": 6, "slink": 6, "nod": 8}


class ListError(Exception):
    pass


def pad4(n):
    return (4 - n % 4) % 4


def newc_entry(ino, name, mode, uid, gid, nlink, data=b"", rdev=(0, 0)):
    """One newc header, name and data, each padded to 4 bytes."""
    name_b = name.encode() + b"\0"
    fields = (ino, mode, uid, gid, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = hdr + name_b + b"\0" * pad4(len(hdr) + len(name_b))
    return out + data + b"\0" * pad4(len(data))


def resolve_location(loc):
    """Expand ${VAR} from the environment, then a wildcard to exactly one file."""
    try:
        path = string.Template(loc).substitute(os.environ)
    except KeyError as e:
        raise ListError(f"'{loc}': environment variable {e} is not set")
    matches = sorted(glob.glob(path))
    if len(matches) != 1:
        raise ListError(f"'{path}': matches {len(matches)} files, want exactly 1")
    return matches[0]


def parse_entry(words):
    """Turns one list line into (name, mode, uid, gid, nlink, data, rdev)."""
    kind = words[0]
    if kind not in TYPES:
        raise ListError(f"unknown entry type '{kind}'")
    if len(words) != FIELDS[kind]:
        raise ListError(f"'{kind}' wants {FIELDS[kind] - 1} fields, got {len(words) - 1}")
    name = words[1].strip("/")
    if not name:
        raise ListError("empty name")
    if kind == "dir":
        mode, uid, gid = words[2:5]
        return name, stat.S_IFDIR | int(mode, 8), int(uid), int(gid), 2, b"", (0, 0)
    if kind == "file":
        src = resolve_location(words[2])
        with open(src, "rb") as f:
            data = f.read()
        mode, uid, gid = words[3:6]
        return name, stat.S_IFREG | int(mode, 8), int(uid), int(gid), 1, data, (0, 0)
    if kind == "slink":
        mode, uid, gid = words[3:6]
        return name, stat.S_IFLNK | int(mode, 8), int(uid), int(gid), 1, words[2].encode(), (0, 0)
    mode, uid, gid, dtype, major, minor = words[2:8]
    if dtype not in ("c", "b"):
        raise ListError(f"device type '{dtype}' is not c or b")
    fmt = stat.S_IFCHR if dtype == "c" else stat.S_IFBLK
    return name, fmt | int(mode, 8), int(uid), int(gid), 1, b"", (int(major), int(minor))


def build(list_paths):
    """Returns the archive for the lists at list_paths, read in order as one."""
    out = []
    seen = {""}  # the root always exists
    dirs = {""}
    for list_path in list_paths:
        with open(list_path) as f:
            for lineno, line in enumerate(f, 1):
                words = line.split("#", 1)[0].split()
                if not words:
                    continue
                try:
                    name, mode, uid, gid, nlink, data, rdev = parse_entry(words)
                    if name in seen:
                        raise ListError(f"'/{name}' listed twice")
                    parent = os.path.dirname(name)
                    if parent not in dirs:
                        raise ListError(f"'/{name}': directory '/{parent}' is not listed before it")
                except (ListError, OSError, ValueError) as e:
                    raise ListError(f"{list_path}:{lineno}: {e}")
                seen.add(name)
                if stat.S_ISDIR(mode):
                    dirs.add(name)
                out.append(newc_entry(len(out) + 1, name, mode, uid, gid, nlink, data, rdev))
    out.append(newc_entry(0, "TRAILER!!!", 0, 0, 0, 1))
    return b"".join(out)


def main(argv):
    if len(argv) < 3:
        print("usage: mkcpio.py LIST [LIST...] OUT", file=sys.stderr)
        return 2
    try:
        archive = build(argv[1:-1])
    except ListError as e:
        print(f"mkcpio: error: {e}", file=sys.stderr)
        return 1
    tmp = argv[-1] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(archive)
    os.replace(tmp, argv[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
