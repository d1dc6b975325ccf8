/*
 * The remote page map (mm/far_map.c) over a far node of the test's own: frames from the node's
 * free list at a low address (the map keeps frame numbers in 31 bits), copies held and dropped,
 * far and local states, a full node, and the count of frames the node lends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "mm/far_map.h"

#define FRAMES 8
#define PAGES 32
#define BASE 0x40000000UL /* in the low memory that ASan leaves to the program */

static struct far_node nd;
static uint32_t entries[PAGES];
static struct far_map fm;

static int setup(void **state)
{
	void *p = mmap((void *)BASE, FRAMES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	(void)state;
	if (p != (void *)BASE)
		return -1;
	nd = (struct far_node){ .used = true, .free_head = FRAME_NONE, .frames = FRAMES };
	for (unsigned i = 0; i < FRAMES; i++)
		far_node_put(&nd, BASE + i * 4096);
	memset(entries, 0, sizeof(entries));
	fm = (struct far_map){ .e = entries, .pages = PAGES };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return munmap((void *)BASE, FRAMES * 4096);
}

static void test_hold_takes_one_frame_per_page(void **state)
{
	paddr_t a, b;

	(void)state;
	assert_int_equal(far_map_copy(&fm, 3), 0);
	a = far_map_hold(&fm, &nd, 3);
	assert_in_range(a, BASE, BASE + (FRAMES - 1) * 4096);
	assert_int_equal(a % 4096, 0);
	assert_int_equal(far_map_hold(&fm, &nd, 3), a); /* its own again: no second frame */
	b = far_map_hold(&fm, &nd, 4);
	assert_true(b != a);
	assert_int_equal(far_map_copy(&fm, 3), a);
	assert_int_equal(fm.copies, 2);
	assert_int_equal(nd.nfree, FRAMES - 2);
	/* the frame is the page's: bytes written stay */
	memset((void *)a, 0x5a, 4096);
	assert_int_equal(((uint8_t *)far_map_copy(&fm, 3))[4095], 0x5a);
}

static void test_far_and_back_keeps_the_copy(void **state)
{
	paddr_t a;

	(void)state;
	a = far_map_hold(&fm, &nd, 7);
	assert_false(far_map_is_far(&fm, 7));
	far_map_went_far(&fm, 7);
	assert_true(far_map_is_far(&fm, 7));
	assert_int_equal(far_map_copy(&fm, 7), a); /* the state bit is not part of the address */
	assert_int_equal(fm.far, 1);
	far_map_came_back(&fm, 7);
	assert_false(far_map_is_far(&fm, 7));
	assert_int_equal(far_map_copy(&fm, 7), a);
	assert_int_equal(fm.far, 0);
	assert_int_equal(fm.copies, 1);
}

static void test_a_full_node_gives_nothing(void **state)
{
	(void)state;
	for (unsigned p = 0; p < FRAMES; p++)
		assert_true(far_map_hold(&fm, &nd, p) != FRAME_NONE);
	assert_int_equal(far_map_hold(&fm, &nd, FRAMES), FRAME_NONE);
	assert_int_equal(far_map_copy(&fm, FRAMES), 0); /* and the map is unchanged */
	assert_int_equal(fm.copies, FRAMES);
	/* a page with its copy still has it */
	assert_true(far_map_hold(&fm, &nd, 0) != FRAME_NONE);
}

static void test_drop_returns_frames_in_the_range(void **state)
{
	(void)state;
	for (unsigned p = 10; p < 16; p++) {
		far_map_hold(&fm, &nd, p);
		if (p % 2)
			far_map_went_far(&fm, p);
	}
	far_map_drop(&fm, &nd, 12, 15);
	assert_int_equal(fm.copies, 3);	      /* 10, 11 and 15 */
	assert_int_equal(fm.far, 2);	      /* 11 and 15: 13 went with the range */
	assert_int_equal(nd.nfree, FRAMES - 3);
	for (unsigned p = 12; p < 15; p++) {
		assert_int_equal(far_map_copy(&fm, p), 0);
		assert_false(far_map_is_far(&fm, p));
	}
	/* a range past the end stops at the map's end; everything back */
	far_map_drop(&fm, &nd, 0, 1000);
	assert_int_equal(fm.copies, 0);
	assert_int_equal(fm.far, 0);
	assert_int_equal(nd.nfree, FRAMES);
}

/* The frames come back on the node's list: all of them, each once. */
static void test_every_frame_comes_back_once(void **state)
{
	bool seen[FRAMES] = { false };
	unsigned n = 0;

	(void)state;
	for (unsigned p = 0; p < FRAMES; p++)
		far_map_hold(&fm, &nd, p * 3);
	far_map_drop(&fm, &nd, 0, PAGES);
	for (paddr_t pa = nd.free_head; pa != FRAME_NONE; pa = *(const paddr_t *)pa, n++) {
		assert_in_range(pa, BASE, BASE + (FRAMES - 1) * 4096);
		assert_false(seen[(pa - BASE) / 4096]);
		seen[(pa - BASE) / 4096] = true;
	}
	assert_int_equal(n, FRAMES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hold_takes_one_frame_per_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_far_and_back_keeps_the_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_node_gives_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_returns_frames_in_the_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_frame_comes_back_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
