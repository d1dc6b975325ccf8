/*
 * The far share's eviction policies (mm/far_queue.c) over pages of the test's own: FIFO, RANDOM,
 * CLOCK with its second chances, LRU by age, pages no longer local, and stride detection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "mm/far_queue.h"

#define PAGES 64

/* The test's pages: accessed bits, ages, prefetch marks, and which are local; looks counted. */
static struct {
	bool accessed[PAGES], ahead[PAGES], gone[PAGES];
	int age[PAGES];
	unsigned looks;
} pg;

static int t_look(void *ctx, uint64_t page)
{
	int a = pg.accessed[page];

	(void)ctx;
	pg.looks++;
	if (pg.gone[page])
		return -1;
	pg.accessed[page] = false;
	return a;
}

static int t_age(void *ctx, uint64_t page)
{
	(void)ctx;
	return pg.gone[page] ? -1 : pg.age[page];
}

static bool t_ahead(void *ctx, uint64_t page)
{
	(void)ctx;
	return pg.ahead[page];
}

static const struct far_queue_ops ops = { t_look, t_age, t_ahead };
static uint32_t ring[8];

/* A queue of capacity 8 holding pages first.. in that order, its head part way round the ring. */
static struct far_queue queue_of(uint64_t first, unsigned n)
{
	struct far_queue q = { .e = ring, .head = 5, .cap = 8, .rng = 1 };

	memset(&pg, 0, sizeof(pg));
	for (unsigned i = 0; i < n; i++)
		far_queue_push(&q, first + i);
	return q;
}

static uint64_t victim(struct far_queue *q, enum far_policy p)
{
	far_queue_choose(q, p, &ops, NULL);
	return far_queue_pop(q);
}

static void test_fifo_takes_the_oldest(void **state)
{
	struct far_queue q = queue_of(10, 8);

	(void)state;
	pg.accessed[10] = true; /* FIFO looks at nothing */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(victim(&q, FAR_FIFO), 10 + i);
	assert_int_equal(q.n, 0);
	assert_int_equal(pg.looks, 0);
}

static void test_unpop_puts_it_back_first(void **state)
{
	struct far_queue q = queue_of(10, 3);

	(void)state;
	assert_int_equal(far_queue_pop(&q), 10);
	far_queue_unpop(&q);
	assert_int_equal(q.n, 3);
	assert_int_equal(far_queue_pop(&q), 10);
	assert_int_equal(far_queue_pop(&q), 11);
}

/* RANDOM: every page once, in an order that is not FIFO's, each victim one of those queued. */
static void test_random_takes_each_page_once(void **state)
{
	struct far_queue q = queue_of(20, 8);
	bool seen[8] = { false };
	unsigned in_order = 0;

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		uint64_t v = victim(&q, FAR_RANDOM);

		assert_in_range(v, 20, 27);
		assert_false(seen[v - 20]);
		seen[v - 20] = true;
		in_order += v == 20 + i;
	}
	assert_true(in_order < 8);
}

static void test_clock_gives_accessed_pages_a_second_chance(void **state)
{
	struct far_queue q = queue_of(30, 5);

	(void)state;
	pg.accessed[30] = pg.accessed[31] = pg.accessed[33] = true;
	/* 30 and 31 were accessed: bits cleared, to the back; 32 goes */
	assert_int_equal(victim(&q, FAR_CLOCK), 32);
	assert_false(pg.accessed[30] || pg.accessed[31]);
	assert_true(pg.accessed[33]); /* not looked at yet */
	/* then 33 (accessed) goes round, and 34 is the victim */
	assert_int_equal(victim(&q, FAR_CLOCK), 34);
	/* the rest, all looked at once: in their new order 30, 31, 33 */
	assert_int_equal(victim(&q, FAR_CLOCK), 30);
	assert_int_equal(victim(&q, FAR_CLOCK), 31);
	assert_int_equal(victim(&q, FAR_CLOCK), 33);
}

/* Every page accessed: one round clears them all, and the oldest goes. */
static void test_clock_all_accessed_takes_the_oldest(void **state)
{
	struct far_queue q = queue_of(40, 4);

	(void)state;
	for (unsigned i = 40; i < 44; i++)
		pg.accessed[i] = true;
	assert_int_equal(victim(&q, FAR_CLOCK), 40);
	assert_int_equal(pg.looks, 5);
}

/* A prefetched page not touched yet gets one round more; after that it can go untouched. */
static void test_clock_lets_a_prefetched_page_wait_one_round(void **state)
{
	struct far_queue q = queue_of(50, 3);

	(void)state;
	pg.ahead[50] = true;
	pg.accessed[51] = true;
	assert_int_equal(victim(&q, FAR_CLOCK), 52); /* 50 waits, 51 had its bit */
	assert_int_equal(victim(&q, FAR_CLOCK), 50); /* its round is over: 51's bit is clear, 50 is older */
	assert_int_equal(victim(&q, FAR_CLOCK), 51);
}

/* A page that is not local any more is chosen at once, for the caller to skip. */
static void test_pages_gone_are_chosen_at_once(void **state)
{
	struct far_queue q = queue_of(0, 6);

	(void)state;
	pg.accessed[0] = true;
	pg.gone[1] = true;
	assert_int_equal(victim(&q, FAR_CLOCK), 1);
	q = queue_of(0, 6);
	pg.age[0] = 9;
	pg.gone[2] = true;
	assert_int_equal(victim(&q, FAR_LRU), 2);
}

static void test_lru_takes_the_oldest_age_among_the_first(void **state)
{
	struct far_queue q = queue_of(0, 8);

	(void)state;
	pg.age[3] = 5;
	pg.age[6] = 7;
	pg.age[7] = 7; /* a tie: the older in the queue */
	assert_int_equal(victim(&q, FAR_LRU), 6);
	assert_int_equal(victim(&q, FAR_LRU), 7);
	assert_int_equal(victim(&q, FAR_LRU), 3);
	/* all of age 0: the front (2; the choices before swapped 0 and 1 back) */
	assert_int_equal(victim(&q, FAR_LRU), 2);
}

static void test_stride_is_the_majority_of_the_steps(void **state)
{
	const uint64_t seq[] = { 16, 12, 8, 4 }, back[] = { 1, 4, 7, 10 }, first_last[] = { 30, 20, 17, 7 },
		       last_two[] = { 99, 20, 10, 0 }, first_two[] = { 30, 20, 10, 7 }, random[] = { 91, 3, 57, 20 },
		       repeat[] = { 5, 5, 5, 5 };

	(void)state;
	assert_int_equal(far_stride(seq), 4);
	assert_int_equal(far_stride(back), -3);
	assert_int_equal(far_stride(first_last), 10); /* steps 10, 3, 10 */
	assert_int_equal(far_stride(last_two), 10);   /* 79, 10, 10 */
	assert_int_equal(far_stride(first_two), 10);  /* 10, 10, 3 */
	assert_int_equal(far_stride(random), 0);
	assert_int_equal(far_stride(repeat), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_takes_the_oldest),
		cmocka_unit_test(test_unpop_puts_it_back_first),
		cmocka_unit_test(test_random_takes_each_page_once),
		cmocka_unit_test(test_clock_gives_accessed_pages_a_second_chance),
		cmocka_unit_test(test_clock_all_accessed_takes_the_oldest),
		cmocka_unit_test(test_clock_lets_a_prefetched_page_wait_one_round),
		cmocka_unit_test(test_pages_gone_are_chosen_at_once),
		cmocka_unit_test(test_lru_takes_the_oldest_age_among_the_first),
		cmocka_unit_test(test_stride_is_the_majority_of_the_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
