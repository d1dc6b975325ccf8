/* Unit tests of the guest's local APIC (drivers/vdev/vlapic.c) against Intel SDM vol. 3A chapter 11; a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/vdev/vlapic.h"

/* ---- the fake host ---- */

static uint64_t clock_now;
static unsigned kicks, nmis, eois;
static uint8_t eoi_vector[16];

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return clock_now;
}

static void fake_kick(void *ctx)
{
	(void)ctx;
	kicks++;
}

static void fake_eoi(void *ctx, uint8_t vector)
{
	(void)ctx;
	if (eois < 16)
		eoi_vector[eois] = vector;
	eois++;
}

static void fake_nmi(void *ctx)
{
	(void)ctx;
	nmis++;
}

static const struct vlapic_host host = { fake_now, fake_kick, fake_eoi, fake_nmi, NULL };

static void new_apic(struct vlapic *l, uint8_t id, uint32_t tsc_per_tick)
{
	clock_now = 1000;
	kicks = nmis = eois = 0;
	memset(eoi_vector, 0, sizeof(eoi_vector));
	vlapic_init(l, id, true, tsc_per_tick, &host);
}

static uint32_t rd(struct vlapic *l, unsigned off)
{
	return vlapic_read(l, off);
}

static void wr(struct vlapic *l, unsigned off, uint32_t val)
{
	vlapic_write(l, off, val);
}

static void sw_enable(struct vlapic *l)
{
	wr(l, APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

static bool bit(struct vlapic *l, unsigned base, unsigned vector)
{
	return rd(l, base + (vector / 32) * 0x10) >> (vector % 32) & 1;
}

/* ESR as software reads it: write, then read (SDM 3A 11.5.3). */
static uint32_t esr(struct vlapic *l)
{
	wr(l, APIC_ESR, 0);
	return rd(l, APIC_ESR);
}

/* ---- registers ---- */

static void test_reset_values(void **state)
{
	struct vlapic l;
	uint64_t v;

	(void)state;
	new_apic(&l, 3, 1);
	assert_int_equal(rd(&l, APIC_ID), 3u << 24);
	assert_int_equal(rd(&l, APIC_LVR), 0x00050014);
	assert_int_equal(rd(&l, APIC_TPR), 0);
	assert_int_equal(rd(&l, APIC_APR), 0);
	assert_int_equal(rd(&l, APIC_PPR), 0);
	assert_int_equal(rd(&l, APIC_LDR), 0);
	assert_int_equal(rd(&l, APIC_DFR), 0xffffffff);
	assert_int_equal(rd(&l, APIC_SVR), 0xff);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(rd(&l, APIC_ISR + 0x10 * i), 0);
		assert_int_equal(rd(&l, APIC_TMR + 0x10 * i), 0);
		assert_int_equal(rd(&l, APIC_IRR + 0x10 * i), 0);
	}
	assert_int_equal(rd(&l, APIC_ESR), 0);
	assert_int_equal(rd(&l, APIC_ICR_LO), 0);
	assert_int_equal(rd(&l, APIC_ICR_HI), 0);
	for (unsigned off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10)
		assert_int_equal(rd(&l, off), 0x00010000);
	assert_int_equal(rd(&l, APIC_TMICT), 0);
	assert_int_equal(rd(&l, APIC_TMCCT), 0);
	assert_int_equal(rd(&l, APIC_TDCR), 0);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfee00900); /* BSP, enabled */
	vlapic_init(&l, 1, false, 1, &host);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfee00800);
	assert_int_equal(esr(&l), 0);
}

struct mask_case {
	unsigned off;
	uint32_t write, want;
};

static void test_write_masks(void **state)
{
	static const struct mask_case cases[] = {
		{ APIC_ID, 0xffffffff, 0 },		   /* read-only here */
		{ APIC_LVR, 0xffffffff, 0x00050014 },	   /* read-only */
		{ APIC_TPR, 0xffffffff, 0xff },		   /* bits 7:0 */
		{ APIC_APR, 0xffffffff, 0 },		   /* not arbitrated */
		{ APIC_PPR, 0, 0xff },			   /* computed: TPR above */
		{ APIC_EOI, 0xffffffff, 0 },		   /* write-only */
		{ APIC_LDR, 0xffffffff, 0xff000000 },	   /* logical ID, bits 31:24 */
		{ APIC_DFR, 0x00000000, 0x0fffffff },	   /* model bits 31:28, the rest reads ones */
		{ APIC_DFR, 0xffffffff, 0xffffffff },
		{ APIC_SVR, 0xffffffff, 0x3ff },	   /* vector, enable, focus checking */
		{ APIC_SVR, 0x00000000, 0 },
		{ APIC_ISR + 0x10, 0xffffffff, 0 },	   /* read-only */
		{ APIC_TMR + 0x70, 0xffffffff, 0 },
		{ APIC_IRR + 0x30, 0xffffffff, 0 },
		{ APIC_ICR_HI, 0xffffffff, 0xff000000 },   /* destination */
		{ APIC_LVT_TIMER, 0xffffffff, 0x000700ff }, /* vector, mask, mode; no delivery mode */
		{ APIC_LVT_THERMAL, 0xffffffff, 0x000107ff },
		{ APIC_LVT_PERF, 0xffffffff, 0x000107ff },
		{ APIC_LVT_LINT0, 0xffffffff, 0x0001a7ff }, /* status and Remote IRR read 0 */
		{ APIC_LVT_LINT1, 0xffffffff, 0x0001a7ff },
		{ APIC_LVT_ERROR, 0xffffffff, 0x000100ff },
		{ APIC_TMCCT, 0x12345678, 0 }, /* read-only */
		{ APIC_TMICT, 0xffffffff, 0xffffffff },
		{ APIC_TDCR, 0xffffffff, 0xb },
	};
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t got;

		wr(&l, cases[i].off, cases[i].write);
		got = rd(&l, cases[i].off);
		if (got != cases[i].want)
			fail_msg("register 0x%03x written 0x%08x reads 0x%08x, want 0x%08x", cases[i].off,
				 cases[i].write, got, cases[i].want);
	}
	/* ICR low: bits 12 (delivery status), 13, 16-17, 20-31 read 0; writing sends (to all but self: dropped) */
	wr(&l, APIC_ICR_LO, 0xffffffff);
	assert_int_equal(rd(&l, APIC_ICR_LO), 0x000ccfff);
	assert_int_equal(l.stats.ipi_ignored, 1);
	assert_int_equal(esr(&l), 0); /* none of these is an illegal register */
}

/* LVTs take an unmasked value only while software-enabled; disabling masks them all. */
static void test_lvt_mask_follows_software_enable(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	for (unsigned off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10) {
		wr(&l, off, 0x40);
		assert_int_equal(rd(&l, off), 0x00010040);
	}
	sw_enable(&l);
	for (unsigned off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10) {
		wr(&l, off, 0x40);
		assert_int_equal(rd(&l, off), 0x40);
	}
	wr(&l, APIC_SVR, 0xff);
	for (unsigned off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10)
		assert_int_equal(rd(&l, off), 0x00010040);
	sw_enable(&l); /* re-enabling leaves them masked */
	assert_int_equal(rd(&l, APIC_LVT_LINT0), 0x00010040);
}

static void test_reserved_registers(void **state)
{
	static const unsigned reserved[] = { 0x000, 0x010, 0x040, 0x070, 0x2a0, 0x2f0, 0x3a0, 0x3d0, 0x3f0, 0x400,
					     0xff0 };
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_int_equal(rd(&l, reserved[i]), 0);
		assert_int_equal(esr(&l), APIC_ESR_ILLEGAL_REG);
		wr(&l, reserved[i], 0xffffffff);
		assert_int_equal(esr(&l), APIC_ESR_ILLEGAL_REG);
		assert_int_equal(esr(&l), 0); /* a second write clears it */
	}
	/* the error LVT raises its vector */
	sw_enable(&l);
	wr(&l, APIC_LVT_ERROR, 0xfe);
	rd(&l, 0x3f0);
	assert_true(bit(&l, APIC_IRR, 0xfe));
	assert_int_equal(vlapic_pending(&l), 0xfe);
}

/* ESR shows what was logged before the last write to it, not what happens after (SDM 3A 11.5.3). */
static void test_esr_write_to_read(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	vlapic_set_irq(&l, 3, false);
	assert_int_equal(rd(&l, APIC_ESR), 0); /* not yet written */
	wr(&l, APIC_ESR, 0);
	assert_int_equal(rd(&l, APIC_ESR), APIC_ESR_RECV_ILLEGAL);
	vlapic_set_irq(&l, 7, false);
	wr(&l, APIC_ICR_LO, 0x00040000 | 9); /* self IPI, vector 9 */
	assert_int_equal(rd(&l, APIC_ESR), APIC_ESR_RECV_ILLEGAL); /* unchanged until written */
	wr(&l, APIC_ESR, 0xffffffff);				   /* the value written does not matter */
	assert_int_equal(rd(&l, APIC_ESR), APIC_ESR_RECV_ILLEGAL | APIC_ESR_SEND_ILLEGAL);
	wr(&l, APIC_ESR, 0);
	assert_int_equal(rd(&l, APIC_ESR), 0);
}

static void test_bus_access_sizes(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0x12, 1);
	wr(&l, APIC_TPR, 0xa5);
	assert_int_equal(vlapic_ops.read(&l, APIC_ID, 4), 0x12000000);
	assert_int_equal(vlapic_ops.read(&l, APIC_ID + 3, 1), 0x12);
	assert_int_equal(vlapic_ops.read(&l, APIC_ID + 2, 2), 0x1200);
	assert_int_equal(vlapic_ops.read(&l, APIC_ID, 8), 0x12000000); /* bytes 4-7 read 0 */
	assert_int_equal(vlapic_ops.read(&l, APIC_LVR + 1, 2), 0x0500);
	assert_int_equal(vlapic_ops.read(&l, APIC_LVR + 4, 4), 0);
	assert_int_equal(vlapic_ops.read(&l, APIC_LVR + 12, 4), 0);
	assert_int_equal(vlapic_ops.read(&l, APIC_TPR, 1), 0xa5);
	/* writes other than 32 bits at a register's start are ignored */
	vlapic_ops.write(&l, APIC_TPR, 1, 0x11);
	vlapic_ops.write(&l, APIC_TPR, 8, 0x11);
	vlapic_ops.write(&l, APIC_TPR + 4, 4, 0x11);
	vlapic_ops.write(&l, APIC_TPR + 1, 4, 0x11);
	assert_int_equal(rd(&l, APIC_TPR), 0xa5);
	vlapic_ops.write(&l, APIC_TPR, 4, 0x11);
	assert_int_equal(vlapic_ops.read(&l, APIC_TPR, 4), 0x11);
	assert_string_equal(vlapic_ops.name, "local APIC");
}

/* ---- priorities ---- */

static void in_service(struct vlapic *l, uint8_t vector)
{
	vlapic_set_irq(l, vector, false);
	vlapic_ack(l, vector);
}

static void test_ppr(void **state)
{
	/* SDM 3A 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] with 0 below */
	static const struct {
		uint8_t tpr;
		int isr; /* -1: none in service */
		uint8_t ppr;
	} cases[] = {
		{ 0x00, -1, 0x00 }, { 0x35, -1, 0x35 }, { 0x35, 0x41, 0x40 }, { 0x45, 0x41, 0x45 },
		{ 0x40, 0x4f, 0x40 }, { 0x3f, 0x40, 0x40 }, { 0xff, 0x20, 0xff }, { 0x00, 0xfe, 0xf0 },
		{ 0x1f, 0x2e, 0x20 },
	};
	struct vlapic l;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		new_apic(&l, 0, 1);
		sw_enable(&l);
		if (cases[i].isr >= 0)
			in_service(&l, (uint8_t)cases[i].isr);
		wr(&l, APIC_TPR, cases[i].tpr);
		if (rd(&l, APIC_PPR) != cases[i].ppr)
			fail_msg("TPR 0x%02x, ISR %d: PPR 0x%02x, want 0x%02x", cases[i].tpr, cases[i].isr,
				 rd(&l, APIC_PPR), cases[i].ppr);
	}
	/* two in service: the highest counts */
	new_apic(&l, 0, 1);
	sw_enable(&l);
	in_service(&l, 0x31);
	in_service(&l, 0x92);
	assert_int_equal(rd(&l, APIC_PPR), 0x90);
}

static void test_tpr_holds_back_and_releases(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	wr(&l, APIC_TPR, 0x50);
	vlapic_set_irq(&l, 0x55, false);
	assert_int_equal(vlapic_pending(&l), -1); /* class 5 is not above PPR's class 5 */
	assert_int_equal(kicks, 0);
	vlapic_set_irq(&l, 0x5f, false);
	assert_int_equal(vlapic_pending(&l), -1);
	vlapic_set_irq(&l, 0x61, false);
	assert_int_equal(vlapic_pending(&l), 0x61);
	assert_int_equal(kicks, 1);
	wr(&l, APIC_TPR, 0x70); /* raising TPR holds it back */
	assert_int_equal(vlapic_pending(&l), -1);
	wr(&l, APIC_TPR, 0x4f); /* lowering releases the highest */
	assert_int_equal(vlapic_pending(&l), 0x61);
	assert_int_equal(kicks, 2);
	vlapic_ack(&l, 0x61);
	assert_int_equal(vlapic_pending(&l), -1); /* 0x5f: class 5 below the 6 in service */
	wr(&l, APIC_EOI, 0);
	assert_int_equal(vlapic_pending(&l), 0x5f);
	assert_int_equal(kicks, 3);
	/* CR8 is TPR[7:4] */
	vlapic_set_cr8(&l, 6);
	assert_int_equal(rd(&l, APIC_TPR), 0x60);
	assert_int_equal(vlapic_get_tpr(&l), 0x60);
	assert_int_equal(vlapic_pending(&l), -1);
	vlapic_set_tpr(&l, 0x3c);
	assert_int_equal(vlapic_get_cr8(&l), 3);
	assert_int_equal(rd(&l, APIC_TPR), 0x3c);
	assert_int_equal(vlapic_pending(&l), 0x5f);
}

static void test_nested_interrupts_and_eoi(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	vlapic_set_irq(&l, 0x40, false);
	assert_int_equal(vlapic_pending(&l), 0x40);
	vlapic_ack(&l, 0x40);
	assert_false(bit(&l, APIC_IRR, 0x40));
	assert_true(bit(&l, APIC_ISR, 0x40));
	assert_int_equal(vlapic_pending(&l), -1);
	vlapic_set_irq(&l, 0x41, false); /* same class: waits */
	assert_int_equal(vlapic_pending(&l), -1);
	vlapic_set_irq(&l, 0x80, false); /* higher class: interrupts the handler */
	assert_int_equal(vlapic_pending(&l), 0x80);
	vlapic_ack(&l, 0x80);
	assert_int_equal(rd(&l, APIC_PPR), 0x80);
	vlapic_set_irq(&l, 0x40, false); /* a vector in service can be requested again */
	assert_true(bit(&l, APIC_IRR, 0x40));
	wr(&l, APIC_EOI, 0); /* clears the highest: 0x80 */
	assert_false(bit(&l, APIC_ISR, 0x80));
	assert_true(bit(&l, APIC_ISR, 0x40));
	assert_int_equal(rd(&l, APIC_PPR), 0x40);
	assert_int_equal(vlapic_pending(&l), -1);
	wr(&l, APIC_EOI, 0);
	assert_int_equal(rd(&l, APIC_ISR + 0x20), 0);
	assert_int_equal(vlapic_pending(&l), 0x41);
	vlapic_ack(&l, 0x41);
	assert_int_equal(vlapic_pending(&l), -1);
	wr(&l, APIC_EOI, 0);
	assert_int_equal(vlapic_pending(&l), 0x40);
	vlapic_ack(&l, 0x40);
	wr(&l, APIC_EOI, 0);
	wr(&l, APIC_EOI, 0); /* nothing in service: no effect */
	assert_int_equal(vlapic_pending(&l), -1);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(rd(&l, APIC_ISR + 0x10 * i) | rd(&l, APIC_IRR + 0x10 * i), 0);
	assert_int_equal(eois, 0);
	/* an ack for a vector not requested changes nothing */
	vlapic_ack(&l, 0x33);
	vlapic_ack(&l, -1);
	vlapic_ack(&l, 256);
	assert_int_equal(rd(&l, APIC_ISR + 0x10), 0);
}

static void test_level_eoi_calls_back(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	vlapic_set_irq(&l, 0x61, true);
	assert_true(bit(&l, APIC_TMR, 0x61));
	vlapic_set_irq(&l, 0xa0, false);
	assert_false(bit(&l, APIC_TMR, 0xa0));
	vlapic_ack(&l, 0x61);
	vlapic_ack(&l, 0xa0);
	wr(&l, APIC_EOI, 0); /* 0xa0, edge: no callback */
	assert_int_equal(eois, 0);
	wr(&l, APIC_EOI, 0); /* 0x61, level */
	assert_int_equal(eois, 1);
	assert_int_equal(eoi_vector[0], 0x61);
	/* a later edge acceptance of the vector clears TMR */
	vlapic_set_irq(&l, 0x61, false);
	assert_false(bit(&l, APIC_TMR, 0x61));
	vlapic_ack(&l, 0x61);
	wr(&l, APIC_EOI, 0);
	assert_int_equal(eois, 1);
}

/* The EOI callback may deliver the same level vector again at once (an I/O APIC line still asserted). */
static struct vlapic *reentrant;

static void eoi_redeliver(void *ctx, uint8_t vector)
{
	(void)ctx;
	eois++;
	vlapic_set_irq(reentrant, vector, true);
}

static void test_eoi_callback_may_redeliver(void **state)
{
	struct vlapic l;
	struct vlapic_host h = host;

	(void)state;
	h.eoi = eoi_redeliver;
	new_apic(&l, 0, 1);
	vlapic_init(&l, 0, true, 1, &h);
	reentrant = &l;
	sw_enable(&l);
	vlapic_set_irq(&l, 0x70, true);
	vlapic_ack(&l, 0x70);
	wr(&l, APIC_EOI, 0);
	assert_int_equal(eois, 1);
	assert_false(bit(&l, APIC_ISR, 0x70));
	assert_true(bit(&l, APIC_IRR, 0x70));
	assert_int_equal(vlapic_pending(&l), 0x70);
	assert_true(kicks >= 2);
}

static void test_illegal_vectors(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	for (unsigned v = 0; v < 16; v++)
		vlapic_set_irq(&l, (uint8_t)v, false);
	assert_int_equal(rd(&l, APIC_IRR), 0);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(kicks, 0);
	assert_int_equal(esr(&l), APIC_ESR_RECV_ILLEGAL);
	vlapic_set_irq(&l, 16, false); /* the lowest legal vector */
	assert_int_equal(rd(&l, APIC_IRR), 1u << 16);
	assert_int_equal(esr(&l), 0);
	/* with the error LVT unmasked the error raises its vector */
	wr(&l, APIC_LVT_ERROR, 0xee);
	vlapic_set_irq(&l, 2, true);
	assert_true(bit(&l, APIC_IRR, 0xee));
	assert_false(bit(&l, APIC_TMR, 0xee));
	assert_int_equal(vlapic_pending(&l), 0xee);
	/* a masked error LVT raises nothing */
	wr(&l, APIC_LVT_ERROR, APIC_LVT_MASKED | 0xed);
	vlapic_set_irq(&l, 4, false);
	assert_false(bit(&l, APIC_IRR, 0xed));
	/* an error LVT with an illegal vector of its own is not raised (nor looped on) */
	wr(&l, APIC_LVT_ERROR, 0x05);
	vlapic_set_irq(&l, 1, false);
	assert_int_equal(rd(&l, APIC_IRR), 1u << 16);
	assert_int_equal(esr(&l), APIC_ESR_RECV_ILLEGAL);
}

static void test_software_disable(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1); /* software-disabled after reset */
	vlapic_set_irq(&l, 0x40, false);
	assert_true(bit(&l, APIC_IRR, 0x40)); /* held */
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(kicks, 0);
	sw_enable(&l);
	assert_int_equal(vlapic_pending(&l), 0x40);
	assert_int_equal(kicks, 1);
	wr(&l, APIC_LVT_TIMER, 0x30);
	wr(&l, APIC_SVR, 0x0ff);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_true(bit(&l, APIC_IRR, 0x40)); /* IRR kept */
	assert_int_equal(rd(&l, APIC_LVT_TIMER), 0x00010030);
	vlapic_set_irq(&l, 0x90, false);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(kicks, 1);
	sw_enable(&l);
	assert_int_equal(vlapic_pending(&l), 0x90);
	assert_int_equal(kicks, 2);
}

/* ---- the timer ---- */

static void test_oneshot_timer(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 4); /* 4 TSC cycles per bus clock */
	sw_enable(&l);
	wr(&l, APIC_TDCR, 0xb); /* divide by 1 */
	wr(&l, APIC_LVT_TIMER, 0x30);
	clock_now = 1000;
	wr(&l, APIC_TMICT, 100);
	assert_int_equal(vlapic_next_deadline(&l), 1400);
	assert_int_equal(rd(&l, APIC_TMICT), 100);
	assert_int_equal(rd(&l, APIC_TMCCT), 100);
	clock_now = 1003;
	assert_int_equal(rd(&l, APIC_TMCCT), 100); /* 99.25 clocks left: the count has not moved yet */
	clock_now = 1004;
	assert_int_equal(rd(&l, APIC_TMCCT), 99);
	clock_now = 1200;
	assert_int_equal(rd(&l, APIC_TMCCT), 50);
	clock_now = 1399;
	vlapic_tick(&l);
	assert_int_equal(rd(&l, APIC_TMCCT), 1);
	assert_false(bit(&l, APIC_IRR, 0x30));
	assert_int_equal(kicks, 0);
	clock_now = 1400;
	vlapic_tick(&l);
	assert_true(bit(&l, APIC_IRR, 0x30));
	assert_int_equal(vlapic_pending(&l), 0x30);
	assert_int_equal(kicks, 1);
	assert_int_equal(rd(&l, APIC_TMCCT), 0);
	assert_int_equal(rd(&l, APIC_TMICT), 100);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	assert_int_equal(l.stats.timer_fired, 1);
	vlapic_ack(&l, 0x30);
	wr(&l, APIC_EOI, 0);
	clock_now = 100000;
	vlapic_tick(&l); /* one-shot: no more */
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(l.stats.timer_fired, 1);
	/* a register read also brings the timer up to date */
	wr(&l, APIC_TMICT, 10);
	clock_now += 40;
	assert_int_equal(rd(&l, APIC_IRR + 0x10), 1u << 16);
	/* writing the initial count restarts it; 0 stops it */
	wr(&l, APIC_TMICT, 10);
	assert_int_equal(vlapic_next_deadline(&l), clock_now + 40);
	clock_now += 20;
	wr(&l, APIC_TMICT, 10);
	assert_int_equal(vlapic_next_deadline(&l), clock_now + 40);
	wr(&l, APIC_TMICT, 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	assert_int_equal(rd(&l, APIC_TMCCT), 0);
	clock_now += 1000;
	vlapic_tick(&l);
	assert_int_equal(l.stats.timer_fired, 2);
}

static void test_periodic_timer_does_not_drift(void **state)
{
	struct vlapic l;
	const uint64_t start = 7, period = 1000 * 2 * 3; /* 1000 clocks, divide by 2, 3 TSC cycles each */
	unsigned fired = 0;

	(void)state;
	new_apic(&l, 0, 3);
	sw_enable(&l);
	wr(&l, APIC_LVT_TIMER, APIC_TIMER_PERIODIC | 0x31);
	clock_now = start;
	wr(&l, APIC_TMICT, 1000);
	for (uint64_t k = 1; k <= 5000; k++) {
		uint64_t due = start + k * period;

		assert_int_equal(vlapic_next_deadline(&l), due);
		clock_now = due - 1;
		vlapic_tick(&l);
		assert_int_equal(vlapic_pending(&l), -1);
		assert_int_equal(rd(&l, APIC_TMCCT), 1);
		clock_now = due + (k * 7919) % (period - 1); /* late by up to a period, never a whole one */
		vlapic_tick(&l);
		if (vlapic_pending(&l) != 0x31)
			fail_msg("period %llu: no interrupt at %llu", (unsigned long long)k,
				 (unsigned long long)clock_now);
		fired++;
		vlapic_ack(&l, 0x31);
		wr(&l, APIC_EOI, 0);
		assert_int_equal(rd(&l, APIC_TMCCT), 1000 - (clock_now - due) / 6);
	}
	assert_int_equal(fired, 5000);
	assert_int_equal(l.stats.timer_fired, 5000);
	/* checked three and a half periods late: one interrupt, and the next deadline stays on the grid */
	clock_now = start + 5000 * period + 3 * period + period / 2;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), 0x31);
	assert_int_equal(l.stats.timer_fired, 5001);
	assert_int_equal(vlapic_next_deadline(&l), start + 5004 * period);
	assert_int_equal(rd(&l, APIC_TMCCT), 500);
	/* switching to one-shot keeps counting and stops after the next expiry */
	wr(&l, APIC_LVT_TIMER, APIC_TIMER_ONESHOT | 0x31);
	assert_int_equal(vlapic_next_deadline(&l), start + 5004 * period);
	clock_now = start + 5004 * period;
	vlapic_tick(&l);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	assert_int_equal(l.stats.timer_fired, 5002);
}

static void test_timer_divide_values(void **state)
{
	static const struct {
		uint32_t dcr;
		unsigned div;
	} cases[] = { { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 },
		      { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
		      { 0x4, 2 } /* bit 2 is not part of the encoding */ };
	struct vlapic l;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		new_apic(&l, 0, 5);
		sw_enable(&l);
		wr(&l, APIC_LVT_TIMER, 0x40);
		wr(&l, APIC_TDCR, cases[i].dcr);
		wr(&l, APIC_TMICT, 10);
		if (vlapic_next_deadline(&l) != 1000 + 10 * 5 * cases[i].div)
			fail_msg("DCR 0x%x: deadline %llu, want divide by %u", cases[i].dcr,
				 (unsigned long long)vlapic_next_deadline(&l), cases[i].div);
		clock_now = 1000 + 5 * cases[i].div * 3; /* three clocks later */
		assert_int_equal(rd(&l, APIC_TMCCT), 7);
	}
}

static void test_timer_divide_change_while_counting(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	wr(&l, APIC_LVT_TIMER, 0x40);
	wr(&l, APIC_TDCR, 0xb); /* divide by 1 */
	wr(&l, APIC_TMICT, 100);
	clock_now += 40;
	assert_int_equal(rd(&l, APIC_TMCCT), 60);
	wr(&l, APIC_TDCR, 0x0); /* divide by 2: the 60 clocks left take 120 TSC cycles */
	assert_int_equal(rd(&l, APIC_TMCCT), 60);
	assert_int_equal(vlapic_next_deadline(&l), clock_now + 120);
	clock_now += 2;
	assert_int_equal(rd(&l, APIC_TMCCT), 59);
	/* part of a clock already counted keeps its share: 4 TSC cycles per clock, 2 of 4 gone */
	new_apic(&l, 0, 4);
	sw_enable(&l);
	wr(&l, APIC_LVT_TIMER, 0x40);
	wr(&l, APIC_TDCR, 0xb);
	wr(&l, APIC_TMICT, 100); /* due at 1400 */
	clock_now = 1002;
	wr(&l, APIC_TDCR, 0x0); /* 99 clocks of 8 cycles, and half a clock (4 cycles) */
	assert_int_equal(vlapic_next_deadline(&l), 1002 + 99 * 8 + 4);
	assert_int_equal(rd(&l, APIC_TMCCT), 100);
	wr(&l, APIC_TDCR, 0xa); /* divide by 128 */
	assert_int_equal(vlapic_next_deadline(&l), 1002 + 99 * 512 + 256);
}

static void test_masked_timer_counts_without_interrupts(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	wr(&l, APIC_TDCR, 0xb);
	wr(&l, APIC_LVT_TIMER, APIC_LVT_MASKED | 0x50);
	wr(&l, APIC_TMICT, 100);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX); /* no interrupt to wait for */
	clock_now += 30;
	assert_int_equal(rd(&l, APIC_TMCCT), 70);
	clock_now += 70;
	vlapic_tick(&l);
	assert_int_equal(l.stats.timer_fired, 1);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(rd(&l, APIC_IRR + 0x20), 0);
	assert_int_equal(rd(&l, APIC_TMCCT), 0);
	assert_int_equal(kicks, 0);
	/* masked periodic keeps its grid; unmasking lets the next expiry through */
	wr(&l, APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_PERIODIC | 0x50);
	clock_now = 2000;
	wr(&l, APIC_TMICT, 100);
	clock_now = 2250;
	vlapic_tick(&l); /* two periods passed: one (masked) expiry */
	assert_int_equal(l.stats.timer_fired, 2);
	assert_int_equal(rd(&l, APIC_TMCCT), 50);
	wr(&l, APIC_LVT_TIMER, APIC_TIMER_PERIODIC | 0x50);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(vlapic_next_deadline(&l), 2300);
	clock_now = 2300;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), 0x50);
	assert_int_equal(kicks, 1);
	/* a software-disabled APIC's timer counts too, masked */
	wr(&l, APIC_SVR, 0xff);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	clock_now = 2400;
	vlapic_tick(&l);
	assert_int_equal(l.stats.timer_fired, 4);
	assert_int_equal(kicks, 1);
}

static void test_tsc_deadline_timer(void **state)
{
	struct vlapic l;
	uint64_t v;

	(void)state;
	new_apic(&l, 0, 1);
	sw_enable(&l);
	/* in one-shot mode the MSR reads 0 and ignores writes */
	wr(&l, APIC_LVT_TIMER, 0x60);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 5000), 0);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	/* a counting timer is disarmed by the switch to TSC-deadline mode */
	wr(&l, APIC_TMICT, 1000);
	wr(&l, APIC_LVT_TIMER, APIC_TIMER_TSC_DEADLINE | 0x60);
	assert_int_equal(rd(&l, APIC_TMICT), 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	wr(&l, APIC_TMICT, 50); /* ignored in this mode */
	assert_int_equal(rd(&l, APIC_TMICT), 0);
	assert_int_equal(rd(&l, APIC_TMCCT), 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	/* arm, fire exactly at the deadline, disarm and read 0 */
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 5000), 0);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(vlapic_next_deadline(&l), 5000);
	clock_now = 4999;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(rd(&l, APIC_TMCCT), 0);
	clock_now = 5000;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), 0x60);
	assert_int_equal(kicks, 1);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	vlapic_ack(&l, 0x60);
	wr(&l, APIC_EOI, 0);
	/* 0 disarms */
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 9000), 0);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 0), 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	clock_now = 10000;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(l.stats.timer_fired, 1);
	/* a deadline in the past fires at once */
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 9999), 0);
	assert_int_equal(vlapic_pending(&l), 0x60);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	vlapic_ack(&l, 0x60);
	wr(&l, APIC_EOI, 0);
	/* leaving TSC-deadline mode disarms */
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 20000), 0);
	wr(&l, APIC_LVT_TIMER, APIC_TIMER_ONESHOT | 0x60);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	wr(&l, APIC_LVT_TIMER, APIC_TIMER_TSC_DEADLINE | 0x60);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	clock_now = 30000;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), -1);
	/* masked: it fires and disarms without an interrupt */
	wr(&l, APIC_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_TSC_DEADLINE | 0x60);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 30010), 0);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	clock_now = 30010;
	vlapic_tick(&l);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(l.stats.timer_fired, 3);
}

static void test_apic_base_msr(void **state)
{
	struct vlapic l;
	uint64_t v;

	(void)state;
	new_apic(&l, 0, 1);
	/* x2APIC, relocation and reserved bits: #GP, nothing changes */
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN | APIC_BASE_EXTD), -1);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfed00000 | APIC_BASE_EN), -1);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0x1fee00000ULL | APIC_BASE_EN), -1);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN | (1 << 9)), -1);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN | 1), -1);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfee00900);
	/* the BSP flag ignores writes; writing back what was read is accepted */
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfee00800), 0);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfee00900);
	/* global disable: the page reads all ones, interrupts go nowhere, state returns to power-up */
	sw_enable(&l);
	wr(&l, APIC_TPR, 0x20);
	wr(&l, APIC_LVT_TIMER, 0x30);
	wr(&l, APIC_TMICT, 10);
	vlapic_set_irq(&l, 0x40, false);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_BSP), 0);
	assert_false(vlapic_enabled(&l));
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfee00100);
	assert_int_equal(vlapic_ops.read(&l, APIC_ID, 4), 0xffffffff);
	assert_int_equal(vlapic_ops.read(&l, APIC_SVR, 1), 0xff);
	vlapic_ops.write(&l, APIC_SVR, 4, 0x1ff);
	vlapic_set_irq(&l, 0x41, false);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(vlapic_next_deadline(&l), UINT64_MAX);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 5), 0);
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	clock_now += 1000;
	vlapic_tick(&l);
	assert_int_equal(l.stats.timer_fired, 0);
	assert_int_equal(vlapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN), 0);
	assert_true(vlapic_enabled(&l));
	assert_int_equal(rd(&l, APIC_SVR), 0xff);
	assert_int_equal(rd(&l, APIC_TPR), 0);
	assert_int_equal(rd(&l, APIC_IRR + 0x20), 0);
	assert_int_equal(rd(&l, APIC_LVT_TIMER), APIC_LVT_MASKED);
	assert_int_equal(rd(&l, APIC_TMICT), 0);
	assert_int_equal(rd(&l, APIC_ID), 0);
	/* MSRs that are not the APIC's */
	assert_int_equal(vlapic_msr_read(&l, MSR_IA32_TSC, &v), -1);
	assert_int_equal(vlapic_msr_write(&l, 0x802, 0), -1);
	assert_true(vlapic_msr_is_ours(0x1b));
	assert_true(vlapic_msr_is_ours(0x6e0));
	assert_false(vlapic_msr_is_ours(0x10));
}

/* ---- IPIs ---- */

static void test_self_ipi(void **state)
{
	struct vlapic l;

	(void)state;
	new_apic(&l, 5, 1);
	sw_enable(&l);
	wr(&l, APIC_ICR_LO, 0x00040000 | 0x51); /* shorthand self, fixed */
	assert_true(bit(&l, APIC_IRR, 0x51));
	assert_false(bit(&l, APIC_TMR, 0x51));
	assert_int_equal(vlapic_pending(&l), 0x51);
	assert_int_equal(kicks, 1);
	assert_int_equal(rd(&l, APIC_ICR_LO) & (1u << 12), 0); /* delivered: idle */
	wr(&l, APIC_ICR_LO, 0x00080000 | 0x52); /* all including self */
	assert_true(bit(&l, APIC_IRR, 0x52));
	wr(&l, APIC_ICR_LO, 0x000c0000 | 0x53); /* all excluding self */
	assert_false(bit(&l, APIC_IRR, 0x53));
	wr(&l, APIC_ICR_HI, 5u << 24); /* physical: own ID */
	wr(&l, APIC_ICR_LO, 0x54);
	assert_true(bit(&l, APIC_IRR, 0x54));
	wr(&l, APIC_ICR_HI, 0xffu << 24); /* physical broadcast */
	wr(&l, APIC_ICR_LO, 0x55);
	assert_true(bit(&l, APIC_IRR, 0x55));
	wr(&l, APIC_ICR_HI, 6u << 24); /* another APIC */
	wr(&l, APIC_ICR_LO, 0x56);
	assert_false(bit(&l, APIC_IRR, 0x56));
	wr(&l, APIC_ICR_LO, 0x00008000 | 0x57 | (1u << 8)); /* lowest priority to another, level: still ignored */
	assert_false(bit(&l, APIC_IRR, 0x57));
	wr(&l, APIC_ICR_HI, 5u << 24);
	wr(&l, APIC_ICR_LO, 0x00008000 | 0x58 | (1u << 8)); /* lowest priority to self: taken, as edge */
	assert_true(bit(&l, APIC_IRR, 0x58));
	assert_false(bit(&l, APIC_TMR, 0x58));
	assert_int_equal(l.stats.ipi_self, 5);
	assert_int_equal(l.stats.ipi_ignored, 3);
	/* logical, flat: a bit of LDR */
	wr(&l, APIC_LDR, 0x04000000);
	wr(&l, APIC_ICR_HI, 0x02u << 24);
	wr(&l, APIC_ICR_LO, (1u << 11) | 0x60);
	assert_false(bit(&l, APIC_IRR, 0x60));
	wr(&l, APIC_ICR_HI, 0x06u << 24);
	wr(&l, APIC_ICR_LO, (1u << 11) | 0x61);
	assert_true(bit(&l, APIC_IRR, 0x61));
	/* logical, cluster: cluster 2, member bit 0 */
	wr(&l, APIC_DFR, 0x0fffffff);
	wr(&l, APIC_LDR, 0x21000000);
	assert_true(vlapic_match_dest(&l, 0x21, true));
	assert_true(vlapic_match_dest(&l, 0x23, true));
	assert_true(vlapic_match_dest(&l, 0xf1, true));
	assert_false(vlapic_match_dest(&l, 0x31, true));
	assert_false(vlapic_match_dest(&l, 0x22, true));
	assert_true(vlapic_match_dest(&l, 5, false));
	assert_false(vlapic_match_dest(&l, 0x21, false));
	/* INIT, SIPI and SMI to self are dropped and counted; NMI goes to the host */
	wr(&l, APIC_ICR_LO, 0x00040000 | (5u << 8));
	wr(&l, APIC_ICR_LO, 0x00040000 | (6u << 8) | 0x10);
	wr(&l, APIC_ICR_LO, 0x00040000 | (2u << 8));
	assert_int_equal(l.stats.ipi_ignored, 7);
	assert_int_equal(nmis, 0);
	wr(&l, APIC_ICR_LO, 0x00040000 | (4u << 8));
	assert_int_equal(nmis, 1);
	wr(&l, APIC_ICR_LO, 0x000c0000 | (4u << 8)); /* NMI to the others: nobody */
	assert_int_equal(nmis, 1);
	assert_int_equal(l.stats.ipi_ignored, 8);
	/* an illegal vector is not sent */
	wr(&l, APIC_ICR_LO, 0x00040000 | 0x0f);
	assert_int_equal(rd(&l, APIC_IRR), 0);
	assert_int_equal(esr(&l), APIC_ESR_SEND_ILLEGAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_write_masks),
		cmocka_unit_test(test_lvt_mask_follows_software_enable),
		cmocka_unit_test(test_reserved_registers),
		cmocka_unit_test(test_esr_write_to_read),
		cmocka_unit_test(test_bus_access_sizes),
		cmocka_unit_test(test_ppr),
		cmocka_unit_test(test_tpr_holds_back_and_releases),
		cmocka_unit_test(test_nested_interrupts_and_eoi),
		cmocka_unit_test(test_level_eoi_calls_back),
		cmocka_unit_test(test_eoi_callback_may_redeliver),
		cmocka_unit_test(test_illegal_vectors),
		cmocka_unit_test(test_software_disable),
		cmocka_unit_test(test_oneshot_timer),
		cmocka_unit_test(test_periodic_timer_does_not_drift),
		cmocka_unit_test(test_timer_divide_values),
		cmocka_unit_test(test_timer_divide_change_while_counting),
		cmocka_unit_test(test_masked_timer_counts_without_interrupts),
		cmocka_unit_test(test_tsc_deadline_timer),
		cmocka_unit_test(test_apic_base_msr),
		cmocka_unit_test(test_self_ipi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
