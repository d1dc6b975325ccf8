# emhv: one build for the loader, the core, the boot image and the tests.
#   make            build/BOOTX64.EFI, build/hv.elf, build/emhv.img
#   make run        boot the image in QEMU (EMU=bochs: in Bochs), serial on the terminal
#   make test       unit tests, a bounded fuzz run, system tests in QEMU and Bochs
#   make bench      benchmarks into build/bench/
BUILD ?= build
CC := gcc
AR := ar
LD := ld
OBJCOPY := objcopy
EMU ?= qemu
PYTHON ?= /usr/bin/python3
Q := $(if $(V),,@)

.DEFAULT_GOAL := all
.PHONY: all run test unit fuzz system bench clean deps

WARN := -Wall -Wextra -Werror
HV_ARCH_CFLAGS := -ffreestanding -fpie -fvisibility=hidden -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-omit-frame-pointer -O2 -g
include mk/newlib.mk
include mk/guests.mk
include mk/linux.mk
include mk/linux_pipe.mk

# ---- the core: hv.elf ------------------------------------------------------
HV_SRCS := $(wildcard arch/x86_64/*.c arch/x86_64/*.S arch/x86_64/vmx/*.c arch/x86_64/vmx/*.S arch/x86_64/svm/*.c arch/x86_64/svm/*.S \
	drivers/*.c drivers/vdev/*.c drivers/vdev/*.S drivers/virtio/*.c hv/*.c mm/*.c)
HV_OBJS := $(patsubst %,$(BUILD)/hv/%.o,$(basename $(HV_SRCS)))
HV_CFLAGS := -std=gnu11 $(WARN) $(HV_ARCH_CFLAGS) $(NEWLIB_HV_INC) -I. -Iinclude -MD -MP
LIBGCC := $(shell $(CC) -print-libgcc-file-name)

# The git revision is baked into the version string; rebuild when it changes.
GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
GIT_STAMP := $(BUILD)/git-rev
$(shell mkdir -p $(BUILD); [ "$$(cat $(GIT_STAMP) 2>/dev/null)" = "$(GIT_REV)" ] || \
	echo "$(GIT_REV)" > $(GIT_STAMP))
$(BUILD)/hv/hv/cmd_sys.o $(BUILD)/hv/hv/main.o: $(GIT_STAMP)
$(BUILD)/hv/hv/cmd_sys.o $(BUILD)/hv/hv/main.o: HV_CFLAGS += -DEMHV_GIT='"$(GIT_REV)"'

$(HV_OBJS): | $(NEWLIB_HV_HEADERS)

# A Linux VM's DSDT, compiled by iasl (acpica-tools) and included in hv.elf.
$(BUILD)/dsdt.aml: drivers/vdev/dsdt.asl
	@mkdir -p $(@D)
	@echo "  IASL    $<"
	$(Q)iasl -vs -p $(basename $@) $< >$(basename $@).log || { cat $(basename $@).log >&2; exit 1; }
$(BUILD)/hv/drivers/vdev/dsdt.o: $(BUILD)/dsdt.aml
$(BUILD)/hv/drivers/vdev/dsdt.o: HV_CFLAGS += -Wa,-I$(BUILD)

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv.elf: $(HV_OBJS) $(NEWLIB_HV_LIB) linker.ld
	@echo "  LD      $@"
	$(Q)$(LD) -pie --no-dynamic-linker -nostdlib -z text -z max-page-size=4096 -z noexecstack \
		--no-undefined -T linker.ld -o $@ $(HV_OBJS) $(NEWLIB_HV_LIB) $(LIBGCC)
	@! readelf -rW $@ | awk 'NR>3 && /R_X86_64/ && $$3 != "R_X86_64_RELATIVE"' | grep . \
		|| { echo "hv.elf: relocations other than R_X86_64_RELATIVE" >&2; rm -f $@; exit 1; }

# ---- the UEFI loader: BOOTX64.EFI (GNU-EFI) --------------------------------
EFI_INC := /usr/include/efi
EFI_CFLAGS := -std=gnu11 $(WARN) -fpic -ffreestanding -fno-stack-protector -fshort-wchar \
	-mno-red-zone -mgeneral-regs-only -O2 -I$(EFI_INC) -I$(EFI_INC)/x86_64 -Iinclude -MD -MP
BOOT_OBJS := $(BUILD)/boot/loader.o $(BUILD)/boot/elf64.o

$(BUILD)/boot/%.o: boot/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/boot/elf64.o: hv/elf64.c
	@mkdir -p $(@D)
	@echo "  CC      $< (loader)"
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/boot/loader.so: $(BOOT_OBJS)
	@echo "  LD      $@"
	$(Q)$(LD) -nostdlib -znocombreloc -shared -Bsymbolic -T /usr/lib/elf_x86_64_efi.lds \
		/usr/lib/crt0-efi-x86_64.o $^ -o $@ -L/usr/lib -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(BUILD)/boot/loader.so
	@echo "  EFI     $@"
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* \
		-j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

# ---- the boot image --------------------------------------------------------
STARTUP_CFG ?= startup.cfg
IMAGE_MODULES ?=
$(BUILD)/emhv.img: $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(STARTUP_CFG) $(IMAGE_MODULES) \
		$(GUEST_ELFS) $(LINUX_KERNEL) $(LINUX_INITRD) scripts/mkimage.sh
	@echo "  IMAGE   $@"
	$(Q)scripts/mkimage.sh $@ $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(STARTUP_CFG) $(GUEST_ELFS) \
		$(LINUX_KERNEL) $(LINUX_INITRD) $(IMAGE_MODULES)

# The benchmark image: the same with the full Linux initramfs (Redis, sysbench) as one more module.
$(BUILD)/emhv-bench.img: $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(STARTUP_CFG) $(IMAGE_MODULES) \
		$(GUEST_ELFS) $(LINUX_KERNEL) $(LINUX_INITRD) $(LINUX_INITRD_FULL) scripts/mkimage.sh
	@echo "  IMAGE   $@"
	$(Q)scripts/mkimage.sh $@ $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(STARTUP_CFG) $(GUEST_ELFS) \
		$(LINUX_KERNEL) $(LINUX_INITRD) $(LINUX_INITRD_FULL) $(IMAGE_MODULES)

all: $(BUILD)/emhv.img $(BUILD)/emhv-bench.img

# Install what is missing first (as root; otherwise print the apt-get line).
run:
	@scripts/deps.sh build $(EMU)
	@$(MAKE) --no-print-directory all
	scripts/run.sh $(EMU) $(BUILD)/emhv.img

deps:
	scripts/deps.sh

# ---- tests and benchmarks --------------------------------------------------
include mk/unit.mk
include mk/fuzz.mk
include mk/tests.mk

clean:
	rm -rf $(BUILD)

-include $(HV_OBJS:.o=.d) $(BOOT_OBJS:.o=.d)
