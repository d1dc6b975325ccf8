#!/bin/sh
# Boots an emhv disk image: in QEMU (TCG, q35, OVMF; AMD-V with NPT) or in
# Bochs (OVMF; VT-x with EPT). The serial console is the terminal, or a TCP
# connection to HOST:PORT (tests listen there), or with Bochs a pty. The image is copied first, so
# the firmware's writes to the ESP never touch the original. --qemu-monitor puts QEMU's human
# monitor (HMP: e.g. `nmi`) on a Unix socket at PATH; Bochs has no such monitor.
# usage: run.sh qemu|bochs IMAGE [--serial tcp:HOST:PORT|pty:PATH] [--mem MIB] [--cpus N]
#               [--qemu-monitor PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 qemu|bochs IMAGE [--serial tcp:HOST:PORT|pty:PATH] [--mem MIB] [--cpus N] [--qemu-monitor PATH]" >&2; exit 2; }
emu=$1 image=$2
shift 2
serial=stdio mem=1024 cpus=1 monitor=
while [ $# -gt 0 ]; do
	case $1 in
	--serial) serial=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--qemu-monitor) monitor=$2; shift 2 ;;
	*) echo "run: error: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case $monitor in
*[,[:space:]]*) echo "run: error: --qemu-monitor '$monitor': the path may hold no comma or space" >&2; exit 2 ;;
esac
[ -z "$monitor" ] || [ "$emu" = qemu ] \
	|| { echo "run: error: --qemu-monitor: Bochs has no QEMU monitor" >&2; exit 2; }
[ -f "$image" ] || { echo "run: error: $image: no such image (run 'make' first)" >&2; exit 1; }
case $emu in
qemu | bochs) "$here/deps.sh" "$emu" ;;
*) echo "run: error: unknown emulator '$emu' (qemu or bochs)" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp --sparse=always "$image" "$tmp/disk.img"

if [ "$emu" = qemu ]; then
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
	case $serial in
	stdio) ser="-serial mon:stdio" ;;
	tcp:*) ser="-serial $serial,nodelay=on" ;;
	*) echo "run: error: bad --serial '$serial'" >&2; exit 2 ;;
	esac
	mon=
	[ -z "$monitor" ] || mon="-monitor unix:$monitor,server=on,wait=off"
	[ "$serial" = stdio ] && echo "run: QEMU (AMD-V, TCG); quit with Ctrl-A x" >&2
	exec qemu-system-x86_64 -machine q35 -cpu max -smp "$cpus" -m "$mem" -nodefaults -nic none \
		-display none $ser $mon \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,file="$tmp/vars.fd" \
		-drive file="$tmp/disk.img",format=raw,if=virtio
fi

# Bochs: the 2 MiB OVMF.fd is the build that fits its ROM space.
case $serial in
stdio) com="mode=term, dev=$(tty)" ;;
pty:*) com="mode=term, dev=${serial#pty:}" ;;
tcp:*) com="mode=socket-client, dev=${serial#tcp:}" ;;
*) echo "run: error: bad --serial '$serial'" >&2; exit 2 ;;
esac
cat > "$tmp/bochsrc" <<BX
display_library: rfb, options="timeout=0"
memory: guest=$mem, host=$mem
romimage: file=/usr/share/ovmf/OVMF.fd
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=corei7_skylake_x, count=$cpus, ips=50000000, reset_on_triple_fault=0
pci: enabled=1, chipset=i440fx
boot: disk
ata0-master: type=disk, path=$tmp/disk.img, mode=flat
com1: enabled=1, $com
clock: sync=none, time0=946684800
log: $tmp/bochs.log
panic: action=fatal
sound: driver=dummy
BX
printf 'c\nq\n' > "$tmp/cmds"
[ "$serial" = stdio ] && echo "run: Bochs (VT-x); OVMF takes ~20 s; type 'shutdown' to quit" >&2
# A shutdown ends Bochs with a "soft power off" panic and status 1: not an error.
# Bochs ignores SIGTERM: run it in the background so that a TERM to us ends it too.
bochs -q -f "$tmp/bochsrc" -rc "$tmp/cmds" > "$tmp/bochs.out" 2>&1 &
bx=$!
trap 'kill -9 $bx 2>/dev/null; rm -rf "$tmp"; exit 143' INT TERM
status=0
wait $bx || status=$?
if grep -q "soft power off" "$tmp/bochs.log" "$tmp/bochs.out" 2>/dev/null; then
	exit 0
fi
[ "$status" -eq 0 ] || {
	echo "run: Bochs exited with status $status; the end of its output and log:" >&2
	tail -n 5 "$tmp/bochs.out" "$tmp/bochs.log" >&2
}
exit "$status"
