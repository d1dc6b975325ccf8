/* Unit tests (cmocka) for the buddy frame allocator, mm/frame.c, on fake physical addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mm/frame.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define FR(n) ((n) * FRAME_SIZE)

static void *meta_buf;

/* (Re)initialize the allocator over [lo, hi) with a fresh heap metadata buffer. */
static void span_init(paddr_t lo, paddr_t hi)
{
	size_t n = frame_meta_bytes(lo, hi);

	assert_true(n > 0);
	free(meta_buf);
	meta_buf = malloc(n);
	assert_non_null(meta_buf);
	assert_int_equal(frame_init(lo, hi, meta_buf, n), 0);
	assert_int_equal(frame_check(), 0);
}

static int group_teardown(void **state)
{
	(void)state;
	free(meta_buf);
	meta_buf = NULL;
	return 0;
}

#include "test_rng.h"

/* Order biased to small: half are 0, then each next order half as likely. */
static unsigned rnd_order(unsigned max)
{
	unsigned o = 0;

	while (o < max && (rnd() & 1))
		o++;
	return o;
}

/* ---- snapshots: every counter the API exposes ---- */

struct snap {
	struct frame_stats st;
	uint64_t own[FRAME_MAX_OWNERS];
};

static void take_snap(struct snap *s)
{
	unsigned k;

	frame_get_stats(&s->st);
	for (k = 0; k < FRAME_MAX_OWNERS; k++)
		s->own[k] = frame_owner_frames(k);
}

static void assert_stats_eq(const struct frame_stats *a, const struct frame_stats *b)
{
	unsigned k;

	assert_int_equal(a->owned, b->owned);
	assert_int_equal(a->free, b->free);
	assert_int_equal(a->hv, b->hv);
	assert_int_equal(a->vms, b->vms);
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		assert_int_equal(a->free_blocks[k], b->free_blocks[k]);
	assert_int_equal(a->largest_free_order, b->largest_free_order);
}

static void assert_snap_eq(const struct snap *a, const struct snap *b)
{
	unsigned k;

	assert_stats_eq(&a->st, &b->st);
	for (k = 0; k < FRAME_MAX_OWNERS; k++)
		assert_int_equal(a->own[k], b->own[k]);
}

/* The identity, through the public counters only. */
static void assert_identity(void)
{
	struct frame_stats st;
	uint64_t sum = 0, blocks = 0;
	unsigned k;

	frame_get_stats(&st);
	for (k = 0; k < FRAME_MAX_OWNERS; k++)
		sum += frame_owner_frames(k);
	assert_int_equal(st.free + sum, st.owned);
	assert_int_equal(st.hv + st.vms, sum);
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		blocks += st.free_blocks[k] << k;
	assert_int_equal(blocks, st.free);
	assert_int_equal(frame_check(), 0);
}

/* Independent maximal decomposition of one isolated range into aligned blocks. */
static void expect_blocks(paddr_t start, paddr_t end, uint64_t *cnt)
{
	uint64_t pfn = start / FRAME_SIZE, last = end / FRAME_SIZE;

	while (pfn < last) {
		unsigned o = FRAME_MAX_ORDER;

		while ((pfn % (1ULL << o)) || pfn + (1ULL << o) > last)
			o--;
		cnt[o]++;
		pfn += 1ULL << o;
	}
}

struct blk {
	paddr_t pa;
	unsigned order;
	unsigned owner;
};

static void shuffle(struct blk *b, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rnd_below(i);
		struct blk t = b[i - 1];

		b[i - 1] = b[j];
		b[j] = t;
	}
}

static int overlaps(const struct blk *a, const struct blk *b)
{
	paddr_t ae = a->pa + (FRAME_SIZE << a->order);
	paddr_t be = b->pa + (FRAME_SIZE << b->order);

	return a->pa < be && b->pa < ae;
}

/* ---- tests ---- */

/* Runs first: nothing works before frame_init(). */
/*
 * frame_check() recounts from the metadata alone: a flipped bit in a block's state, order or owner,
 * or in a free block's list links, is reported (what 'mem verify' relies on), and the allocator is
 * whole again once the entry is restored.
 */
static void test_check_finds_corruption(void **state)
{
	const paddr_t lo = 16 * MIB;
	uint64_t *meta, saved;
	paddr_t a, f;
	size_t ia, iff;
	unsigned bit;

	(void)state;
	span_init(lo, lo + 4 * MIB);
	assert_int_equal(frame_add_free(lo, lo + 4 * MIB), 0);
	meta = meta_buf;
	a = frame_alloc(0, 3);
	f = frame_alloc(1, 4);
	assert_int_not_equal(a, FRAME_NONE);
	assert_int_not_equal(f, FRAME_NONE);
	assert_int_equal(frame_free(f, 1, 4), 0); /* f: the head of a free block, on a list */
	ia = (a - lo) / FRAME_SIZE;
	iff = (f - lo) / FRAME_SIZE;
	assert_int_equal(frame_check(), 0);
	for (bit = 0; bit < 16; bit++) {
		if (bit == 7)
			continue; /* reserved */
		saved = meta[ia];
		meta[ia] ^= 1ULL << bit; /* state (0-1), order (2-6), owner (8-15) */
		assert_int_not_equal(frame_check(), 0);
		meta[ia] = saved;
		assert_int_equal(frame_check(), 0);
	}
	for (bit = 8; bit < 64; bit += 7) { /* the next (8-35) and prev (36-63) links */
		saved = meta[iff];
		meta[iff] ^= 1ULL << bit;
		assert_int_not_equal(frame_check(), 0);
		meta[iff] = saved;
	}
	assert_int_equal(frame_check(), 0);
	assert_int_equal(frame_free(a, 0, 3), 0);
	assert_int_equal(frame_check(), 0);
}

static void test_uninitialized(void **state)
{
	struct frame_stats st;

	(void)state;
	assert_int_equal(frame_check(), -FRAME_ENOINIT);
	assert_int_equal(frame_alloc(0, 0), FRAME_NONE);
	assert_int_equal(frame_free(0x1000, 0, 0), -FRAME_ENOINIT);
	assert_int_equal(frame_add_free(0x1000, 0x2000), -FRAME_ENOINIT);
	assert_int_equal(frame_reserve(0x1000, 0x2000, 0), -FRAME_ENOINIT);
	frame_get_stats(&st);
	assert_int_equal(st.owned, 0);
	assert_int_equal(st.largest_free_order, -1);
}

static void test_meta_and_init(void **state)
{
	static uint64_t small[16];
	paddr_t lo = 0x100000000ULL;

	(void)state;
	assert_int_equal(frame_meta_bytes(lo, lo + 4 * GIB), (4 * GIB / FRAME_SIZE) * 8);
	assert_int_equal(frame_meta_bytes(lo, lo + FRAME_SIZE), 8);
	assert_int_equal(frame_meta_bytes(lo, lo), 0);
	assert_int_equal(frame_meta_bytes(lo + 1, lo + FRAME_SIZE), 0);
	assert_int_equal(frame_meta_bytes(lo, lo + 2048 * GIB), 0);

	assert_int_equal(frame_init(lo + 8, lo + FR(16), small, sizeof(small)), -FRAME_EALIGN);
	assert_int_equal(frame_init(lo, lo, small, sizeof(small)), -FRAME_EINVAL);
	assert_int_equal(frame_init(lo + FR(1), lo, small, sizeof(small)), -FRAME_EINVAL);
	assert_int_equal(frame_init(lo, lo + FR(16), NULL, sizeof(small)), -FRAME_EINVAL);
	assert_int_equal(frame_init(lo, lo + FR(15), (char *)small + 4, 120), -FRAME_EINVAL);
	assert_int_equal(frame_init(lo, lo + FR(17), small, sizeof(small)), -FRAME_ENOMEM);
	assert_int_equal(frame_init(0, 2048 * GIB, small, sizeof(small)), -FRAME_ETOOBIG);

	/* largest span the metadata format allows still works */
	assert_int_equal(frame_meta_bytes(0, FRAME_MAX_SPAN_FRAMES * FRAME_SIZE),
			 FRAME_MAX_SPAN_FRAMES * 8);

	assert_int_equal(frame_init(lo, lo + FR(16), small, sizeof(small)), 0);
	assert_int_equal(frame_check(), 0);
	assert_int_equal(frame_alloc(0, 0), FRAME_NONE);
	assert_int_equal(frame_add_free(lo, lo + FR(16)), 0);
	assert_int_equal(frame_alloc(FRAME_ORDER_4K, 0) % FRAME_SIZE, 0);
	/* re-init forgets everything */
	assert_int_equal(frame_init(lo, lo + FR(16), small, sizeof(small)), 0);
	assert_int_equal(frame_owner_frames(0), 0);
	assert_int_equal(frame_check(), 0);
}

/* A 4 MiB span of free RAM at lo; its snapshot in s0. */
static void free_span_4m(paddr_t lo, struct snap *s0)
{
	span_init(lo, lo + 4 * MIB);
	assert_int_equal(frame_add_free(lo, lo + 4 * MIB), 0);
	take_snap(s0);
}

static void test_alloc_free_basic(void **state)
{
	paddr_t lo = 0x100000000ULL, a, b, c, d;
	struct snap s0, s1;
	struct frame_stats st;

	(void)state;
	free_span_4m(lo, &s0);
	assert_int_equal(s0.st.owned, 1024);
	assert_int_equal(s0.st.free, 1024);
	assert_int_equal(s0.st.free_blocks[10], 1);
	assert_int_equal(s0.st.largest_free_order, 10);

	a = frame_alloc(FRAME_ORDER_4K, FRAME_OWNER_HV);
	assert_int_equal(a, lo);
	b = frame_alloc(FRAME_ORDER_4K, 3);
	assert_int_equal(b, lo + FRAME_SIZE);
	c = frame_alloc(FRAME_ORDER_2M, 3);
	assert_int_equal(c, lo + 2 * MIB);
	d = frame_alloc(1, 7);
	assert_int_equal(d, lo + FR(2));

	frame_get_stats(&st);
	assert_int_equal(st.free, 1024 - 1 - 1 - 512 - 2);
	assert_int_equal(st.hv, 1);
	assert_int_equal(st.vms, 1 + 512 + 2);
	assert_int_equal(frame_owner_frames(3), 513);
	assert_int_equal(frame_owner_frames(7), 2);
	/* split remainders of the first 2 MiB: orders 2..8 one each */
	for (unsigned k = 2; k <= 8; k++)
		assert_int_equal(st.free_blocks[k], 1);
	assert_int_equal(st.free_blocks[9], 0);
	assert_identity();

	assert_int_equal(frame_free(b, 0, 3), 0);
	take_snap(&s1);
	assert_int_equal(s1.st.free_blocks[0], 1);
	assert_int_equal(frame_alloc(0, 9), b);	/* the lone free frame is reused */
	assert_int_equal(frame_free(b, 0, 9), 0);
	assert_int_equal(frame_free(c, FRAME_ORDER_2M, 3), 0);
	assert_int_equal(frame_free(a, 0, FRAME_OWNER_HV), 0);
	assert_int_equal(frame_free(d, 1, 7), 0);
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
	assert_identity();
}

static void test_transfer(void **state)
{
	paddr_t lo = 0x100000000ULL, a;
	struct snap s0, s1;

	(void)state;
	free_span_4m(lo, &s0);
	a = frame_alloc(FRAME_ORDER_2M, FRAME_OWNER_HV);
	assert_int_equal(frame_transfer(a, FRAME_ORDER_2M, FRAME_OWNER_HV, 5), 0);
	assert_int_equal(frame_owner_frames(FRAME_OWNER_HV), 0);
	assert_int_equal(frame_owner_frames(5), 512);
	assert_identity();
	/* the old owner, a wrong order, a non-head, a free block, a bad owner: refused, nothing changes */
	take_snap(&s1);
	assert_int_equal(frame_transfer(a, FRAME_ORDER_2M, FRAME_OWNER_HV, 6), -FRAME_EOWNER);
	assert_int_equal(frame_transfer(a, 0, 5, 6), -FRAME_EORDER);
	assert_int_equal(frame_transfer(a + FRAME_SIZE, 0, 5, 6), -FRAME_ENOTHEAD);
	assert_int_equal(frame_transfer(lo + 2 * MIB, FRAME_ORDER_2M, 5, 6), -FRAME_EFREE);
	assert_int_equal(frame_transfer(a, FRAME_ORDER_2M, 5, FRAME_MAX_OWNERS), -FRAME_EBADOWNER);
	assert_int_equal(frame_transfer(a + 1, FRAME_ORDER_2M, 5, 6), -FRAME_EALIGN);
	take_snap(&s0);
	assert_snap_eq(&s0, &s1);
	/* the new owner frees it */
	assert_int_equal(frame_free(a, FRAME_ORDER_2M, FRAME_OWNER_HV), -FRAME_EOWNER);
	assert_int_equal(frame_free(a, FRAME_ORDER_2M, 5), 0);
	assert_int_equal(frame_owner_frames(5), 0);
	assert_identity();
}

static void test_alloc_frames(void **state)
{
	paddr_t lo = 0x100000000ULL, a;
	struct snap s0, s1;

	(void)state;
	free_span_4m(lo, &s0);
	a = frame_alloc_frames(4, 9);
	assert_int_equal(a, lo);
	assert_int_equal(frame_owner_frames(9), 16);
	assert_identity();
	/* sixteen separate 4 KiB blocks: not one of order 4 */
	assert_int_equal(frame_free(a, 4, 9), -FRAME_EORDER);
	for (int i = 15; i >= 0; i--)
		assert_int_equal(frame_free(a + (paddr_t)i * FRAME_SIZE, 0, 9), 0);
	assert_identity();
	take_snap(&s1);
	assert_snap_eq(&s0, &s1); /* and they merge back into the original block */
	assert_int_equal(frame_alloc_frames(FRAME_MAX_ORDER, 9), FRAME_NONE);
	assert_int_equal(frame_alloc_frames(FRAME_MAX_ORDER + 1, 9), FRAME_NONE);
	assert_int_equal(frame_alloc_frames(0, FRAME_MAX_OWNERS), FRAME_NONE);
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
}

/* A 2 MiB block split into 4 KiB blocks (a split leaf), some freed, the rest joined back. */
static void test_split_join(void **state)
{
	paddr_t lo = 0x100000000ULL, a, b;
	unsigned order, owner;
	struct snap s0, s1;

	(void)state;
	free_span_4m(lo, &s0);
	a = frame_alloc(FRAME_ORDER_2M, 7);
	b = frame_alloc(FRAME_ORDER_2M, 8);
	assert_int_equal(frame_block_of(a, &order, &owner), 0);
	assert_int_equal(order, FRAME_ORDER_2M);
	assert_int_equal(owner, 7);
	assert_int_equal(frame_block_of(a + FRAME_SIZE, &order, &owner), -FRAME_ENOTHEAD);
	/* refused: wrong owner, wrong order, not a head; nothing changes */
	take_snap(&s1);
	assert_int_equal(frame_split(a, FRAME_ORDER_2M, 8), -FRAME_EOWNER);
	assert_int_equal(frame_split(a, 0, 7), -FRAME_EORDER);
	assert_int_equal(frame_split(a + FRAME_SIZE, 0, 7), -FRAME_ENOTHEAD);
	assert_int_equal(frame_join(a, FRAME_ORDER_2M, 7), -FRAME_EORDER); /* not 4 KiB blocks */
	{
		struct snap s2;

		take_snap(&s2);
		assert_snap_eq(&s1, &s2);
	}
	assert_int_equal(frame_split(a, FRAME_ORDER_2M, 7), 0);
	assert_int_equal(frame_owner_frames(7), 512);
	assert_identity();
	for (unsigned i = 0; i < 512; i++) {
		assert_int_equal(frame_block_of(a + i * FRAME_SIZE, &order, &owner), 0);
		assert_int_equal(order, 0);
		assert_int_equal(owner, 7);
	}
	assert_int_equal(frame_free(a, FRAME_ORDER_2M, 7), -FRAME_EORDER);
	/* one page back to the pool: the block can no longer be joined */
	assert_int_equal(frame_free(a + 5 * FRAME_SIZE, 0, 7), 0);
	assert_int_equal(frame_owner_frames(7), 511);
	assert_identity();
	assert_int_equal(frame_join(a, FRAME_ORDER_2M, 7), -FRAME_EORDER);
	/* taken again (the only free 4 KiB frame) by another owner: joining fails for the owner */
	assert_int_equal(frame_alloc(0, 9), a + 5 * FRAME_SIZE);
	assert_int_equal(frame_join(a, FRAME_ORDER_2M, 7), -FRAME_EOWNER);
	assert_int_equal(frame_transfer(a + 5 * FRAME_SIZE, 0, 9, 7), 0);
	/* whole again: one 2 MiB block of owner 7 */
	assert_int_equal(frame_join(a + FRAME_SIZE, FRAME_ORDER_2M, 7), -FRAME_EALIGN);
	assert_int_equal(frame_join(a, FRAME_ORDER_2M, 7), 0);
	assert_int_equal(frame_block_of(a, &order, &owner), 0);
	assert_int_equal(order, FRAME_ORDER_2M);
	assert_int_equal(frame_owner_frames(7), 512);
	assert_identity();
	assert_int_equal(frame_free(a, FRAME_ORDER_2M, 7), 0);
	assert_int_equal(frame_free(b, FRAME_ORDER_2M, 8), 0);
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
	assert_int_equal(frame_block_of(a, &order, &owner), -FRAME_EFREE);
}

static void test_coalesce_any_order(void **state)
{
	paddr_t lo = 0x140000000ULL;
	struct blk *b = calloc(1024, sizeof(*b));
	struct snap s0, s1;
	size_t n = 0, i;
	int round;

	(void)state;
	assert_non_null(b);
	span_init(lo, lo + 4 * MIB);
	assert_int_equal(frame_add_free(lo, lo + 4 * MIB), 0);
	take_snap(&s0);
	rng_state = 42;
	for (round = 0; round < 20; round++) {
		/* fill completely with mixed orders, free in a random order */
		n = 0;
		for (;;) {
			unsigned o = rnd_order(8);
			paddr_t pa;

			while ((pa = frame_alloc(o, round)) == FRAME_NONE && o > 0)
				o--;
			if (pa == FRAME_NONE)
				break;
			assert_int_equal(pa % (FRAME_SIZE << o), 0);
			b[n++] = (struct blk){ pa, o, (unsigned)round };
		}
		assert_int_equal(frame_owner_frames(round), 1024);
		assert_identity();
		shuffle(b, n);
		for (i = 0; i < n; i++) {
			assert_int_equal(frame_free(b[i].pa, b[i].order, b[i].owner), 0);
			if (i % 64 == 0)
				assert_int_equal(frame_check(), 0);
		}
		take_snap(&s1);
		assert_snap_eq(&s0, &s1);
		assert_int_equal(s1.st.free_blocks[10], 1);
	}
	free(b);
}

/* 4 GiB span with an unaligned start and a hole: every order 0..18 */
#define EO_LO	0x100003000ULL
#define EO_HI	0x200000000ULL
#define EO_A0	0x100005000ULL
#define EO_A1	0x17ff00000ULL
#define EO_B0	0x180301000ULL
#define EO_B1	EO_HI

static int in_added(paddr_t pa, unsigned order)
{
	paddr_t end = pa + (FRAME_SIZE << order);

	return (pa >= EO_A0 && end <= EO_A1) || (pa >= EO_B0 && end <= EO_B1);
}

static void every_order_pass(int descending)
{
	struct blk b[FRAME_MAX_ORDER + 1];
	struct snap s0, s1;
	unsigned k, j;

	take_snap(&s0);
	for (k = 0; k <= FRAME_MAX_ORDER; k++) {
		unsigned o = descending ? FRAME_MAX_ORDER - k : k;
		paddr_t pa = frame_alloc(o, o + 1);

		assert_int_not_equal(pa, FRAME_NONE);
		assert_int_equal(pa % (FRAME_SIZE << o), 0);
		assert_true(in_added(pa, o));
		b[k] = (struct blk){ pa, o, o + 1 };
		for (j = 0; j < k; j++)
			assert_false(overlaps(&b[j], &b[k]));
		assert_int_equal(frame_owner_frames(o + 1), 1ULL << o);
	}
	/* exactly one 1 GiB block fitted: [0x1c0000000, 0x200000000) */
	assert_int_equal(frame_alloc(FRAME_ORDER_1G, 1), FRAME_NONE);
	assert_identity();
	shuffle(b, FRAME_MAX_ORDER + 1);
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		assert_int_equal(frame_free(b[k].pa, b[k].order, b[k].owner), 0);
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
}

static void test_every_order(void **state)
{
	uint64_t cnt[FRAME_MAX_ORDER + 1] = { 0 };
	struct frame_stats st;
	paddr_t pa;
	unsigned k;

	(void)state;
	span_init(EO_LO, EO_HI);
	/* added in pieces, out of order, so coalescing must join them */
	assert_int_equal(frame_add_free(EO_B0 + GIB, EO_B1), 0);
	assert_int_equal(frame_add_free(EO_A0 + 3 * MIB + FR(5), EO_A1), 0);
	assert_int_equal(frame_add_free(EO_B0, EO_B0 + GIB), 0);
	assert_int_equal(frame_add_free(EO_A0, EO_A0 + 3 * MIB + FR(5)), 0);
	expect_blocks(EO_A0, EO_A1, cnt);
	expect_blocks(EO_B0, EO_B1, cnt);
	frame_get_stats(&st);
	assert_int_equal(st.owned, (EO_A1 - EO_A0 + EO_B1 - EO_B0) / FRAME_SIZE);
	assert_int_equal(st.free, st.owned);
	for (k = 0; k <= FRAME_MAX_ORDER; k++)
		assert_int_equal(st.free_blocks[k], cnt[k]);
	assert_int_equal(st.free_blocks[FRAME_ORDER_1G], 1);
	assert_int_equal(st.largest_free_order, FRAME_ORDER_1G);
	assert_identity();

	pa = frame_alloc(FRAME_ORDER_1G, 5);
	assert_int_equal(pa, 0x1c0000000ULL);
	assert_int_equal(frame_free(pa, FRAME_ORDER_1G, 5), 0);

	every_order_pass(0);
	every_order_pass(1);
	assert_identity();
}

static void test_exhaustion(void **state)
{
	paddr_t lo = 0x240001000ULL, hi = 0x244000000ULL;
	size_t cap = 16384, n = 0, i;
	struct blk *b = calloc(cap, sizeof(*b));
	uint64_t *own = calloc(FRAME_MAX_OWNERS, sizeof(*own));
	uint64_t total = 0;
	struct snap s0, s1;
	unsigned k;

	(void)state;
	assert_non_null(b);
	assert_non_null(own);
	span_init(lo, hi);
	assert_int_equal(frame_add_free(lo + FR(3), 0x242000000ULL), 0);
	assert_int_equal(frame_add_free(0x242200000ULL + FR(1), hi - FR(7)), 0);
	take_snap(&s0);
	rng_state = 7;
	for (;;) {
		unsigned o = rnd_order(FRAME_MAX_ORDER);
		unsigned w = (unsigned)rnd_below(FRAME_MAX_OWNERS);
		paddr_t pa;

		while ((pa = frame_alloc(o, w)) == FRAME_NONE && o > 0)
			o--;
		if (pa == FRAME_NONE)
			break;
		assert_true(n < cap);
		b[n++] = (struct blk){ pa, o, w };
		own[w] += 1ULL << o;
		total += 1ULL << o;
	}
	take_snap(&s1);
	assert_int_equal(total, s0.st.owned);
	assert_int_equal(s1.st.free, 0);
	assert_int_equal(s1.st.largest_free_order, -1);
	for (k = 0; k <= FRAME_MAX_ORDER; k++) {
		assert_int_equal(s1.st.free_blocks[k], 0);
		assert_int_equal(frame_alloc(k, 0), FRAME_NONE);
	}
	for (k = 0; k < FRAME_MAX_OWNERS; k++)
		assert_int_equal(s1.own[k], own[k]);
	assert_int_equal(s1.st.hv, own[0]);
	assert_int_equal(s1.st.vms, total - own[0]);
	assert_identity();

	shuffle(b, n);
	for (i = 0; i < n; i++)
		assert_int_equal(frame_free(b[i].pa, b[i].order, b[i].owner), 0);
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
	assert_identity();
	free(own);
	free(b);
}

static void test_reserve(void **state)
{
	paddr_t lo = 0x300000000ULL, hi = lo + 16 * MIB;
	paddr_t r0 = lo + FR(5), r1 = lo + 3 * MIB + FR(7), pa;
	struct blk *b = calloc(4096, sizeof(*b));
	struct snap s0, s1;
	size_t n = 0, i;

	(void)state;
	assert_non_null(b);
	span_init(lo, hi);
	assert_int_equal(frame_add_free(lo, lo + 8 * MIB), 0);
	assert_int_equal(frame_add_free(lo + 9 * MIB, hi), 0);
	take_snap(&s0);

	assert_int_equal(frame_reserve(r0, r1, FRAME_OWNER_HV), 0);
	take_snap(&s1);
	assert_int_equal(s1.st.hv, (r1 - r0) / FRAME_SIZE);
	assert_int_equal(s1.st.free, s0.st.free - (r1 - r0) / FRAME_SIZE);
	assert_identity();

	/* overlapping, partly absent, and bad-owner reserves change nothing */
	assert_int_equal(frame_reserve(r1 - FR(1), r1 + FR(1), 1), -FRAME_ENOTFREE);
	assert_int_equal(frame_reserve(lo + 8 * MIB - FR(1), lo + 8 * MIB + FR(1), 1),
			 -FRAME_ENOTFREE);
	assert_int_equal(frame_reserve(lo + 8 * MIB, lo + 9 * MIB, 1), -FRAME_ENOTFREE);
	assert_int_equal(frame_reserve(r1, r1 + FR(1), FRAME_MAX_OWNERS), -FRAME_EBADOWNER);
	assert_int_equal(frame_reserve(r1 + 1, r1 + FR(1), 1), -FRAME_EALIGN);
	assert_int_equal(frame_reserve(r1, r1, 1), -FRAME_EINVAL);
	assert_int_equal(frame_reserve(hi - FR(1), hi + FR(1), 1), -FRAME_ERANGE);
	take_snap(&s0);
	assert_snap_eq(&s0, &s1);

	/* a reserved frame is a 4 KiB block of its owner */
	assert_int_equal(frame_free(r0, 1, FRAME_OWNER_HV), -FRAME_EALIGN);
	assert_int_equal(frame_free(r0 + FR(1), 1, FRAME_OWNER_HV), -FRAME_EORDER);
	assert_int_equal(frame_free(r0, 0, 2), -FRAME_EOWNER);

	/* nothing else ever hands out a reserved frame */
	while ((pa = frame_alloc(0, 2)) != FRAME_NONE) {
		assert_true(pa < r0 || pa >= r1);
		b[n++] = (struct blk){ pa, 0, 2 };
	}
	assert_int_equal(n, s1.st.free);
	for (i = 0; i < n; i++)
		assert_int_equal(frame_free(b[i].pa, 0, 2), 0);

	/* free the reserved frames back: everything coalesces as before */
	for (pa = r1; pa > r0; pa -= FRAME_SIZE)
		assert_int_equal(frame_free(pa - FRAME_SIZE, 0, FRAME_OWNER_HV), 0);
	take_snap(&s1);
	assert_int_equal(s1.st.hv, 0);
	assert_int_equal(s1.st.free, s1.st.owned);
	/* [0, 8M) is one 8 MiB block; [9M, 16M) is 1 + 2 + 4 MiB */
	assert_int_equal(s1.st.free_blocks[11], 1);
	assert_int_equal(s1.st.free_blocks[10], 1);
	assert_int_equal(s1.st.free_blocks[9], 1);
	assert_int_equal(s1.st.free_blocks[8], 1);
	assert_int_equal(s1.st.largest_free_order, 11);
	assert_identity();

	/* reserving one frame in the middle of a big block and back */
	take_snap(&s0);
	assert_int_equal(frame_reserve(lo + 5 * MIB, lo + 5 * MIB + FR(1), 4), 0);
	assert_int_equal(frame_owner_frames(4), 1);
	assert_identity();
	assert_int_equal(frame_free(lo + 5 * MIB, 0, 4), 0);
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
	free(b);
}

static void test_errors(void **state)
{
	paddr_t lo = 0x400000000ULL, hi = lo + 8 * MIB, hole = lo + 6 * MIB;
	paddr_t a0, a2, a9, f;
	struct snap s0, s1;

	(void)state;
	span_init(lo, hi);
	assert_int_equal(frame_add_free(lo, hole), 0);
	assert_int_equal(frame_add_free(hole + MIB, hi), 0);
	a0 = frame_alloc(0, 1);
	a2 = frame_alloc(2, 2);
	a9 = frame_alloc(9, 3);
	f = frame_alloc(0, 1);
	assert_int_equal(frame_free(f, 0, 1), 0);	/* f is free now */
	assert_true(a0 != FRAME_NONE && a2 != FRAME_NONE && a9 != FRAME_NONE);
	take_snap(&s0);

#define EXPECT_UNCHANGED(call, err)				\
	do {							\
		assert_int_equal((call), (err));		\
		take_snap(&s1);					\
		assert_snap_eq(&s0, &s1);			\
		assert_int_equal(frame_check(), 0);		\
	} while (0)

	/* frame_free */
	EXPECT_UNCHANGED(frame_free(a0 + 1, 0, 1), -FRAME_EALIGN);
	EXPECT_UNCHANGED(frame_free(a9 + FR(1), 9, 3), -FRAME_EALIGN);
	EXPECT_UNCHANGED(frame_free(lo - FR(1), 0, 1), -FRAME_ERANGE);
	EXPECT_UNCHANGED(frame_free(hi, 0, 1), -FRAME_ERANGE);
	EXPECT_UNCHANGED(frame_free(0, 0, 1), -FRAME_ERANGE);
	EXPECT_UNCHANGED(frame_free(lo, 12, 1), -FRAME_ERANGE);
	EXPECT_UNCHANGED(frame_free(a0, FRAME_MAX_ORDER + 1, 1), -FRAME_EBADORDER);
	EXPECT_UNCHANGED(frame_free(a0, 0, FRAME_MAX_OWNERS), -FRAME_EBADOWNER);
	EXPECT_UNCHANGED(frame_free(a2 + FR(1), 0, 2), -FRAME_ENOTHEAD);
	EXPECT_UNCHANGED(frame_free(a9 + FR(8), 3, 3), -FRAME_ENOTHEAD);
	EXPECT_UNCHANGED(frame_free(a2, 1, 2), -FRAME_EORDER);
	EXPECT_UNCHANGED(frame_free(a2, 0, 2), -FRAME_EORDER);
	EXPECT_UNCHANGED(frame_free(a9, 9, 2), -FRAME_EOWNER);
	EXPECT_UNCHANGED(frame_free(a0, 0, FRAME_OWNER_HV), -FRAME_EOWNER);
	EXPECT_UNCHANGED(frame_free(f, 0, 1), -FRAME_EFREE);
	EXPECT_UNCHANGED(frame_free(lo, 9, 1), -FRAME_EFREE);
	EXPECT_UNCHANGED(frame_free(lo + 2 * MIB, 9, 1), -FRAME_EFREE);
	EXPECT_UNCHANGED(frame_free(hi - FR(1), 0, 1), -FRAME_EFREE);
	EXPECT_UNCHANGED(frame_free(hole, 0, 1), -FRAME_EABSENT);
	EXPECT_UNCHANGED(frame_free(hole + FR(3), 0, 0), -FRAME_EABSENT);
	EXPECT_UNCHANGED(frame_free(hole, 8, 0), -FRAME_EABSENT);

	/* frame_alloc */
	EXPECT_UNCHANGED(frame_alloc(FRAME_MAX_ORDER + 1, 1), FRAME_NONE);
	EXPECT_UNCHANGED(frame_alloc(0, FRAME_MAX_OWNERS), FRAME_NONE);
	EXPECT_UNCHANGED(frame_alloc(12, 1), FRAME_NONE);	/* larger than the span */

	/* frame_add_free */
	EXPECT_UNCHANGED(frame_add_free(hole - FR(1), hole + FR(1)), -FRAME_ENOTABSENT);
	EXPECT_UNCHANGED(frame_add_free(hole + MIB, hole + MIB + FR(1)), -FRAME_ENOTABSENT);
	EXPECT_UNCHANGED(frame_add_free(hole + 8, hole + FR(1)), -FRAME_EALIGN);
	EXPECT_UNCHANGED(frame_add_free(hole, hole + FR(1) + 1), -FRAME_EALIGN);
	EXPECT_UNCHANGED(frame_add_free(hole + FR(1), hole), -FRAME_EINVAL);
	EXPECT_UNCHANGED(frame_add_free(hole, hole), -FRAME_EINVAL);
	EXPECT_UNCHANGED(frame_add_free(lo - FR(1), lo), -FRAME_ERANGE);
	EXPECT_UNCHANGED(frame_add_free(hi, hi + FR(1)), -FRAME_ERANGE);

	/* frame_reserve */
	EXPECT_UNCHANGED(frame_reserve(a0, a0 + FR(1), 1), -FRAME_ENOTFREE);
	EXPECT_UNCHANGED(frame_reserve(f, f + FR(1), 256), -FRAME_EBADOWNER);
	EXPECT_UNCHANGED(frame_reserve(hole, hole + FR(1), 1), -FRAME_ENOTFREE);
	EXPECT_UNCHANGED(frame_reserve(f + 4, f + FR(1), 1), -FRAME_EALIGN);
	EXPECT_UNCHANGED(frame_reserve(hi - FR(1), hi + FR(1), 1), -FRAME_ERANGE);
#undef EXPECT_UNCHANGED

	/* the real frees still work afterwards, and only once */
	assert_int_equal(frame_free(a2, 2, 2), 0);
	assert_int_equal(frame_free(a2, 2, 2), -FRAME_EFREE);
	assert_int_equal(frame_free(a9, 9, 3), 0);
	assert_int_equal(frame_free(a0, 0, 1), 0);
	assert_int_equal(frame_owner_frames(1) + frame_owner_frames(2) + frame_owner_frames(3), 0);
	assert_identity();
}

static void test_strerror(void **state)
{
	int e, f;

	(void)state;
	assert_string_equal(frame_strerror(0), "ok");
	assert_string_equal(frame_strerror(-FRAME_ENOTHEAD), "not the head of an allocated block");
	for (e = 1; e < FRAME_NERR; e++) {
		const char *s = frame_strerror(-e);

		assert_non_null(s);
		assert_string_equal(s, frame_strerror(e));
		assert_string_not_equal(s, frame_strerror(-FRAME_NERR));
		for (f = 1; f < e; f++)
			assert_string_not_equal(s, frame_strerror(-f));
	}
	assert_string_equal(frame_strerror(12345), "unknown frame error");
	assert_string_equal(frame_strerror(-2147483647 - 1), "unknown frame error");
}

/* ---- randomized run against a reference model ---- */

#define RM_LO		0x500001000ULL	/* unaligned span start */
#define RM_HI		0x510000000ULL
#define RM_N		((RM_HI - RM_LO) / FRAME_SIZE)
#define RM_OPS		200000
#define RM_ABSENT	0xffff
#define RM_FREE		0xfffe

struct model {
	uint16_t *who;			/* per frame: RM_ABSENT, RM_FREE or owner */
	uint64_t free;
	uint64_t own[FRAME_MAX_OWNERS];
	struct blk *live;
	size_t nlive;
};

static void model_add(struct model *m, paddr_t s, paddr_t e)
{
	assert_int_equal(frame_add_free(s, e), 0);
	for (; s < e; s += FRAME_SIZE)
		m->who[(s - RM_LO) / FRAME_SIZE] = RM_FREE;
}

/* Model: is some naturally aligned run of 2^order frames entirely free? */
static int model_has_free_block(const struct model *m, unsigned order)
{
	uint64_t n = 1ULL << order, first = RM_LO / FRAME_SIZE;
	uint64_t pfn = (first + n - 1) & ~(n - 1), j;

	for (; pfn + n <= RM_HI / FRAME_SIZE; pfn += n) {
		for (j = 0; j < n && m->who[pfn - first + j] == RM_FREE; j++)
			;
		if (j == n)
			return 1;
	}
	return 0;
}

static void model_alloc(struct model *m, unsigned order, unsigned owner)
{
	paddr_t pa = frame_alloc(order, owner);
	uint64_t n = 1ULL << order, i, j;

	if (pa == FRAME_NONE) {
		assert_false(model_has_free_block(m, order));
		return;
	}
	assert_int_equal(pa % (FRAME_SIZE << order), 0);
	assert_true(pa >= RM_LO && pa + (FRAME_SIZE << order) <= RM_HI);
	i = (pa - RM_LO) / FRAME_SIZE;
	for (j = 0; j < n; j++) {
		/* neither a hole nor part of a live block */
		assert_int_equal(m->who[i + j], RM_FREE);
		m->who[i + j] = (uint16_t)owner;
	}
	m->free -= n;
	m->own[owner] += n;
	m->live[m->nlive++] = (struct blk){ pa, order, owner };
}

static void model_free(struct model *m, size_t k)
{
	struct blk b = m->live[k];
	uint64_t n = 1ULL << b.order, i = (b.pa - RM_LO) / FRAME_SIZE, j;

	assert_int_equal(frame_free(b.pa, b.order, b.owner), 0);
	for (j = 0; j < n; j++) {
		assert_int_equal(m->who[i + j], b.owner);
		m->who[i + j] = RM_FREE;
	}
	m->free += n;
	m->own[b.owner] -= n;
	m->live[k] = m->live[--m->nlive];
	if (rnd_below(10) == 0)	/* immediate double free */
		assert_int_equal(frame_free(b.pa, b.order, b.owner), -FRAME_EFREE);
}

/* A wrong free of a live block: rejected, nothing changes. */
static void model_bad_free(struct model *m)
{
	struct blk b = m->live[rnd_below(m->nlive)];
	struct snap s0, s1;

	take_snap(&s0);
	assert_int_equal(frame_free(b.pa, b.order, (b.owner + 1) % FRAME_MAX_OWNERS),
			 -FRAME_EOWNER);
	if (b.order > 0) {
		assert_int_equal(frame_free(b.pa, b.order - 1, b.owner), -FRAME_EORDER);
		assert_int_equal(frame_free(b.pa + FRAME_SIZE, 0, b.owner), -FRAME_ENOTHEAD);
	} else {
		int err = frame_free(b.pa, 1, b.owner);

		assert_true(err == -FRAME_EORDER || err == -FRAME_EALIGN || err == -FRAME_ERANGE);
	}
	take_snap(&s1);
	assert_snap_eq(&s0, &s1);
}

/* Full comparison of the model's counts with the allocator's. */
static void model_compare(const struct model *m)
{
	uint64_t own[FRAME_MAX_OWNERS] = { 0 }, free = 0, i;
	unsigned k;

	for (i = 0; i < RM_N; i++) {
		if (m->who[i] == RM_FREE)
			free++;
		else if (m->who[i] != RM_ABSENT)
			own[m->who[i]]++;
	}
	assert_int_equal(free, m->free);
	for (k = 0; k < FRAME_MAX_OWNERS; k++) {
		assert_int_equal(own[k], m->own[k]);
		assert_int_equal(frame_owner_frames(k), own[k]);
	}
	assert_int_equal(frame_check(), 0);
	assert_identity();
}

static const unsigned rm_owners[] = { 0, 1, 2, 3, 17, 128, 255 };

/* Phases of 25k steps alternately fill (to exhaustion) and drain the pool. */
static void model_step(struct model *m, uint64_t step)
{
	unsigned r = (unsigned)rnd_below(100);
	unsigned alloc_pct = (step / 25000) % 2 ? 30 : 85;

	if (m->nlive && r < 3) {
		model_bad_free(m);
	} else if (!m->nlive || r < alloc_pct) {
		unsigned w = rm_owners[rnd_below(sizeof(rm_owners) / sizeof(rm_owners[0]))];

		model_alloc(m, rnd_order(FRAME_MAX_ORDER), w);
	} else {
		model_free(m, rnd_below(m->nlive));
	}
}

static void test_random_model(void **state)
{
	struct model m = { 0 };
	struct frame_stats st, st0;
	uint64_t i;
	unsigned k;

	(void)state;
	m.who = malloc(RM_N * sizeof(*m.who));
	m.live = calloc(RM_N, sizeof(*m.live));
	assert_non_null(m.who);
	assert_non_null(m.live);
	for (i = 0; i < RM_N; i++)
		m.who[i] = RM_ABSENT;
	span_init(RM_LO, RM_HI);
	model_add(&m, RM_LO, 0x504000000ULL);
	model_add(&m, 0x504123000ULL, 0x50c000000ULL);
	model_add(&m, 0x50c800000ULL + FR(9), RM_HI - FR(2));
	frame_get_stats(&st0);
	m.free = st0.owned;
	model_compare(&m);

	rng_state = 0x5eed;
	for (i = 0; i < RM_OPS; i++) {
		frame_get_stats(&st);
		assert_int_equal(st.free, m.free);
		model_step(&m, i);
		if (i % 1000 == 999)
			model_compare(&m);
	}
	model_compare(&m);
	while (m.nlive)
		model_free(&m, rnd_below(m.nlive));
	model_compare(&m);
	frame_get_stats(&st);
	assert_stats_eq(&st, &st0);
	for (k = 0; k < FRAME_MAX_OWNERS; k++)
		assert_int_equal(frame_owner_frames(k), 0);
	free(m.live);
	free(m.who);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uninitialized),
		cmocka_unit_test(test_meta_and_init),
		cmocka_unit_test(test_alloc_free_basic),
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_alloc_frames),
		cmocka_unit_test(test_split_join),
		cmocka_unit_test(test_coalesce_any_order),
		cmocka_unit_test(test_every_order),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_check_finds_corruption),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
