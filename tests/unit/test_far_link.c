/*
 * A far node's link (mm/far_node.h): one user's transfers queue, an idle link starts at once, and
 * users share it fairly: while k are busy each moves at 1/k, so that one flooding the link slows
 * the others by that factor, never by its backlog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "mm/far_node.h"

static void test_idle_link_starts_now(void **state)
{
	uint64_t free_at[1] = { 0 };

	(void)state;
	assert_int_equal(far_link_take(free_at, 1, 0, 1000, 50), 50);
	assert_int_equal(free_at[0], 1050);
	/* long after: idle again, no wait */
	assert_int_equal(far_link_take(free_at, 1, 0, 5000, 50), 50);
	assert_int_equal(free_at[0], 5050);
}

static void test_own_transfers_queue(void **state)
{
	uint64_t free_at[1] = { 0 };

	(void)state;
	far_link_take(free_at, 1, 0, 1000, 100); /* busy until 1100 */
	/* asked at 1010: waits 90, then 100 of its own */
	assert_int_equal(far_link_take(free_at, 1, 0, 1010, 100), 190);
	assert_int_equal(free_at[0], 1200);
	assert_int_equal(far_link_take(free_at, 1, 0, 1200, 10), 10);
	assert_int_equal(far_link_take(free_at, 1, 0, 1200, 10), 20);
}

static void test_zero_length_costs_only_the_wait(void **state)
{
	uint64_t free_at[1] = { 300 };

	(void)state;
	assert_int_equal(far_link_take(free_at, 1, 0, 100, 0), 200);
	assert_int_equal(free_at[0], 300);
}

/* A user flooding the link builds a backlog of its own; another's transfer takes twice as long, no more. */
static void test_a_flood_slows_others_by_their_share_only(void **state)
{
	uint64_t free_at[4] = { 0 }, before;

	(void)state;
	for (unsigned i = 0; i < 1000; i++) /* user 0: 1000 transfers asked at once */
		far_link_take(free_at, 4, 0, 1000, 100);
	assert_true(free_at[0] > 100000); /* its backlog: a long way off */
	/* user 2, idle so far: 2 x 100, the flood being busy */
	assert_int_equal(far_link_take(free_at, 4, 2, 1000, 100), 200);
	/* and its next, queued behind its own: 200 more */
	assert_int_equal(far_link_take(free_at, 4, 2, 1000, 100), 400);
	/* the flooder's next starts after its backlog, when user 2 is long done: 1 x */
	before = free_at[0];
	assert_int_equal(far_link_take(free_at, 4, 0, 1000, 100), before + 100 - 1000);
}

/* Three busy users: each transfer of a fourth takes four times as long; idle slots do not count. */
static void test_busy_users_are_counted_at_the_start(void **state)
{
	uint64_t free_at[6] = { 5000, 0, 3000, 100, 0, 2500 };

	(void)state;
	/* at 2000: users 0, 2 and 5 are busy, 3 finished at 100 */
	assert_int_equal(far_link_take(free_at, 6, 1, 2000, 10), 40);
	assert_int_equal(free_at[1], 2040);
	/* asked at 2600: 0 and 2 busy (5 finished at 2500), 1 finished too */
	assert_int_equal(far_link_take(free_at, 6, 4, 2600, 10), 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_link_starts_now),
		cmocka_unit_test(test_own_transfers_queue),
		cmocka_unit_test(test_zero_length_costs_only_the_wait),
		cmocka_unit_test(test_a_flood_slows_others_by_their_share_only),
		cmocka_unit_test(test_busy_users_are_counted_at_the_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
