/* qsort.c -- sorts a region of pseudo-random 64-bit keys with newlib's qsort, then checks. */
#include <stdlib.h>
#include "runtime.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL

static const char *const known_args[] = {"size", "seed", NULL};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void checksum(const uint64_t *keys, uint64_t n, uint64_t *sum, uint64_t *x)
{
	uint64_t i;

	*sum = *x = 0;
	for (i = 0; i < n; i++) {
		*sum += keys[i];
		*x ^= keys[i];
	}
}

/* Index of the first key smaller than its predecessor, or n. */
static uint64_t first_unsorted(const uint64_t *keys, uint64_t n)
{
	uint64_t i;

	for (i = 1; i < n; i++)
		if (keys[i] < keys[i - 1])
			return i;
	return n;
}

int main(int argc, char **argv)
{
	uint64_t size, seed, n, i, sum0, xor0, sum1, xor1, t0, t1, bad;
	uint64_t *keys;
	int sorted;
	char sz[32];

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 4 * MIB);
	seed = arg_u64(argc, argv, "seed", 1);
	if (!size || size % 8) {
		printf("error: size=%llu: must be a positive multiple of 8\n",
		       (unsigned long long)size);
		return 2;
	}
	keys = free_region(size);
	n = size / 8;
	for (i = 0; i < n; i++)
		keys[i] = splitmix64(seed + i * GOLDEN);
	checksum(keys, n, &sum0, &xor0);

	t0 = tsc_read();
	qsort(keys, n, sizeof(*keys), cmp_u64);
	t1 = tsc_read();

	bad = first_unsorted(keys, n);
	checksum(keys, n, &sum1, &xor1);
	sorted = bad == n && sum1 == sum0 && xor1 == xor0;
	printf("qsort: %llu keys (%s): sort %llu us, %s\n", (unsigned long long)n,
	       size_str(sz, sizeof(sz), size), (unsigned long long)tsc_to_us(t1 - t0),
	       sorted ? "sorted, sum and xor unchanged" : "FAILED");
	if (bad != n)
		printf("qsort: error: key %llu (0x%llx) is below key %llu (0x%llx)\n",
		       (unsigned long long)bad, (unsigned long long)keys[bad],
		       (unsigned long long)bad - 1, (unsigned long long)keys[bad - 1]);
	if (sum1 != sum0 || xor1 != xor0)
		printf("qsort: error: keys changed: sum 0x%llx -> 0x%llx, xor 0x%llx -> 0x%llx\n",
		       (unsigned long long)sum0, (unsigned long long)sum1, (unsigned long long)xor0,
		       (unsigned long long)xor1);
	hc_result("keys", (int64_t)n);
	hc_result("sorted", sorted);
	hc_result("sort_tsc", (int64_t)(t1 - t0));
	return sorted ? 0 : 1;
}
