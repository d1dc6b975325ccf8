# mk/guests.mk -- builds the test and benchmark guests: static ELF64 files the boot image carries.
#
# Included from the top-level Makefile, after mk/newlib.mk.
#   in:  BUILD, CC, LD, OBJCOPY, WARN, Q, NEWLIB_HV_LIB, NEWLIB_HV_INC, NEWLIB_HV_HEADERS,
#        LIBGCC (used in recipes only, so it may be set after this file)
#   out: GUEST_ELFS   $(BUILD)/guests/<prog>.elf for every program in GUEST_PROGS
#                     (without debug information; <prog>.debug.elf has it)
#   Targets: guests (all of them).
#
# Each guest is guests/<prog>.c linked with every file of guests/runtime/ and
# the hypervisor's SSE-free newlib subset, by guests/guest.ld, at
# EMHV_GUEST_IMAGE_BASE (include/emhv/guest_boot.h).  The strip rule then
# checks what the hypervisor's ELF checker (hv/elf64.c) and the boot protocol
# need: ET_EXEC, only PT_LOAD segments (GNU_STACK allowed), at or above
# 0x100000 with p_paddr == p_vaddr, no relocations, and no SSE register use
# (except in GUEST_SSE_PROGS, whose own inline asm uses x87 and SSE on purpose:
# their C code is still built with -mgeneral-regs-only).

GUEST_PROGS := hello memtouch qsort hostile isolation wss volatile pipe_send pipe_recv ping latency stride kv \
	virtio_check balloon_check irqcheck
GUEST_SSE_PROGS := isolation
GUEST_DIR := $(BUILD)/guests
GUEST_ELFS := $(patsubst %,$(GUEST_DIR)/%.elf,$(GUEST_PROGS))

GUEST_RT_SRCS := $(wildcard guests/runtime/*.c guests/runtime/*.S)
GUEST_RT_OBJS := $(patsubst %,$(GUEST_DIR)/%.o,$(basename $(GUEST_RT_SRCS:guests/%=%))) \
	$(GUEST_DIR)/newlib_glue.o
GUEST_PROG_OBJS := $(patsubst %,$(GUEST_DIR)/%.o,$(GUEST_PROGS))

GUEST_CFLAGS := -std=gnu11 $(WARN) -ffreestanding -fno-pie -fno-pic -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -O2 -g -mcmodel=small \
	$(NEWLIB_HV_INC) -Iinclude -Iguests/runtime -MD -MP
GUEST_LDFLAGS := -static -nostdlib -no-pie -z max-page-size=4096 -z noexecstack \
	-T guests/guest.ld

$(GUEST_RT_OBJS) $(GUEST_PROG_OBJS): | $(NEWLIB_HV_HEADERS)

# newlib's OS stubs (_sbrk, errno) are the hypervisor's own: one copy for both.
$(GUEST_DIR)/newlib_glue.o: hv/newlib_glue.c
	@mkdir -p $(@D)
	@echo "  CC      $< (guests)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_DIR)/%.o: guests/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_DIR)/%.o: guests/%.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -Wa,--noexecstack -c $< -o $@

# readelf -lW rows: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
# (fixed-width lower-case hex, so string comparison orders addresses).
define GUEST_CHECK
	@readelf -hW $@ | grep -q 'Type:[[:space:]]*EXEC' \
		|| { echo "$@: not ET_EXEC" >&2; rm -f $@; exit 1; }
	@readelf -lW $@ | awk '$$1 ~ /^[A-Z_]+$$/ && $$2 ~ /^0x/ { \
		if ($$1 != "LOAD" && $$1 != "GNU_STACK") { print "segment " $$1; bad = 1 } \
		if ($$1 == "LOAD" && (($$3 "") < "0x0000000000100000" || ($$3 "") != ($$4 ""))) { \
			print "LOAD at " $$3 " (paddr " $$4 ")"; bad = 1 } } \
		END { exit bad }' >&2 \
		|| { echo "$@: bad program headers (see above)" >&2; rm -f $@; exit 1; }
	@readelf -rW $@ | grep -q 'R_X86_64' \
		&& { echo "$@: has relocations" >&2; rm -f $@; exit 1; } || true
	$(if $(filter $(notdir $(basename $@)),$(GUEST_SSE_PROGS)),,\
	@objdump -d $@ | grep -qE '%[xyz]mm[0-9]' \
		&& { echo "$@: uses SSE/AVX registers" >&2; rm -f $@; exit 1; } || true)
endef

# <prog>.debug.elf keeps the debug information (for addr2line); the image
# carries <prog>.elf, the same file without it.
$(GUEST_ELFS:.elf=.debug.elf): $(GUEST_DIR)/%.debug.elf: $(GUEST_DIR)/%.o $(GUEST_RT_OBJS) \
		$(NEWLIB_HV_LIB) guests/guest.ld
	@echo "  LD      $@"
	$(Q)$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_RT_OBJS) $< $(NEWLIB_HV_LIB) $(LIBGCC)

$(GUEST_ELFS): $(GUEST_DIR)/%.elf: $(GUEST_DIR)/%.debug.elf
	@echo "  STRIP   $@"
	$(Q)$(OBJCOPY) --strip-debug $< $@
	$(GUEST_CHECK)

.PHONY: guests
guests: $(GUEST_ELFS)

-include $(GUEST_RT_OBJS:.o=.d) $(GUEST_PROG_OBJS:.o=.d)
