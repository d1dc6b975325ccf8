# mk/fuzz.mk - bounded libFuzzer runs (ASan+UBSan) of the monitor line parser and the ELF64 checker.
#   make fuzz [FUZZ_SECONDS=30]   each target runs FUZZ_SECONDS; a crash fails the make.
# Scratch corpora, crash inputs and binaries all go under $(BUILD)/fuzz/; the repo is never written.

FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_SEED_CC ?= gcc
# UBSan findings must stop the run like ASan ones, or they never fail the make.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. -Iinclude
FUZZ_DIR := $(BUILD)/fuzz

$(FUZZ_DIR)/fuzz_cmdline: tests/fuzz/fuzz_check.h tests/fuzz/fuzz_cmdline.c hv/lineedit.c hv/cmdline.c \
		hv/lineedit.h hv/cmdline.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

$(FUZZ_DIR)/fuzz_elf64: tests/fuzz/fuzz_check.h tests/fuzz/fuzz_elf64.c hv/elf64.c include/emhv/elf64.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# ELF seed: the tiny PIE of the unit tests, linked with linker.ld like hv.elf.
FUZZ_ELF64_SEED := $(FUZZ_DIR)/seeds/elf64/tiny.elf

$(FUZZ_ELF64_SEED): tests/unit/test_elf64.c linker.ld
	@mkdir -p $(@D)
	$(FUZZ_SEED_CC) -DELF64_TINY_SOURCE -std=gnu11 -O2 -ffreestanding -fpie -fno-stack-protector \
		-nostdlib -static-pie -Wl,-T,linker.ld,-z,max-page-size=4096,-z,noexecstack,--build-id=none \
		-o $@ $<

# $(call fuzz_run,NAME,SEED FILES): fresh scratch corpus from the seeds, then a bounded run.
define fuzz_run
	@rm -rf $(FUZZ_DIR)/corpus/$(1) $(FUZZ_DIR)/crashes/$(1)
	@mkdir -p $(FUZZ_DIR)/corpus/$(1) $(FUZZ_DIR)/crashes/$(1)
	@cp $(2) $(FUZZ_DIR)/corpus/$(1)/
	@echo "  FUZZ    $(1) for $(FUZZ_SECONDS)s (crash inputs in $(FUZZ_DIR)/crashes/$(1)/)"
	$(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 \
		-artifact_prefix=$(FUZZ_DIR)/crashes/$(1)/ $(FUZZ_DIR)/corpus/$(1)
endef

.PHONY: fuzz fuzz-cmdline fuzz-elf64

fuzz: fuzz-cmdline fuzz-elf64

fuzz-cmdline: $(FUZZ_DIR)/fuzz_cmdline
	$(call fuzz_run,cmdline,tests/fuzz/corpus/cmdline/*)

fuzz-elf64: $(FUZZ_DIR)/fuzz_elf64 $(FUZZ_ELF64_SEED)
	$(call fuzz_run,elf64,$(FUZZ_ELF64_SEED))
