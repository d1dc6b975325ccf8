/* Unit tests of the guest's I/O APIC (drivers/vdev/vioapic.c) against the 82093AA datasheet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/vdev/vioapic.h"

/* ---- the fake local APIC: every delivery recorded ---- */

struct delivery {
	uint8_t dest, vector;
	bool logical, level;
};

static struct delivery got[64];
static unsigned ngot;

static void record(void *ctx, uint8_t dest, bool logical, uint8_t vector, bool level)
{
	(void)ctx;
	if (ngot < 64)
		got[ngot] = (struct delivery){ dest, vector, logical, level };
	ngot++;
}

static void new_ioapic(struct vioapic *io)
{
	ngot = 0;
	memset(got, 0, sizeof(got));
	vioapic_init(io, 0, record, NULL);
}

static uint32_t reg(struct vioapic *io, uint32_t index)
{
	vioapic_write(io, IOAPIC_REGSEL, index);
	return vioapic_read(io, IOAPIC_WINDOW);
}

static void set_reg(struct vioapic *io, uint32_t index, uint32_t val)
{
	vioapic_write(io, IOAPIC_REGSEL, index);
	vioapic_write(io, IOAPIC_WINDOW, val);
}

/* Program line's entry as Linux does: high half (destination) first, then low. */
static void route(struct vioapic *io, unsigned line, uint32_t lo, uint8_t dest)
{
	set_reg(io, IOAPIC_REG_RTE + 2 * line + 1, (uint32_t)dest << 24);
	set_reg(io, IOAPIC_REG_RTE + 2 * line, lo);
}

static uint32_t rte_lo(struct vioapic *io, unsigned line)
{
	return reg(io, IOAPIC_REG_RTE + 2 * line);
}

#define LEVEL ((uint32_t)IOAPIC_RTE_LEVEL)
#define MASKED ((uint32_t)IOAPIC_RTE_MASKED)
#define ACTIVE_LOW ((uint32_t)IOAPIC_RTE_ACTIVE_LOW)
#define REMOTE_IRR ((uint32_t)IOAPIC_RTE_REMOTE_IRR)

static void test_registers(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	/* IOREGSEL keeps bits 7:0 */
	vioapic_write(&io, IOAPIC_REGSEL, 0x12345601);
	assert_int_equal(vioapic_read(&io, IOAPIC_REGSEL), 0x01);
	assert_int_equal(vioapic_read(&io, IOAPIC_WINDOW), 0x00170020); /* version 0x20, 24 entries */
	assert_int_equal(reg(&io, IOAPIC_REG_ID), 0);
	set_reg(&io, IOAPIC_REG_ID, 0xffffffff); /* ID: bits 27:24 */
	assert_int_equal(reg(&io, IOAPIC_REG_ID), 0x0f000000);
	set_reg(&io, IOAPIC_REG_ID, 0x02000000);
	assert_int_equal(reg(&io, IOAPIC_REG_ID), 0x02000000);
	assert_int_equal(reg(&io, IOAPIC_REG_ARB), 0x02000000);
	set_reg(&io, IOAPIC_REG_VER, 0);
	set_reg(&io, IOAPIC_REG_ARB, 0);
	assert_int_equal(reg(&io, IOAPIC_REG_VER), 0x00170020);
	assert_int_equal(reg(&io, IOAPIC_REG_ARB), 0x02000000);
	/* unimplemented indirect registers and the ones past the table */
	assert_int_equal(reg(&io, 0x03), 0);
	assert_int_equal(reg(&io, 0x0f), 0);
	set_reg(&io, 0x40, 0xffffffff);
	assert_int_equal(reg(&io, 0x40), 0);
	assert_int_equal(reg(&io, 0xff), 0);
	/* other offsets, and other sizes on the bus */
	vioapic_write(&io, IOAPIC_REGSEL, IOAPIC_REG_VER);
	assert_int_equal(vioapic_read(&io, 0x04), 0);
	assert_int_equal(vioapic_read(&io, 0x20), 0);
	assert_int_equal(vioapic_read(&io, IOAPIC_EOI), 0);
	assert_int_equal(vioapic_ops.read(&io, IOAPIC_WINDOW, 4), 0x00170020);
	assert_int_equal(vioapic_ops.read(&io, IOAPIC_WINDOW, 1), 0);
	assert_int_equal(vioapic_ops.read(&io, IOAPIC_WINDOW, 8), 0);
	vioapic_ops.write(&io, IOAPIC_REGSEL, 1, IOAPIC_REG_ID);
	assert_int_equal(vioapic_read(&io, IOAPIC_REGSEL), IOAPIC_REG_VER);
	vioapic_ops.write(&io, IOAPIC_REGSEL, 4, IOAPIC_REG_ID);
	assert_int_equal(vioapic_ops.read(&io, IOAPIC_REGSEL, 4), IOAPIC_REG_ID);
	assert_string_equal(vioapic_ops.name, "I/O APIC");
}

static void test_redirection_entries(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	for (unsigned i = 0; i < VIOAPIC_PINS; i++) {
		assert_int_equal(reg(&io, IOAPIC_REG_RTE + 2 * i), 0x00010000); /* masked after reset */
		assert_int_equal(reg(&io, IOAPIC_REG_RTE + 2 * i + 1), 0);
	}
	/* writable: vector, delivery mode, destination mode, polarity, trigger, mask; destination 63:56 */
	set_reg(&io, IOAPIC_REG_RTE + 2 * 5, 0xffffffff);
	set_reg(&io, IOAPIC_REG_RTE + 2 * 5 + 1, 0xffffffff);
	assert_int_equal(reg(&io, IOAPIC_REG_RTE + 2 * 5), 0x0001afff);
	assert_int_equal(reg(&io, IOAPIC_REG_RTE + 2 * 5 + 1), 0xff000000);
	/* the other entries did not change */
	assert_int_equal(reg(&io, IOAPIC_REG_RTE + 2 * 4), 0x00010000);
	assert_int_equal(reg(&io, IOAPIC_REG_RTE + 2 * 6 + 1), 0);
	/* the last entry is 0x3e/0x3f */
	set_reg(&io, IOAPIC_REG_RTE + 2 * 23, 0x42);
	set_reg(&io, IOAPIC_REG_RTE + 2 * 23 + 1, 0x0a000000);
	assert_int_equal(reg(&io, 0x3e), 0x42);
	assert_int_equal(reg(&io, 0x3f), 0x0a000000);
	/* Remote IRR is read-only: writes neither set nor clear it */
	route(&io, 2, LEVEL | 0x40, 0);
	vioapic_set_irq(&io, 2, true);
	assert_int_equal(rte_lo(&io, 2), LEVEL | REMOTE_IRR | 0x40);
	set_reg(&io, IOAPIC_REG_RTE + 2 * 2, LEVEL | MASKED | 0x40); /* bit 14 written 0 */
	assert_int_equal(rte_lo(&io, 2), LEVEL | MASKED | REMOTE_IRR | 0x40);
	route(&io, 3, LEVEL | REMOTE_IRR | (uint32_t)IOAPIC_RTE_DELIVS | 0x41, 0);
	assert_int_equal(rte_lo(&io, 3), LEVEL | 0x41);
	/* switching an entry to edge clears a Remote IRR (how Linux unsticks a line) */
	set_reg(&io, IOAPIC_REG_RTE + 2 * 2, MASKED | 0x40);
	assert_int_equal(rte_lo(&io, 2), MASKED | 0x40);
}

static void test_edge(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	route(&io, 4, 0x31, 0x01);
	assert_int_equal(ngot, 0); /* programming an edge entry sends nothing */
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].dest, 0x01);
	assert_int_equal(got[0].vector, 0x31);
	assert_false(got[0].logical);
	assert_false(got[0].level);
	vioapic_set_irq(&io, 4, true); /* still high: no edge */
	assert_int_equal(ngot, 1);
	vioapic_set_irq(&io, 4, false); /* falling: no edge */
	assert_int_equal(ngot, 1);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(ngot, 2);
	assert_int_equal(rte_lo(&io, 4), 0x31); /* no Remote IRR for edge entries */
	/* an edge on a masked line is lost, also when the line is unmasked later */
	vioapic_set_irq(&io, 4, false);
	route(&io, 4, MASKED | 0x31, 0x01);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(ngot, 2);
	route(&io, 4, 0x31, 0x01);
	assert_int_equal(ngot, 2);
	vioapic_set_irq(&io, 4, false);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(ngot, 3);
	/* an EOI of an edge vector changes nothing */
	vioapic_eoi(&io, 0x31);
	assert_int_equal(ngot, 3);
	/* other lines are independent */
	route(&io, 5, 0x32, 0x00);
	vioapic_set_irq(&io, 5, true);
	assert_int_equal(ngot, 4);
	assert_int_equal(got[3].vector, 0x32);
	assert_int_equal(io.stats.delivered, 4);
}

static void test_level_remote_irr_and_eoi(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	route(&io, 9, LEVEL | (uint32_t)IOAPIC_RTE_LOGICAL | 0x61, 0x03);
	assert_int_equal(ngot, 0);
	vioapic_set_irq(&io, 9, true);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].dest, 0x03);
	assert_int_equal(got[0].vector, 0x61);
	assert_true(got[0].logical);
	assert_true(got[0].level);
	assert_true(rte_lo(&io, 9) & REMOTE_IRR);
	vioapic_set_irq(&io, 9, true); /* asserted again before the EOI: nothing */
	assert_int_equal(ngot, 1);
	vioapic_eoi(&io, 0x62); /* another vector: nothing */
	assert_int_equal(ngot, 1);
	assert_true(rte_lo(&io, 9) & REMOTE_IRR);
	vioapic_eoi(&io, 0x61); /* still asserted: delivered again */
	assert_int_equal(ngot, 2);
	assert_true(rte_lo(&io, 9) & REMOTE_IRR);
	vioapic_set_irq(&io, 9, false);
	assert_int_equal(ngot, 2);
	vioapic_eoi(&io, 0x61); /* now low: Remote IRR clears, nothing sent */
	assert_int_equal(ngot, 2);
	assert_false(rte_lo(&io, 9) & REMOTE_IRR);
	vioapic_eoi(&io, 0x61);
	assert_int_equal(ngot, 2);
	vioapic_set_irq(&io, 9, true);
	assert_int_equal(ngot, 3);
	/* the EOI register at 0x40 does the same */
	vioapic_write(&io, IOAPIC_EOI, 0x61);
	assert_int_equal(ngot, 4);
	vioapic_set_irq(&io, 9, false);
	vioapic_ops.write(&io, IOAPIC_EOI, 4, 0x61);
	assert_false(rte_lo(&io, 9) & REMOTE_IRR);
	assert_int_equal(ngot, 4);
}

/* Two lines sharing a vector: one EOI ends both. */
static void test_shared_vector_eoi(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	route(&io, 10, LEVEL | 0x70, 0);
	route(&io, 11, LEVEL | 0x70, 0);
	vioapic_set_irq(&io, 10, true);
	vioapic_set_irq(&io, 11, true);
	assert_int_equal(ngot, 2);
	vioapic_set_irq(&io, 10, false);
	vioapic_eoi(&io, 0x70);
	assert_int_equal(ngot, 3); /* line 11 still asserted */
	assert_false(rte_lo(&io, 10) & REMOTE_IRR);
	assert_true(rte_lo(&io, 11) & REMOTE_IRR);
}

static void test_masked_level_line(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	route(&io, 7, LEVEL | MASKED | 0x50, 0);
	vioapic_set_irq(&io, 7, true);
	assert_int_equal(ngot, 0);
	assert_false(rte_lo(&io, 7) & REMOTE_IRR);
	route(&io, 7, LEVEL | 0x50, 0); /* unmasked while asserted: sent */
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].vector, 0x50);
	assert_true(rte_lo(&io, 7) & REMOTE_IRR);
	/* masked again before the EOI: the EOI sends nothing, unmasking sends it */
	route(&io, 7, LEVEL | MASKED | 0x50, 0);
	vioapic_eoi(&io, 0x50);
	assert_int_equal(ngot, 1);
	assert_false(rte_lo(&io, 7) & REMOTE_IRR);
	route(&io, 7, LEVEL | 0x50, 0);
	assert_int_equal(ngot, 2);
	/* a line that dropped while masked is not sent when unmasked */
	vioapic_eoi(&io, 0x50);
	assert_int_equal(ngot, 3);
	route(&io, 7, LEVEL | MASKED | 0x50, 0);
	vioapic_eoi(&io, 0x50);
	vioapic_set_irq(&io, 7, false);
	route(&io, 7, LEVEL | 0x50, 0);
	assert_int_equal(ngot, 3);
}

static void test_polarity(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	/* active-low level: a line at rest (high) is not asserted */
	vioapic_set_irq(&io, 12, true);
	route(&io, 12, LEVEL | ACTIVE_LOW | 0x80, 0);
	assert_int_equal(ngot, 0);
	vioapic_set_irq(&io, 12, false); /* driven low: asserted */
	assert_int_equal(ngot, 1);
	assert_true(got[0].level);
	vioapic_set_irq(&io, 12, true);
	vioapic_eoi(&io, 0x80);
	assert_int_equal(ngot, 1);
	/* programmed active-low while the input is low: asserted, sent at once */
	route(&io, 13, LEVEL | ACTIVE_LOW | 0x81, 0);
	assert_int_equal(ngot, 2);
	assert_int_equal(got[1].vector, 0x81);
	/* active-high level with the input low: nothing */
	route(&io, 14, LEVEL | 0x82, 0);
	assert_int_equal(ngot, 2);
	/* active-low edge: the falling input is the edge */
	vioapic_set_irq(&io, 15, true);
	route(&io, 15, ACTIVE_LOW | 0x83, 0);
	assert_int_equal(ngot, 2);
	vioapic_set_irq(&io, 15, false);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[2].vector, 0x83);
	assert_false(got[2].level);
	vioapic_set_irq(&io, 15, true); /* rising input: no edge */
	assert_int_equal(ngot, 3);
	vioapic_set_irq(&io, 15, false);
	assert_int_equal(ngot, 4);
}

static void test_delivery_modes(void **state)
{
	static const uint32_t others[] = { 2, 4, 5, 7 }; /* SMI, NMI, INIT, ExtINT */
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	route(&io, 0, (1u << 8) | 0x90, 0x0f); /* lowest priority: delivered as fixed */
	vioapic_set_irq(&io, 0, true);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].dest, 0x0f);
	for (unsigned i = 0; i < 4; i++) {
		route(&io, 1 + i, (others[i] << 8) | 0x91, 0);
		vioapic_set_irq(&io, 1 + i, true);
	}
	assert_int_equal(ngot, 1);
	assert_int_equal(io.stats.dropped, 4);
	assert_int_equal(io.stats.delivered, 1);
}

static void test_line_out_of_range(void **state)
{
	struct vioapic io;

	(void)state;
	new_ioapic(&io);
	for (unsigned i = 0; i < VIOAPIC_PINS; i++)
		route(&io, i, 0x40 + i, 0);
	vioapic_set_irq(&io, VIOAPIC_PINS, true);
	vioapic_set_irq(&io, 32, true);
	vioapic_set_irq(&io, 1000, true);
	vioapic_set_irq(&io, ~0u, true);
	assert_int_equal(ngot, 0);
	assert_int_equal(io.input, 0);
	vioapic_set_irq(&io, VIOAPIC_PINS - 1, true);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].vector, 0x40 + VIOAPIC_PINS - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_redirection_entries),
		cmocka_unit_test(test_edge),
		cmocka_unit_test(test_level_remote_irr_and_eoi),
		cmocka_unit_test(test_shared_vector_eoi),
		cmocka_unit_test(test_masked_level_line),
		cmocka_unit_test(test_polarity),
		cmocka_unit_test(test_delivery_modes),
		cmocka_unit_test(test_line_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
