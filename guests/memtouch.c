/*
 * memtouch.c -- stores at a stride through a region, then checks every byte of it.
 *
 * Arguments: size=SIZE (16M), stride=N (4096), seed=N (1), order=seq|desc|random,
 *   release=1   after the check, give the whole region back (EMHV_HC_RELEASE),
 *               then check that every byte of it reads zero
 *   hold=SECS   after the check, and again after the release, report `stage`
 *               and wait up to SECS or until a line arrives on the console
 *               ('vm send VM go'): the harness looks at the memory meanwhile
 *
 * Results: touch_tsc, touch_mib_s, differ, bytes, base (the region's
 * guest-physical address); with release=1 released (bytes, or the error) and
 * zero_after (1 if every byte read zero after the release); with hold= stage
 * (1: checked, 2: released, 3: zero check done).
 */
#include <string.h>
#include "runtime.h"

static const char *const known_args[] = {"size",    "stride", "seed", "order",
					 "release", "hold",   NULL};

/* The order in which the stride-sized pieces are first touched. */
enum order { ORDER_SEQ, ORDER_DESC, ORDER_RANDOM };
static const char *const order_names[] = {"seq", "desc", "random"};

static uint64_t expected(uint64_t seed, uint64_t off)
{
	return splitmix64(seed ^ off);
}

static void touch_piece(volatile uint64_t *mem, uint64_t piece, uint64_t stride, uint64_t seed)
{
	uint64_t off = piece * stride;

	mem[off / 8] = expected(seed, off);
}

/*
 * A seeded permutation of [0, 2^bits) without a table: odd multiplications,
 * xor-shifts and additions, each a bijection modulo 2^bits.
 */
static uint64_t permute(uint64_t x, unsigned bits, uint64_t seed)
{
	uint64_t mask = bits < 64 ? (1ULL << bits) - 1 : ~0ULL;
	unsigned shift = (bits + 1) / 2;

	for (int round = 0; round < 3; round++) {
		x = (x * (splitmix64(seed + 2 * round) | 1)) & mask;
		if (shift)
			x ^= x >> shift;
		x = (x + splitmix64(seed + 2 * round + 1)) & mask;
	}
	return x;
}

static void touch(volatile uint64_t *mem, uint64_t size, uint64_t stride, uint64_t seed,
		  enum order order)
{
	uint64_t pieces = (size + stride - 1) / stride, i, p;
	unsigned bits = 0;

	switch (order) {
	case ORDER_SEQ:
		for (p = 0; p < pieces; p++)
			touch_piece(mem, p, stride, seed);
		break;
	case ORDER_DESC:
		for (p = pieces; p-- > 0;)
			touch_piece(mem, p, stride, seed);
		break;
	case ORDER_RANDOM:
		/* walk the permutation of the next power of two, skipping what lies beyond */
		while (bits < 64 && (1ULL << bits) < pieces)
			bits++;
		for (i = 0; i < (1ULL << bits); i++) {
			p = permute(i, bits, seed);
			if (p < pieces)
				touch_piece(mem, p, stride, seed);
		}
		break;
	}
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

/* Bytes of [mem, mem + size) that are not zero. */
static uint64_t nonzero(const volatile uint64_t *mem, uint64_t size)
{
	uint64_t i, n = 0;

	for (i = 0; i < size / 8; i++)
		n += nonzero_bytes(mem[i]);
	return n;
}

/*
 * Report the stage and wait up to secs of TSC time, or until a line ends
 * on the console; other bytes are dropped. The UART is polled about once a
 * millisecond (each look is an exit).
 */
static void hold(uint64_t secs, int stage)
{
	uint64_t khz = boot_params()->tsc_khz, t0 = tsc_read(), last = t0, now;
	int c;

	if (!secs)
		return;
	hc_result("stage", stage);
	while ((now = tsc_read()) - t0 < secs * khz * 1000) {
		if (now - last < khz)
			continue;
		last = now;
		while ((c = uart_trygetc()) >= 0)
			if (c == '\r' || c == '\n')
				return;
	}
}

/* Give the region back, then read it all: 0, or 1 if the release failed or a byte is not zero. */
static int release_and_check(volatile uint64_t *mem, uint64_t size, uint64_t secs)
{
	uint64_t len = align_up(size, 4096), bad;
	int64_t r = hc_release((uint64_t)mem, len);

	hc_result("released", r < 0 ? r : (int64_t)len);
	if (r < 0) {
		printf("memtouch: error: release of %llu bytes at 0x%llx: error %lld\n",
		       (unsigned long long)len, (unsigned long long)(uintptr_t)mem, (long long)r);
		return 1;
	}
	hold(secs, 2);
	bad = nonzero(mem, len);
	printf("memtouch: released %llu bytes; %llu bytes read back non-zero\n",
	       (unsigned long long)len, (unsigned long long)bad);
	hc_result("zero_after", !bad);
	return bad != 0;
}

int main(int argc, char **argv)
{
	uint64_t size, stride, seed, t0, t1, t2, differ, mib_s, release, secs;
	volatile uint64_t *mem;
	const char *order_arg;
	enum order order;
	char sz[32];
	int bad;

	arg_check(argc, argv, known_args);
	size = arg_u64(argc, argv, "size", 16 * MIB);
	stride = arg_u64(argc, argv, "stride", 4096);
	seed = arg_u64(argc, argv, "seed", 1);
	order_arg = arg_str(argc, argv, "order", "seq");
	release = arg_u64(argc, argv, "release", 0);
	secs = arg_u64(argc, argv, "hold", 0);
	for (order = ORDER_SEQ; order <= ORDER_RANDOM; order++)
		if (!strcmp(order_arg, order_names[order]))
			break;
	if (order > ORDER_RANDOM) {
		printf("error: order=%s: seq, desc or random\n", order_arg);
		return 2;
	}
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
	if (release > 1) {
		printf("error: release=%llu: 0 or 1\n", (unsigned long long)release);
		return 2;
	}
	mem = free_region(size);
	hc_result("base", (int64_t)(uintptr_t)mem);

	t0 = tsc_read();
	touch(mem, size, stride, seed, order);
	t1 = tsc_read();
	differ = verify(mem, size, stride, seed);
	t2 = tsc_read();

	mib_s = tsc_rate(size, t1 - t0) / MIB;
	printf("memtouch: %s stride %llu order %s: touch %llu us (%llu MiB/s), verify %llu us, "
	       "%llu bytes differ\n",
	       size_str(sz, sizeof(sz), size), (unsigned long long)stride, order_names[order],
	       (unsigned long long)tsc_to_us(t1 - t0), (unsigned long long)mib_s,
	       (unsigned long long)tsc_to_us(t2 - t1), (unsigned long long)differ);
	hc_result("touch_tsc", (int64_t)(t1 - t0));
	hc_result("touch_mib_s", (int64_t)mib_s);
	hc_result("differ", (int64_t)differ);
	hc_result("bytes", (int64_t)size);
	bad = differ != 0;
	hold(secs, 1);
	if (release)
		bad |= release_and_check(mem, size, secs);
	if (secs)
		hc_result("stage", 3);
	return bad;
}
