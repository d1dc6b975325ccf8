/* The far node's link as a token bucket (mm/far_node.h): transfers queue, an idle link starts at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "mm/far_node.h"

static void test_idle_link_starts_now(void **state)
{
	uint64_t free_at = 0;

	(void)state;
	assert_int_equal(far_link_take(&free_at, 1000, 50), 50);
	assert_int_equal(free_at, 1050);
	/* long after: idle again, no wait */
	assert_int_equal(far_link_take(&free_at, 5000, 50), 50);
	assert_int_equal(free_at, 5050);
}

static void test_busy_link_queues(void **state)
{
	uint64_t free_at = 0;

	(void)state;
	far_link_take(&free_at, 1000, 100); /* busy until 1100 */
	/* asked at 1010: waits 90, then 100 of its own */
	assert_int_equal(far_link_take(&free_at, 1010, 100), 190);
	assert_int_equal(free_at, 1200);
	/* three VMs at once share it: each waits for the ones before */
	assert_int_equal(far_link_take(&free_at, 1200, 10), 10);
	assert_int_equal(far_link_take(&free_at, 1200, 10), 20);
	assert_int_equal(far_link_take(&free_at, 1200, 10), 30);
}

static void test_zero_length_costs_only_the_wait(void **state)
{
	uint64_t free_at = 300;

	(void)state;
	assert_int_equal(far_link_take(&free_at, 100, 0), 200);
	assert_int_equal(free_at, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_link_starts_now),
		cmocka_unit_test(test_busy_link_queues),
		cmocka_unit_test(test_zero_length_costs_only_the_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
