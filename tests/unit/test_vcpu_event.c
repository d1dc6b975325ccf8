/* Unit tests of the vCPU event queue (hv/vcpu_event.c): the SDM's double-fault rule (vol. 3A, table 6-5), re-injection, interrupts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <emhv/x86_regs.h>
#include "hv/vcpu_event.h"

static struct virt_event exc(uint8_t vector)
{
	return (struct virt_event){ .type = VEV_HW_EXC, .vector = vector };
}

/* The classes of table 6-4, written out here independently of the code under test. */
static const uint8_t benign[] = { VEC_DB, VEC_NMI, VEC_BP, VEC_OF, VEC_BR, VEC_UD, VEC_NM, 9, VEC_MF, VEC_AC,
				  VEC_MC, VEC_XM, VEC_VE, VEC_CP };
static const uint8_t contributory[] = { VEC_DE, VEC_TS, VEC_NP, VEC_SS, VEC_GP };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_merge(uint8_t first, uint8_t second, enum event_merge want, uint8_t want_vector)
{
	struct virt_event a = exc(first), b = exc(second), out = { 0 };
	enum event_merge r = event_merge(&a, &b, &out);

	if (r != want)
		fail_msg("exception %u then %u: result %d, want %d", first, second, r, want);
	if (want != EVENT_TRIPLE_FAULT && out.vector != want_vector)
		fail_msg("exception %u then %u: vector %u, want %u", first, second, out.vector, want_vector);
}

static void test_table_6_5(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(benign); i++) {
		for (size_t j = 0; j < N(benign); j++)
			expect_merge(benign[i], benign[j], EVENT_QUEUED, benign[j]);
		for (size_t j = 0; j < N(contributory); j++)
			expect_merge(benign[i], contributory[j], EVENT_QUEUED, contributory[j]);
		expect_merge(benign[i], VEC_PF, EVENT_QUEUED, VEC_PF);
	}
	for (size_t i = 0; i < N(contributory); i++) {
		for (size_t j = 0; j < N(benign); j++)
			expect_merge(contributory[i], benign[j], EVENT_QUEUED, benign[j]);
		for (size_t j = 0; j < N(contributory); j++)
			expect_merge(contributory[i], contributory[j], EVENT_DOUBLE_FAULT, VEC_DF);
		expect_merge(contributory[i], VEC_PF, EVENT_QUEUED, VEC_PF);
	}
	for (size_t j = 0; j < N(benign); j++)
		expect_merge(VEC_PF, benign[j], EVENT_QUEUED, benign[j]);
	for (size_t j = 0; j < N(contributory); j++)
		expect_merge(VEC_PF, contributory[j], EVENT_DOUBLE_FAULT, VEC_DF);
	expect_merge(VEC_PF, VEC_PF, EVENT_DOUBLE_FAULT, VEC_DF);
	/* a double fault followed by a contributory exception or a page fault shuts down */
	for (size_t j = 0; j < N(contributory); j++)
		expect_merge(VEC_DF, contributory[j], EVENT_TRIPLE_FAULT, 0);
	expect_merge(VEC_DF, VEC_PF, EVENT_TRIPLE_FAULT, 0);
	expect_merge(VEC_DF, VEC_DF, EVENT_TRIPLE_FAULT, 0);
}

static void test_double_fault_has_error_code_zero(void **state)
{
	struct virt_event a = exc(VEC_GP), b = exc(VEC_GP), out;

	(void)state;
	a.has_error = b.has_error = true;
	a.error = 0x18;
	b.error = 0x20;
	assert_int_equal(event_merge(&a, &b, &out), EVENT_DOUBLE_FAULT);
	assert_int_equal(out.type, VEV_HW_EXC);
	assert_true(out.has_error);
	assert_int_equal(out.error, 0);
}

/* Events that are not exceptions are benign firsts: the exception goes in, the interrupt waits. */
static void test_interrupt_then_exception(void **state)
{
	struct vcpu_events q;
	struct virt_event ext = { .type = VEV_EXTINT, .vector = 0x30 }, nmi = { .type = VEV_NMI, .vector = 2 }, out;
	bool window;

	(void)state;
	event_reset(&q);
	event_requeue(&q, &ext);
	assert_int_equal(event_raise(&q, VEC_GP, true, 0), EVENT_QUEUED);
	assert_true(event_next(&q, true, &out, &window));
	assert_int_equal(out.type, VEV_HW_EXC);
	assert_int_equal(out.vector, VEC_GP);
	assert_true(window); /* the interrupt still waits */
	assert_true(event_next(&q, true, &out, &window));
	assert_int_equal(out.type, VEV_EXTINT);
	assert_int_equal(out.vector, 0x30);
	assert_false(event_pending(&q));

	event_requeue(&q, &nmi);
	assert_int_equal(event_raise(&q, VEC_PF, true, 2), EVENT_QUEUED);
	assert_true(event_next(&q, false, &out, &window));
	assert_int_equal(out.vector, VEC_PF);
	assert_true(q.nmi);
}

/* The everyday case: a #PF whose delivery hit a growth fault goes in again unchanged; a #GP raised meanwhile merges. */
static void test_requeue_then_raise(void **state)
{
	struct vcpu_events q;
	struct virt_event pf = { .type = VEV_HW_EXC, .vector = VEC_PF, .has_error = true, .error = 6 }, out;
	bool window;

	(void)state;
	event_reset(&q);
	event_requeue(&q, &pf);
	assert_true(event_next(&q, false, &out, &window));
	assert_memory_equal(&out, &pf, sizeof(out));
	assert_false(window);
	assert_false(event_pending(&q));

	event_requeue(&q, &pf);
	assert_int_equal(event_raise(&q, VEC_GP, true, 0), EVENT_DOUBLE_FAULT);
	assert_true(event_next(&q, false, &out, &window));
	assert_int_equal(out.vector, VEC_DF);
	event_requeue(&q, &out); /* the #DF's delivery was cut short, then a #GP: shutdown */
	assert_int_equal(event_raise(&q, VEC_GP, true, 0), EVENT_TRIPLE_FAULT);
	assert_false(event_pending(&q));
}

static void test_software_events_requeue_unchanged(void **state)
{
	struct vcpu_events q;
	struct virt_event sw = { .type = VEV_SW_INT, .vector = 0x80, .insn_len = 2 }, out;
	bool window;

	(void)state;
	event_reset(&q);
	event_requeue(&q, &sw);
	assert_true(event_next(&q, false, &out, &window));
	assert_memory_equal(&out, &sw, sizeof(out));
	/* nothing requeued: the queue stays empty */
	sw.type = VEV_NONE;
	event_requeue(&q, &sw);
	assert_false(event_pending(&q));
	assert_false(event_next(&q, true, &out, &window));
	assert_false(window);
}

static void test_interrupts_wait_for_the_window(void **state)
{
	struct vcpu_events q;
	struct virt_event out;
	bool window;

	(void)state;
	event_reset(&q);
	assert_int_equal(event_highest_irq(&q), -1);
	event_set_irq(&q, 0x41);
	event_set_irq(&q, 0xef);
	event_set_irq(&q, 0x20);
	assert_int_equal(event_highest_irq(&q), 0xef);
	assert_false(event_next(&q, false, &out, &window));
	assert_true(window);
	assert_true(event_next(&q, true, &out, &window));
	assert_int_equal(out.type, VEV_EXTINT);
	assert_int_equal(out.vector, 0xef);
	assert_true(window);
	assert_true(event_next(&q, true, &out, &window));
	assert_int_equal(out.vector, 0x41);
	assert_true(event_next(&q, true, &out, &window));
	assert_int_equal(out.vector, 0x20);
	assert_false(window);
	assert_false(event_pending(&q));
	/* vector 255 and 64 sit at word edges */
	event_set_irq(&q, 255);
	event_set_irq(&q, 64);
	assert_int_equal(event_highest_irq(&q), 255);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_6_5),
		cmocka_unit_test(test_double_fault_has_error_code_zero),
		cmocka_unit_test(test_interrupt_then_exception),
		cmocka_unit_test(test_requeue_then_raise),
		cmocka_unit_test(test_software_events_requeue_unchanged),
		cmocka_unit_test(test_interrupts_wait_for_the_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
