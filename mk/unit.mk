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
