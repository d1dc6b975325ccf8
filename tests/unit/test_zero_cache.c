/*
 * Unit tests (cmocka) for the zero cache, mm/zero_cache.c: its 2 MiB blocks
 * and the 4 KiB frames split off one of them, on the buddy allocator over
 * real host memory (the cache writes the frames it zeroes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mm/frame.h"
#include "mm/zero_cache.h"

#define MIB	 (1024ULL * 1024)
#define SPAN	 (8 * MIB) /* four blocks */
#define BLOCK	 (2 * MIB)
#define PER_BLK	 512u
#define OWNER	 5

static uint8_t *ram;
static void *meta;

/* The allocator over SPAN bytes of host memory, every byte of it 0xaa; the cache emptied, its target 2. */
static int setup(void **state)
{
	size_t n;

	(void)state;
	ram = aligned_alloc(BLOCK, SPAN);
	assert_non_null(ram);
	memset(ram, 0xaa, SPAN);
	n = frame_meta_bytes((paddr_t)ram, (paddr_t)ram + SPAN);
	meta = malloc(n);
	assert_non_null(meta);
	assert_int_equal(frame_init((paddr_t)ram, (paddr_t)ram + SPAN, meta, n), 0);
	assert_int_equal(frame_add_free((paddr_t)ram, (paddr_t)ram + SPAN), 0);
	while (zero_cache_release_one())
		;
	zero_cache_set_target(2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	while (zero_cache_release_one())
		;
	free(meta);
	free(ram);
	return 0;
}

static bool all_zero(paddr_t pa)
{
	const uint8_t *p = (const uint8_t *)pa;

	for (size_t i = 0; i < FRAME_SIZE; i++)
		if (p[i])
			return false;
	return true;
}

static void assert_owner(paddr_t pa, unsigned want)
{
	unsigned order, owner;

	assert_int_equal(frame_block_of(pa, &order, &owner), 0);
	assert_int_equal(order, FRAME_ORDER_4K);
	assert_int_equal(owner, want);
}

/* Frames come zeroed and owned by the taker, one block split at a time; the rest stay the hypervisor's. */
static void test_take_4k_splits_one_block_at_a_time(void **state)
{
	paddr_t got[PER_BLK + 1];

	(void)state;
	zero_cache_fill();
	assert_int_equal(zero_cache_blocks(), 2);
	assert_int_equal(frame_owner_frames(FRAME_OWNER_HV), 2 * PER_BLK);
	for (unsigned i = 0; i < PER_BLK + 1; i++) {
		got[i] = zero_cache_take_4k(OWNER);
		assert_int_not_equal(got[i], FRAME_NONE);
		assert_true(all_zero(got[i]));
		assert_owner(got[i], OWNER);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(got[i], got[j]);
		memset((void *)got[i], 0xff, FRAME_SIZE); /* the taker's own bytes from now on */
		if (i == 0) /* the first take split a block: 511 frames of it left */
			assert_int_equal(zero_cache_blocks(), 1);
	}
	/* the first block used up, the second split for the last take */
	assert_int_equal(zero_cache_blocks(), 0);
	assert_int_equal(zero_cache_split_frames(), PER_BLK - 1);
	assert_int_equal(frame_owner_frames(OWNER), PER_BLK + 1);
	assert_int_equal(frame_owner_frames(FRAME_OWNER_HV), PER_BLK - 1);
	assert_int_equal(frame_check(), 0);
	for (unsigned i = 0; i < PER_BLK + 1; i++)
		assert_int_equal(frame_free(got[i], FRAME_ORDER_4K, OWNER), 0);
}

/* With no block and no split, nothing; release gives the split's frames back when no block is left. */
static void test_release_gives_the_split_back_last(void **state)
{
	struct frame_stats st;

	(void)state;
	zero_cache_fill();
	assert_int_not_equal(zero_cache_take_4k(OWNER), FRAME_NONE); /* a split of 511 left */
	assert_true(zero_cache_release_one()); /* the whole block first */
	assert_int_equal(zero_cache_blocks(), 0);
	assert_int_equal(zero_cache_split_frames(), PER_BLK - 1);
	assert_true(zero_cache_release_one()); /* then the split */
	assert_int_equal(zero_cache_split_frames(), 0);
	assert_false(zero_cache_release_one());
	assert_int_equal(zero_cache_take_4k(OWNER), FRAME_NONE);
	assert_int_equal(frame_owner_frames(FRAME_OWNER_HV), 0);
	frame_get_stats(&st);
	assert_int_equal(st.free + st.hv + st.vms, st.owned);
	assert_int_equal(st.vms, 1); /* the frame taken: still the taker's */
	assert_int_equal(frame_check(), 0);
}

/* A fill gives a split back first: once the takers' frames are back too, the pool is as it was. */
static void test_fill_gives_the_split_back(void **state)
{
	struct frame_stats before, after;
	paddr_t pa;

	(void)state;
	zero_cache_fill();
	frame_get_stats(&before);
	pa = zero_cache_take_4k(OWNER);
	assert_int_not_equal(pa, FRAME_NONE);
	assert_int_equal(frame_free(pa, FRAME_ORDER_4K, OWNER), 0);
	assert_int_equal(zero_cache_split_frames(), PER_BLK - 1);
	zero_cache_fill();
	assert_int_equal(zero_cache_split_frames(), 0);
	assert_int_equal(zero_cache_blocks(), 2);
	frame_get_stats(&after);
	assert_int_equal(after.free, before.free);
	assert_int_equal(after.hv, before.hv);
	assert_int_equal(after.largest_free_order, before.largest_free_order);
	assert_int_equal(frame_check(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_take_4k_splits_one_block_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_gives_the_split_back_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_gives_the_split_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
