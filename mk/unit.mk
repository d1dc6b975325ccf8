# mk/unit.mk - host unit tests (cmocka, ASan/UBSan) and host benchmarks; included by the top Makefile.

HOSTCC ?= gcc
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all -I. -Iinclude
UNIT_LDLIBS := -lcmocka
BENCH_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -I. -Iinclude

UNIT_TESTS += $(BUILD)/unit/test_frame

$(BUILD)/unit/test_frame: tests/unit/test_frame.c mm/frame.c mm/frame.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_zero_cache

$(BUILD)/unit/test_zero_cache: tests/unit/test_zero_cache.c mm/zero_cache.c mm/zero_cache.h mm/frame.c mm/frame.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_npt

$(BUILD)/unit/test_npt: tests/unit/test_npt.c mm/npt.c mm/npt_ept.c mm/npt_npt.c mm/npt.h mm/frame.h \
		mm/ept_bits.h mm/npt_bits.h tests/unit/test_rng.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_cmdline $(BUILD)/unit/test_lineedit $(BUILD)/unit/test_elf64

$(BUILD)/unit/test_cmdline: tests/unit/test_cmdline.c hv/cmdline.c hv/cmdline.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

$(BUILD)/unit/test_lineedit: tests/unit/test_lineedit.c hv/lineedit.c hv/lineedit.h hv/cmdline.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

# test_elf64 also checks a real image: test_elf64.c built with -DELF64_TINY_SOURCE and
# linked with linker.ld like hv.elf (a PIE at 0 with R_X86_64_RELATIVE relocations).
ELF64_TINY := $(BUILD)/unit/elf64_tiny.elf

$(ELF64_TINY): tests/unit/test_elf64.c linker.ld
	@mkdir -p $(@D)
	$(HOSTCC) -DELF64_TINY_SOURCE -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -fpie \
		-fno-stack-protector -nostdlib -static-pie \
		-Wl,-T,linker.ld,-z,max-page-size=4096,-z,noexecstack,--build-id=none -o $@ $<

$(BUILD)/unit/test_elf64: tests/unit/test_elf64.c hv/elf64.c include/emhv/elf64.h $(ELF64_TINY)
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -DELF64_TINY='"$(ELF64_TINY)"' -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_insn_decode

$(BUILD)/unit/test_insn_decode: tests/unit/test_insn_decode.c tests/unit/insn_vectors.S hv/insn_decode.c \
		hv/insn_decode.h tests/unit/test_rng.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c %.S,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_vcpu_event

$(BUILD)/unit/test_vcpu_event: tests/unit/test_vcpu_event.c hv/vcpu_event.c hv/vcpu_event.h arch/x86_64/virt.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_far_link

$(BUILD)/unit/test_far_link: tests/unit/test_far_link.c mm/far_node.h mm/frame.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_reclaim_policy

$(BUILD)/unit/test_reclaim_policy: tests/unit/test_reclaim_policy.c mm/reclaim_policy.c mm/reclaim_policy.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_vlapic

$(BUILD)/unit/test_vlapic: tests/unit/test_vlapic.c drivers/vdev/vlapic.c drivers/vdev/vlapic.h hv/devbus.h \
		include/emhv/x86_msr.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_vioapic

$(BUILD)/unit/test_vioapic: tests/unit/test_vioapic.c drivers/vdev/vioapic.c drivers/vdev/vioapic.h hv/devbus.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_linux_platform

# Linux's platform: the bzImage checks run on Debian's real kernel (mk/linux.mk); the DSDT is iasl's.
$(BUILD)/unit/test_linux_platform: tests/unit/test_linux_platform.c hv/bzimage.c drivers/vdev/vacpi.c \
		drivers/vdev/dsdt.S drivers/vdev/vuart.c drivers/vdev/vpm.c drivers/vdev/vrtc.c drivers/vdev/vrtc.h drivers/vdev/vpit.c drivers/vdev/vpit.h hv/bzimage.h drivers/vdev/vacpi.h \
		include/emhv/acpi.h include/emhv/linux_boot.h $(BUILD)/dsdt.aml $(LINUX_KERNEL)
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -Wa,-I$(BUILD) -DLINUX_KERNEL='"$(LINUX_KERNEL)"' -o $@ \
		$(filter %.c %.S,$^) $(UNIT_LDLIBS)

$(BUILD)/bench/bench_frame: tests/bench/bench_frame.c mm/frame.c mm/frame.h
	@mkdir -p $(@D)
	$(HOSTCC) $(BENCH_CFLAGS) -o $@ $(filter %.c,$^)

.PHONY: unit bench-frame

# Run every host unit test; stop at the first failing one.
unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
		echo "  UNIT    $$t"; \
		$$t; \
	done

# Benchmark (never pass/fail): markdown table to stdout and $(BUILD)/bench/frame.md.
bench-frame: $(BUILD)/bench/bench_frame
	$(BUILD)/bench/bench_frame > $(BUILD)/bench/frame.md.tmp
	@mv $(BUILD)/bench/frame.md.tmp $(BUILD)/bench/frame.md
	@cat $(BUILD)/bench/frame.md

# virtio: split virtqueues and the virtio-mmio transport. Appended after the unit rule, whose
# prerequisites are already expanded: name them for it here too.
UNIT_TESTS += $(BUILD)/unit/test_virtq $(BUILD)/unit/test_virtio_mmio $(BUILD)/unit/test_virtio_blk
unit: $(BUILD)/unit/test_virtq $(BUILD)/unit/test_virtio_mmio $(BUILD)/unit/test_virtio_blk

$(BUILD)/unit/test_virtq: tests/unit/test_virtq.c drivers/virtio/virtq.c drivers/virtio/virtq.h tests/unit/test_rng.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

$(BUILD)/unit/test_virtio_mmio: tests/unit/test_virtio_mmio.c drivers/virtio/virtio_mmio.c drivers/virtio/virtq.c \
		drivers/virtio/virtio_mmio.h drivers/virtio/virtq.h hv/devbus.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

$(BUILD)/unit/test_virtio_blk: tests/unit/test_virtio_blk.c drivers/virtio/virtio_blk.c drivers/virtio/virtio_mmio.c \
		drivers/virtio/virtq.c drivers/virtio/virtio_blk.h drivers/virtio/virtio_mmio.h drivers/virtio/virtq.h \
		include/emhv/virtio_blk.h tests/unit/fake_guest_ram.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

# The far share's eviction policies and remote page map, and a node's shared link.
UNIT_TESTS += $(BUILD)/unit/test_far_queue $(BUILD)/unit/test_far_map
unit: $(BUILD)/unit/test_far_queue $(BUILD)/unit/test_far_map

$(BUILD)/unit/test_far_queue: tests/unit/test_far_queue.c mm/far_queue.c mm/far_queue.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)

$(BUILD)/unit/test_far_map: tests/unit/test_far_map.c mm/far_map.c mm/far_map.h mm/far_node.h mm/frame.h
	@mkdir -p $(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $(filter %.c,$^) $(UNIT_LDLIBS)
