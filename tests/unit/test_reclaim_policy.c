/* Unit tests of the harvesting policy (mm/reclaim_policy.c): watermarks, victim order, never below min. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "mm/reclaim_policy.h"

#define MIB (1ULL << 20)

static void test_goal_watermarks(void **state)
{
	(void)state;
	/* enough memory and nobody waits: nothing to do */
	assert_int_equal(reclaim_goal(100 * MIB, 32 * MIB, 64 * MIB, false), 0);
	assert_int_equal(reclaim_goal(32 * MIB, 32 * MIB, 64 * MIB, false), 0);
	/* below low: up to high */
	assert_int_equal(reclaim_goal(31 * MIB, 32 * MIB, 64 * MIB, false), 33 * MIB);
	assert_int_equal(reclaim_goal(0, 32 * MIB, 64 * MIB, false), 64 * MIB);
	/* a VM waits: reclaim even above low, at least one 2 MiB block */
	assert_int_equal(reclaim_goal(100 * MIB, 32 * MIB, 64 * MIB, true), 2 * MIB);
	assert_int_equal(reclaim_goal(40 * MIB, 32 * MIB, 64 * MIB, true), 24 * MIB);
	/* watermarks of zero: only waiting VMs trigger anything */
	assert_int_equal(reclaim_goal(0, 0, 0, false), 0);
	assert_int_equal(reclaim_goal(0, 0, 0, true), 2 * MIB);
}

static void test_order_most_idle_first(void **state)
{
	const struct reclaim_vm v[] = {
		{ .backed = 100 * MIB, .min = 10 * MIB, .idle = 20 * MIB },
		{ .backed = 200 * MIB, .min = 10 * MIB, .idle = 150 * MIB },
		{ .backed = 50 * MIB, .min = 10 * MIB, .idle = 0, .volatile_bytes = 30 * MIB },
		{ .backed = 64 * MIB, .min = 16 * MIB, .idle = 0 },
	};
	unsigned order[4];

	(void)state;
	assert_int_equal(reclaim_order(v, 4, order), 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 0);
}

/* A VM at its lower bound gives nothing, however idle it looks; above it, at most what is above. */
static void test_never_below_min(void **state)
{
	const struct reclaim_vm v[] = {
		{ .backed = 16 * MIB, .min = 16 * MIB, .idle = 16 * MIB, .volatile_bytes = 16 * MIB },
		{ .backed = 18 * MIB, .min = 16 * MIB, .idle = 100 * MIB },
		{ .backed = 40 * MIB, .min = 16 * MIB, .idle = 10 * MIB },
		{ .backed = 8 * MIB, .min = 16 * MIB, .idle = 8 * MIB },
	};
	unsigned order[4];

	(void)state;
	/* worth: vm1 2 MiB (capped at backed - min), vm2 10 MiB; vm0 and vm3 are at or below min */
	assert_int_equal(reclaim_order(v, 4, order), 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
}

static void test_ties_keep_order(void **state)
{
	const struct reclaim_vm v[] = {
		{ .backed = 64 * MIB, .min = 4 * MIB, .idle = 8 * MIB },
		{ .backed = 64 * MIB, .min = 4 * MIB, .idle = 8 * MIB },
		{ .backed = 64 * MIB, .min = 4 * MIB, .idle = 9 * MIB },
	};
	unsigned order[3];

	(void)state;
	assert_int_equal(reclaim_order(v, 3, order), 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 1);
	assert_int_equal(reclaim_order(v, 0, order), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goal_watermarks),
		cmocka_unit_test(test_order_most_idle_first),
		cmocka_unit_test(test_never_below_min),
		cmocka_unit_test(test_ties_keep_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
