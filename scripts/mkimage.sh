#!/bin/sh
# Builds the bootable raw disk image: GPT with one FAT32 EFI system partition
# holding \EFI\BOOT\BOOTX64.EFI and \emhv\ (hv.elf, startup.cfg, modules).
# usage: mkimage.sh OUT.img BOOTX64.EFI hv.elf startup.cfg [module...]
set -eu
[ $# -ge 4 ] || { echo "usage: $0 OUT.img BOOTX64.EFI hv.elf startup.cfg [module...]" >&2; exit 2; }
out=$1 efi=$2 core=$3 cfg=$4
shift 4
PATH=$PATH:/usr/sbin:/sbin
for f in "$efi" "$core" "$cfg" "$@"; do
	[ -f "$f" ] || { echo "mkimage: error: $f: no such file" >&2; exit 1; }
done

# A disk of at least 64 MiB, and room for the files with a quarter to spare (FAT32 and its
# tables); the ESP runs from 1 MiB to 1 MiB before the end (room for the backup GPT).
files_kib=$(du -ck -L "$efi" "$core" "$cfg" "$@" | tail -n 1 | cut -f 1)
disk_mib=$(( files_kib * 5 / 4 / 1024 + 8 ))
[ $disk_mib -ge 64 ] || disk_mib=64
part_start=2048
part_sectors=$(( (disk_mib - 2) * 2048 ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

truncate -s ${disk_mib}M "$tmp/disk.img"
printf 'label: gpt\nstart=%s, size=%s, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"\n' \
	$part_start $part_sectors | sfdisk -q "$tmp/disk.img" >/dev/null

truncate -s $(( part_sectors * 512 )) "$tmp/esp.img"
mkfs.fat -F 32 -s 1 -n EMHV "$tmp/esp.img" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/BOOT ::/emhv
mcopy -i "$tmp/esp.img" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$tmp/esp.img" "$core" ::/emhv/hv.elf
mcopy -i "$tmp/esp.img" "$cfg" ::/emhv/startup.cfg
for m in "$@"; do
	mcopy -i "$tmp/esp.img" "$m" "::/emhv/$(basename "$m")"
done
dd if="$tmp/esp.img" of="$tmp/disk.img" bs=512 seek=$part_start conv=notrunc status=none
mv "$tmp/disk.img" "$out"
