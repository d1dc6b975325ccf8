/* memtouch.c -- stores at a stride through a region, then checks every byte of it. */
#include "runtime.h"

static const char *const known_args[] = {"size", "stride", "seed", NULL};

static uint64_t expected(uint64_t seed, uint64_t off)
{
	return splitmix64(seed ^ off);
}

static void touch(volatile uint64_t *mem, uint64_t size, uint64_t stride, uint64_t seed)
{
	uint64_t off;

	for (off = 0; off < size; off += stride)
		mem[off / 8] = expected(seed, off);
}

/* Non-zero bytes of x. */
static unsigned nonzero_bytes(uint64_t x)
{
	unsigned n = 0;

	for (; x; x >>= 8)
		n += (x & 0xff) != 0;
	return n;
}

/* Bytes that differ from what touch() left: its values at stride offsets, zero elsewhere. */
static uint64_t verify(const volatile uint64_t *mem, uint64_t size, uint64_t stride, uint64_t seed)
{
	uint64_t off, i, end, differ = 0;

	for (off = 0; off < size; off += stride) {
		differ += nonzero_bytes(mem[off / 8] ^ expected(seed, off));
		end = (size - off < stride ? size : off + stride) / 8;
		for (i = off / 8 + 1; i < end; i++)
			differ += nonzero_bytes(mem[i]);
	}
	return differ;
}

int main(int argc, char **argv)
{
	uint64_t size, stride, seed, t0, t1, t2, differ, mib_s;
	volatile uint64_t *mem;
	char sz[32];

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 16 * MIB);
	stride = arg_u64(argc, argv, "stride", 4096);
	seed = arg_u64(argc, argv, "seed", 1);
	if (!size || size % 8) {
		printf("error: size=%llu: must be a positive multiple of 8\n",
		       (unsigned long long)size);
		return 2;
	}
	if (stride < 8 || stride % 8) {
		printf("error: stride=%llu: must be a multiple of 8, at least 8\n",
		       (unsigned long long)stride);
		return 2;
	}
	mem = free_region(size);

	t0 = tsc_read();
	touch(mem, size, stride, seed);
	t1 = tsc_read();
	differ = verify(mem, size, stride, seed);
	t2 = tsc_read();

	mib_s = tsc_rate(size, t1 - t0) / MIB;
	printf("memtouch: %s stride %llu: touch %llu us (%llu MiB/s), verify %llu us, %llu bytes "
	       "differ\n",
	       size_str(sz, sizeof(sz), size), (unsigned long long)stride,
	       (unsigned long long)tsc_to_us(t1 - t0), (unsigned long long)mib_s,
	       (unsigned long long)tsc_to_us(t2 - t1), (unsigned long long)differ);
	hc_result("touch_tsc", (int64_t)(t1 - t0));
	hc_result("touch_mib_s", (int64_t)mib_s);
	hc_result("differ", (int64_t)differ);
	hc_result("bytes", (int64_t)size);
	return differ ? 1 : 0;
}
