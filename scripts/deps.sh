#!/bin/sh
# Makes sure the Debian packages emhv needs are installed: installs what is
# missing when run as root, otherwise prints the exact apt-get line and fails.
# usage: deps.sh [build|qemu|bochs|test|bench|all]...   (default: all)
set -eu
# libelf1, libssl3, zlib1g: what the prebuilt tools of Debian's linux-kbuild (fetched, not
# installed, by mk/linux_pipe.mk) link against when they build the guest's pipe driver.
pkgs_build="build-essential gnu-efi newlib-source mtools dosfstools fdisk acpica-tools libelf1 libssl3 zlib1g"
pkgs_qemu="qemu-system-x86 ovmf"
pkgs_bochs="bochs bochsbios vgabios ovmf"
pkgs_test="libcmocka-dev clang python3-pytest python3-pexpect"
pkgs_bench="python3-matplotlib"

want=""
for group in ${@:-all}; do
	case $group in
	build) want="$want $pkgs_build" ;;
	qemu) want="$want $pkgs_qemu" ;;
	bochs) want="$want $pkgs_bochs" ;;
	test) want="$want $pkgs_test" ;;
	bench) want="$want $pkgs_bench" ;;
	all) want="$want $pkgs_build $pkgs_qemu $pkgs_bochs $pkgs_test" ;;
	*) echo "deps: error: unknown group '$group' (build, qemu, bochs, test, bench, all)" >&2; exit 2 ;;
	esac
done

# The Linux guest (mk/linux.mk) fetches Debian's kernel, its headers, busybox, memtester and libc with
# `apt-get download`: that needs the package lists, which a fresh machine may not have yet.
need_lists=0
case " $want " in *" build-essential "*)
	apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || need_lists=1 ;;
esac

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && [ $need_lists = 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	[ -n "$missing" ] && { echo "deps: missing Debian packages; install them with:" >&2
		echo "  sudo apt-get install -y$missing" >&2; }
	[ $need_lists = 1 ] && echo "deps: no package lists for the Linux guest's packages; run: sudo apt-get update" >&2
	exit 1
fi
if [ -z "$missing" ]; then
	echo "deps: fetching the package lists (the Linux guest's packages come from them)"
	apt-get update -q >/dev/null
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q $missing >/dev/null
