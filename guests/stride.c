/*
 * stride.c -- scans an array at a stride: a sequential workload for far
 * memory's prefetch (a stride of 4096 or more touches a new page each step).
 *
 * Arguments: size=SIZE (16M) the array, stride=BYTES (4096, a multiple of 8),
 *   passes=N (3), seed=N (1).
 * It writes one seeded word every stride bytes, then makes `passes` passes
 * reading and checking each of them in order, timing each pass.
 *
 * Results: words (per pass), differ (words not as written, over all passes),
 * pass_ticks (the fastest pass), total_ticks (all passes), tsc_khz.
 */
#include "runtime.h"

static const char *const known_args[] = {"size", "stride", "passes", "seed", NULL};

static uint64_t value(uint64_t seed, uint64_t off)
{
	return splitmix64(seed ^ off);
}

int main(int argc, char **argv)
{
	uint64_t size, stride, passes, seed, differ = 0, best = UINT64_MAX, total = 0;
	volatile uint64_t *mem;

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 16 * MIB);
	stride = arg_u64(argc, argv, "stride", 4096);
	passes = arg_u64(argc, argv, "passes", 3);
	seed = arg_u64(argc, argv, "seed", 1);
	if (!stride || stride % 8 || stride > size || !passes) {
		printf("error: stride=%llu passes=%llu: a stride that is a multiple of 8 up to size, one pass at least\n",
		       (unsigned long long)stride, (unsigned long long)passes);
		return 2;
	}
	mem = free_region(size);
	for (uint64_t off = 0; off < size; off += stride)
		mem[off / 8] = value(seed, off);
	for (uint64_t p = 0; p < passes; p++) {
		uint64_t t0 = tsc_read(), t;

		for (uint64_t off = 0; off < size; off += stride)
			differ += mem[off / 8] != value(seed, off);
		t = tsc_read() - t0;
		total += t;
		if (t < best)
			best = t;
	}
	hc_result("words", (int64_t)((size + stride - 1) / stride));
	hc_result("differ", (int64_t)differ);
	hc_result("pass_ticks", (int64_t)best);
	hc_result("total_ticks", (int64_t)total);
	hc_result("tsc_khz", (int64_t)boot_params()->tsc_khz);
	printf("stride: %llu passes over %llu bytes at %llu: fastest %llu ticks, %llu words differ\n",
	       (unsigned long long)passes, (unsigned long long)size, (unsigned long long)stride,
	       (unsigned long long)best, (unsigned long long)differ);
	return differ ? 1 : 0;
}
