# mk/linux.mk -- builds the Linux guest: Debian's cloud kernel and a small initramfs.
#
# Included from the top-level Makefile (or run alone: make -f mk/linux.mk linux).
#   in:  BUILD, Q, PYTHON (defaults below for standalone use)
#   out: LINUX_KERNEL  $(BUILD)/linux/vmlinuz      bzImage of linux-image-cloud-amd64
#        LINUX_INITRD  $(BUILD)/linux/initrd.cpio  uncompressed newc initramfs
#        LINUX_INITRD_FULL  $(BUILD)/linux/initrd-full.cpio  the same with Redis and sysbench
#                      and their libraries (~30 MiB more: every file of the boot image is
#                      loaded at boot, so it goes on the benchmark image only)
#        LINUX_CONFIG  $(BUILD)/linux/config       that kernel's /boot/config-*
#   Targets: linux (the first three), linux-full (initrd-full.cpio).
#
# How: `apt-get download` fetches the kernel LINUX_META depends on and
# LINUX_USER_DEBS into $(BUILD)/linux/debs (apt-cache names the kernel's
# versioned package, so no ABI number is written here), `dpkg -x` unpacks
# them under $(BUILD)/linux/root, and guests/linux/mkcpio.py packs
# guests/linux/initramfs.list (busybox, the virtio and pvpanic modules,
# memtester, Redis and sysbench with the libraries guests/linux/libs.py finds
# they need, guests/linux/init, emhv's static test programs from
# guests/linux/tools) without root.  Stamps keep a
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
# The programs (busybox, memtester, Redis, sysbench) and the packages of every library they need
# (guests/linux/libs.py checks the closure and names any library missing here).
LINUX_PROG_DEBS := busybox-static memtester redis-tools sysbench
LINUX_LIB_DEBS := libc6 libgcc-s1 libstdc++6 libatomic1 libjemalloc2 liblzf1 libssl3 libsystemd0 libcap2 \
	libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1 zlib1g libaio1 libluajit-5.1-2 libmariadb3 libpq5 \
	libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1 libldap-2.5-0 \
	libsasl2-2 libgnutls30 libp11-kit0 libffi8 libidn2-0 libunistring2 libtasn1-6 libnettle8 libhogweed6 \
	libgmp10
LINUX_USER_DEBS := $(LINUX_PROG_DEBS) $(LINUX_LIB_DEBS)
# Dynamic programs of the initramfs (paths in LINUX_ROOT): their libraries go in by libs.py.
LINUX_DYN_PROGS := usr/sbin/memtester
LINUX_FULL_PROGS := $(LINUX_DYN_PROGS) usr/bin/redis-check-rdb usr/bin/redis-benchmark usr/bin/redis-cli \
	usr/bin/sysbench
LINUX_INITRD_FULL := $(LINUX_DIR)/initrd-full.cpio
LINUX_FETCHED := $(LINUX_DIR)/debs.stamp
LINUX_UNPACKED := $(LINUX_DIR)/root.stamp
LINUX_LIST := guests/linux/initramfs.list
LINUX_TOOLS := $(LINUX_DIR)/tools
LINUX_TOOL_PROGS := $(LINUX_TOOLS)/memfill $(LINUX_TOOLS)/kvfill

.PHONY: linux linux-full
linux: $(LINUX_KERNEL) $(LINUX_INITRD) $(LINUX_CONFIG)
linux-full: $(LINUX_INITRD_FULL)

# The stamp lists the .deb files fetched.  It is made again when the packages
# asked for change: debs.want holds their names, rewritten only when they differ.
LINUX_WANT := $(LINUX_DIR)/debs.want
LINUX_WANT_TEXT := $(LINUX_META) $(LINUX_USER_DEBS)
$(shell mkdir -p $(LINUX_DIR) && { echo '$(LINUX_WANT_TEXT)' | cmp -s - $(LINUX_WANT) || \
	echo '$(LINUX_WANT_TEXT)' > $(LINUX_WANT); })

$(LINUX_FETCHED): $(LINUX_WANT)
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

# The libraries of the dynamic programs, as initramfs list lines: the small initramfs's and the full one's.
$(LINUX_DIR)/libs.list: $(LINUX_UNPACKED) guests/linux/libs.py mk/linux.mk
	@echo "  LIBS    $@"
	$(Q)$(PYTHON) guests/linux/libs.py $(LINUX_ROOT) $@ $(LINUX_DYN_PROGS)

$(LINUX_DIR)/libs-full.list: $(LINUX_UNPACKED) guests/linux/libs.py mk/linux.mk
	@echo "  LIBS    $@"
	$(Q)$(PYTHON) guests/linux/libs.py $(LINUX_ROOT) $@ $(LINUX_FULL_PROGS)

# emhv's own programs for the Linux guest: static, with the host's gcc and glibc (libc6-dev).
$(LINUX_TOOLS)/%: guests/linux/tools/%.c
	@echo "  CC      $@"
	$(Q)mkdir -p $(@D)
	$(Q)gcc -static -O2 -Wall -Wextra -Werror -o $@ $<

LINUX_CPIO_ENV = LINUX_ROOT=$(LINUX_ROOT) LINUX_KMOD='$(LINUX_ROOT)/lib/modules/*/kernel' LINUX_TOOLS=$(LINUX_TOOLS)

$(LINUX_INITRD): $(LINUX_UNPACKED) $(LINUX_LIST) $(LINUX_DIR)/libs.list $(LINUX_TOOL_PROGS) guests/linux/init \
		guests/linux/mkcpio.py
	@echo "  CPIO    $@"
	$(Q)$(LINUX_CPIO_ENV) $(PYTHON) guests/linux/mkcpio.py $(LINUX_LIST) $(LINUX_DIR)/libs.list $@

$(LINUX_INITRD_FULL): $(LINUX_UNPACKED) $(LINUX_LIST) guests/linux/initramfs-full.list $(LINUX_DIR)/libs-full.list \
		$(LINUX_TOOL_PROGS) guests/linux/init guests/linux/mkcpio.py
	@echo "  CPIO    $@"
	$(Q)$(LINUX_CPIO_ENV) $(PYTHON) guests/linux/mkcpio.py $(LINUX_LIST) guests/linux/initramfs-full.list \
		$(LINUX_DIR)/libs-full.list $@
