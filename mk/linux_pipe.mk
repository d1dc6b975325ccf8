# mk/linux_pipe.mk -- builds the emhv pipe driver for the Linux guest
# (guests/linux/pipe/emhv_pipe.ko) and its test program (pipetest), and puts
# both into the guest's initramfs.
#
# Included from the top-level Makefile after mk/linux.mk (whose LINUX_DIR,
# LINUX_FETCHED, LINUX_LIST and LINUX_INITRD it uses), or run alone:
#   make -f mk/linux.mk -f mk/linux_pipe.mk linux-pipe
#   in:  BUILD, Q (and what mk/linux.mk takes)
#   out: LINUX_PIPE_KO    $(BUILD)/linux/pipe/emhv_pipe.ko
#        LINUX_PIPETEST   $(BUILD)/linux/pipe/pipetest
#   Targets: linux-pipe (both).
#
# How: the kernel headers of exactly the kernel mk/linux.mk fetched (its ABI
# and package version read from the name of the linux-image .deb):
# `apt-get download` of linux-headers-<abi>, linux-headers-<abi minus the
# flavour>-common and linux-kbuild-<major.minor> into
# $(BUILD)/linux/hdr-debs, `dpkg -x` under $(BUILD)/linux/headers, the
# flavour's one-line Makefile pointed at the unpacked common tree instead of
# /usr/src. Kbuild (with the gcc-12 the headers name, as Debian built the
# kernel) writes its objects beside the sources, so they are copied to
# $(BUILD)/linux/pipe/src first. pipetest is static, with the host's gcc and
# glibc. Stamps as in mk/linux.mk; `rm -r $(BUILD)/linux/headers*` starts over.

BUILD ?= build
Q ?= @
LINUX_DIR ?= $(BUILD)/linux

LINUX_PIPE := $(LINUX_DIR)/pipe
LINUX_PIPE_KO := $(LINUX_PIPE)/emhv_pipe.ko
LINUX_PIPETEST := $(LINUX_PIPE)/pipetest
LINUX_PIPE_LIST := guests/linux/pipe/initramfs.list
LINUX_HDR_FETCHED := $(LINUX_DIR)/hdr-debs.stamp
LINUX_HDR_UNPACKED := $(LINUX_DIR)/headers.stamp
LINUX_HDR_ROOT := $(LINUX_DIR)/headers
LINUX_PIPE_DIR := guests/linux/pipe
LINUX_PIPE_KSRCS := $(addprefix $(LINUX_PIPE_DIR)/,emhv_pipe.c emhv_pipe_uapi.h Kbuild)
LINUX_PIPE_KINC := $(LINUX_PIPE_DIR)/kinclude/stdint.h

.PHONY: linux-pipe
linux-pipe: $(LINUX_PIPE_KO) $(LINUX_PIPETEST)

# The kernel's .deb name is linux-image-<abi>_<version>_amd64.deb; the
# headers must be of the same version, the kbuild tools too.
$(LINUX_HDR_FETCHED): $(LINUX_FETCHED)
	@echo "  FETCH   kernel headers"
	$(Q)mkdir -p $(LINUX_DIR)/hdr-debs
	$(Q)set -- $$(sed -n 's/^linux-image-\([0-9][^_]*\)_\([^_]*\)_.*\.deb$$/\1 \2/p' $<); \
	[ $$# -eq 2 ] || { echo "$<: names no linux-image-<abi>_<version> .deb" >&2; exit 1; }; \
	abi=$$1 ver=$$2; base=$$(echo $$abi | sed -n 's/^\([0-9]*\.[0-9]*\.[0-9]*-[0-9]*\)-.*/\1/p'); \
	mm=$$(echo $$abi | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p'); \
	[ -n "$$base" ] && [ -n "$$mm" ] || { echo "kernel ABI '$$abi': not <x.y.z>-<n>-<flavour>" >&2; exit 1; }; \
	cd $(LINUX_DIR)/hdr-debs && rm -f *.deb && apt-get download -q linux-headers-$$abi=$$ver \
		linux-headers-$$base-common=$$ver linux-kbuild-$$mm=$$ver
	$(Q)(cd $(LINUX_DIR)/hdr-debs && ls *.deb) > $@

# The flavour's Makefile is one line, "include /usr/src/linux-headers-<base>-common/Makefile".
$(LINUX_HDR_UNPACKED): $(LINUX_HDR_FETCHED)
	@echo "  UNPACK  $(LINUX_HDR_ROOT)"
	$(Q)rm -rf $(LINUX_HDR_ROOT) && mkdir -p $(LINUX_HDR_ROOT)
	$(Q)for deb in $$(cat $<); do dpkg -x $(LINUX_DIR)/hdr-debs/$$deb $(LINUX_HDR_ROOT) || exit 1; done
	$(Q)set -- $(LINUX_HDR_ROOT)/usr/src/linux-headers-*/Module.symvers; \
	[ $$# -eq 1 ] && [ -f "$$1" ] || { echo "$(LINUX_HDR_ROOT): want one flavour's headers, found: $$*" >&2; exit 1; }; \
	sed -i 's|^include /usr/src/|include $(abspath $(LINUX_HDR_ROOT))/usr/src/|' $${1%/Module.symvers}/Makefile
	$(Q)touch $@

$(LINUX_PIPE_KO): $(LINUX_HDR_UNPACKED) $(LINUX_PIPE_KSRCS) $(LINUX_PIPE_KINC) include/emhv/pipe.h
	@echo "  KMOD    $@"
	$(Q)rm -rf $(LINUX_PIPE)/src && mkdir -p $(LINUX_PIPE)/src/kinclude
	$(Q)cp $(LINUX_PIPE_KSRCS) $(LINUX_PIPE)/src/ && cp $(LINUX_PIPE_KINC) $(LINUX_PIPE)/src/kinclude/
	$(Q)set -- $(abspath $(LINUX_HDR_ROOT))/usr/src/linux-headers-*/Module.symvers; \
	$(MAKE) --no-print-directory -s -C $${1%/Module.symvers} M=$(abspath $(LINUX_PIPE)/src) \
		EMHV_INCLUDE=$(abspath include) W=1 modules
	$(Q)cp $(LINUX_PIPE)/src/emhv_pipe.ko $@

$(LINUX_PIPETEST): $(LINUX_PIPE_DIR)/pipetest.c $(LINUX_PIPE_DIR)/emhv_pipe_uapi.h guests/pipe_msg.h \
		include/emhv/pipe.h
	@echo "  CC      $@"
	$(Q)mkdir -p $(@D)
	$(Q)gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror -Iguests -Iguests/runtime -Iinclude \
		-I$(LINUX_PIPE_DIR) -o $@ $<

# Into the initramfs: the second list, its files, and where it finds them.
LINUX_LIST += $(LINUX_PIPE_LIST)
$(LINUX_INITRD) $(LINUX_INITRD_FULL): $(LINUX_PIPE_LIST) $(LINUX_PIPE_KO) $(LINUX_PIPETEST)
$(LINUX_INITRD) $(LINUX_INITRD_FULL): export LINUX_PIPE := $(LINUX_PIPE)
