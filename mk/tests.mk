# mk/tests.mk - the test and benchmark entry points; included by the top Makefile.
#   make test     unit tests, a bounded fuzz run, then the system tests (QEMU and Bochs)
#   make system   only the system tests (SYSTEM_EMULATORS=qemu or bochs for one), the
#                 emulators' suites side by side
#   make bench    benchmarks into $(BUILD)/bench/ (never pass/fail)
SYSTEM_EMULATORS ?= qemu,bochs
TEST_FUZZ_SECONDS ?= 15

.PHONY: test system bench bench-boot bench-growth bench-harvest bench-pipes bench-far bench-linux bench-disk \
	bench-redis bench-linux-harvest bench-linux-pipes

test:
	@scripts/deps.sh build qemu bochs test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@$(MAKE) --no-print-directory system

# One pytest run per emulator, both at once (scripts/system.sh): each emulator keeps one core busy.
system: all
	@BUILD=$(BUILD) PYTHON=$(PYTHON) scripts/system.sh $(SYSTEM_EMULATORS)

bench: all bench-frame bench-boot bench-growth bench-harvest bench-pipes bench-far bench-linux bench-disk bench-redis \
	bench-linux-harvest bench-linux-pipes

# Boot cost: instructions from loader entry to the prompt in Bochs (its TSC
# counts instructions) and wall time to the prompt in QEMU.
bench-boot: all
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_boot.py $(BUILD)/emhv.img $(BUILD)/bench/boot.md

# Memory flowing back: MemLego's harvesting experiment, the speed of giving back, the
# working-set estimate's accuracy; CSV, markdown and PNG plots (matplotlib).
bench-harvest: all
	@scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_harvest.py $(BUILD)/emhv.img $(BUILD)/bench

# Pipes between VMs: MemPipe's table (utilisation and throughput, static and dynamic),
# 64 KiB messages against memcpy, and the cost per message in Bochs; CSV, markdown, PNG.
bench-pipes: all
	@scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_pipes.py $(BUILD)/emhv.img $(BUILD)/bench

# Far memory: measured against configured latency (warp and spin, in Bochs and QEMU) and the
# hypervisor's own cost per far fault; CSV, markdown, PNG.
bench-far: all
	@scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_far.py $(BUILD)/emhv.img $(BUILD)/bench

# Linux guests: Debian's kernel from 'vm start' to /init, elastic over static (Bochs instructions,
# QEMU ticks), its exits by kind, and memtester elastic over static in QEMU.
bench-linux: all
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_linux.py $(BUILD)/emhv.img $(BUILD)/bench

# Growth faults in Bochs: hypervisor instructions per 4 KiB / 2 MiB fault, and
# first-touch time elastic over static as the guest measures it.
bench-growth: all
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_growth.py $(BUILD)/emhv.img $(BUILD)/bench/growth.csv $(BUILD)/bench/growth.md

# Disks on hypervisor memory: MemFlex's Table 2 (sysbench fileio on a pool-backed disk against the
# same on an emulated SSD node) and swap-heavy run time on each, in QEMU; CSV, markdown, PNG.
bench-disk: all
	@scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_disk.py $(BUILD)/emhv-bench.img $(BUILD)/bench

# MemLego's Redis experiment: two Linux VMs on a pool smaller than the sum of their max, Redis loaded
# beyond its share: static with swap on an emulated SSD, elastic without and with harvesting; QEMU.
bench-redis: all
	@scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_redis.py $(BUILD)/emhv-bench.img $(BUILD)/bench

# Harvest speed from Linux: 1 GiB a Linux guest freed back in the pool by free-page reporting and by
# the balloon, in Bochs instructions and QEMU wall time.
bench-linux-harvest: all
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_linux_harvest.py $(BUILD)/emhv.img $(BUILD)/bench

# Pipes between Linux VMs: throughput, round-trip latency and utilisation for 64 B..64 KiB messages,
# static and dynamic, in QEMU; CSV, markdown, PNG.
bench-linux-pipes: all
	@scripts/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(PYTHON) scripts/bench_linux_pipes.py $(BUILD)/emhv.img $(BUILD)/bench
