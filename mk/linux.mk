# mk/linux.mk -- builds the Linux guest: Debian's cloud kernel and a small initramfs.
#
# Included from the top-level Makefile (or run alone: make -f mk/linux.mk linux).
#   in:  BUILD, Q, PYTHON (defaults below for standalone use)
#   out: LINUX_KERNEL  $(BUILD)/linux/vmlinuz      bzImage of linux-image-cloud-amd64
#        LINUX_INITRD  $(BUILD)/linux/initrd.cpio  uncompressed newc initramfs
#        LINUX_CONFIG  $(BUILD)/linux/config       that kernel's /boot/config-*
#   Targets: linux (all three).
#
# How: `apt-get download` fetches the kernel LINUX_META depends on and
# LINUX_USER_DEBS into $(BUILD)/linux/debs (apt-cache names the kernel's
# versioned package, so no ABI number is written here), `dpkg -x` unpacks
# them under $(BUILD)/linux/root, and guests/linux/mkcpio.py packs
# guests/linux/initramfs.list (busybox, the virtio and pvpanic modules,
# memtester with its libc, guests/linux/init, emhv's static test programs
# from guests/linux/tools) without root.  Stamps keep a
# second make from fetching or unpacking again; `rm -r $(BUILD)/linux` starts
# over.  Needs apt, dpkg, python3 and readelf.

BUILD ?= build
Q ?= @
PYTHON ?= /usr/bin/python3

LINUX_DIR := $(BUILD)/linux
LINUX_KERNEL := $(LINUX_DIR)/vmlinuz
LINUX_INITRD := $(LINUX_DIR)/initrd.cpio
LINUX_CONFIG := $(LINUX_DIR)/config
LINUX_ROOT := $(LINUX_DIR)/root
LINUX_META := linux-image-cloud-amd64
LINUX_USER_DEBS := busybox-static memtester libc6
LINUX_FETCHED := $(LINUX_DIR)/debs.stamp
LINUX_UNPACKED := $(LINUX_DIR)/root.stamp
LINUX_LIST := guests/linux/initramfs.list
LINUX_TOOLS := $(LINUX_DIR)/tools
LINUX_TOOL_PROGS := $(LINUX_TOOLS)/memfill

.PHONY: linux
linux: $(LINUX_KERNEL) $(LINUX_INITRD) $(LINUX_CONFIG)

# The stamp lists the .deb files fetched.  Its rule has no prerequisites, so
# only its absence fetches again.
$(LINUX_FETCHED):
	@echo "  FETCH   $(LINUX_META) $(LINUX_USER_DEBS)"
	$(Q)mkdir -p $(LINUX_DIR)/debs
	$(Q)kpkg=$$(apt-cache depends --important $(LINUX_META) | \
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$$/\1/p' | head -n 1); \
	[ -n "$$kpkg" ] || { echo "$(LINUX_META): apt-cache names no linux-image-<abi> package" \
		"(run apt-get update?)" >&2; exit 1; }; \
	cd $(LINUX_DIR)/debs && rm -f *.deb && apt-get download -q $$kpkg $(LINUX_USER_DEBS)
	$(Q)(cd $(LINUX_DIR)/debs && ls *.deb) > $@

$(LINUX_UNPACKED): $(LINUX_FETCHED)
	@echo "  UNPACK  $(LINUX_ROOT)"
	$(Q)rm -rf $(LINUX_ROOT) && mkdir -p $(LINUX_ROOT)
	$(Q)for deb in $$(cat $<); do dpkg -x $(LINUX_DIR)/debs/$$deb $(LINUX_ROOT) || exit 1; done
	$(Q)touch $@

# vmlinuz and config come from boot/vmlinuz-<abi> and boot/config-<abi>.
$(LINUX_KERNEL) $(LINUX_CONFIG): $(LINUX_DIR)/%: $(LINUX_UNPACKED)
	@echo "  CP      $@"
	$(Q)set -- $(LINUX_ROOT)/boot/$*-*; \
	[ $$# -eq 1 ] && [ -f "$$1" ] || { echo "$@: want one file, found: $$*" >&2; exit 1; }; \
	cp "$$1" $@

# memtester must find its loader and libs where the initramfs list puts them.
define LINUX_MEMTESTER_CHECK
	$(Q)readelf -lW $(LINUX_ROOT)/usr/sbin/memtester | \
		grep -q 'interpreter: /lib64/ld-linux-x86-64.so.2]' \
		|| { echo "memtester: interpreter is not /lib64/ld-linux-x86-64.so.2" >&2; exit 1; }
	$(Q)readelf -dW $(LINUX_ROOT)/usr/sbin/memtester | \
		awk '/\(NEEDED\)/ && $$NF != "[libc.so.6]" { print "memtester needs " $$NF; bad = 1 } \
		END { exit bad }' >&2 || { echo "memtester: needs more than libc.so.6" >&2; exit 1; }
endef

# emhv's own programs for the Linux guest: static, with the host's gcc and glibc (libc6-dev).
$(LINUX_TOOLS)/%: guests/linux/tools/%.c
	@echo "  CC      $@"
	$(Q)mkdir -p $(@D)
	$(Q)gcc -static -O2 -Wall -Wextra -Werror -o $@ $<

$(LINUX_INITRD): $(LINUX_UNPACKED) $(LINUX_LIST) $(LINUX_TOOL_PROGS) guests/linux/init guests/linux/mkcpio.py
	$(LINUX_MEMTESTER_CHECK)
	@echo "  CPIO    $@"
	$(Q)LINUX_ROOT=$(LINUX_ROOT) LINUX_KMOD='$(LINUX_ROOT)/lib/modules/*/kernel' LINUX_TOOLS=$(LINUX_TOOLS) \
		$(PYTHON) guests/linux/mkcpio.py $(LINUX_LIST) $@
