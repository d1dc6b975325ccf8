/*
 * Unit tests of what a Linux VM boots on: the bzImage checks (hv/bzimage.c) against Debian's real
 * cloud kernel and broken copies of it, the ACPI tables (drivers/vdev/vacpi.c) read back as Linux reads
 * them, the 16550's interrupts (drivers/vdev/vuart.c) through the sequences Linux's 8250 driver
 * uses, the power registers (drivers/vdev/vpm.c), the CMOS clock (drivers/vdev/vrtc.c) and the
 * interval timer (drivers/vdev/vpit.c) as Linux's quick_pit_calibrate drives it.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <emhv/acpi.h>
#include "drivers/vdev/vpit.h"
#include "drivers/vdev/vpm.h"
#include "drivers/vdev/vrtc.h"
#include "drivers/vdev/vuart.h"
#include "drivers/vdev/vacpi.h"
#include "hv/bzimage.h"

/* ---- bzImage ---- */

static uint8_t *kernel;
static size_t kernel_size;

static int load_kernel(void **state)
{
	FILE *f = fopen(LINUX_KERNEL, "rb");

	(void)state;
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	kernel_size = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	kernel = malloc(kernel_size);
	if (!kernel || fread(kernel, 1, kernel_size, f) != kernel_size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int free_kernel(void **state)
{
	(void)state;
	free(kernel);
	return 0;
}

static void test_debian_kernel_parses(void **state)
{
	struct bzimage img;
	const char *why = NULL;

	(void)state;
	assert_int_equal(bzimage_parse(kernel, kernel_size, &img, &why), 0);
	assert_true(img.hdr.version >= LINUX_PROTO_MIN);
	assert_true(img.hdr.xloadflags & LINUX_XLF_KERNEL_64);
	assert_int_equal(img.load_addr, img.hdr.pref_address);
	assert_int_equal(img.load_addr % img.hdr.kernel_alignment, 0);
	assert_int_equal(img.kernel_offset, (uint64_t)(img.hdr.setup_sects + 1) * 512);
	assert_int_equal(img.kernel_offset + img.kernel_size, kernel_size);
	/* the setup header's syssize counts the protected-mode kernel in 16-byte paragraphs (the file may pad it) */
	assert_true((uint64_t)img.hdr.syssize * 16 <= img.kernel_size);
	assert_true((uint64_t)img.hdr.syssize * 16 + 4096 > img.kernel_size);
	assert_true(img.init_size >= img.kernel_size);
	assert_int_equal(img.cmdline_max, img.hdr.cmdline_size);
}

/* A copy of the kernel's first 64 KiB with one field changed: the parser must refuse it with why. */
static void refused(size_t offset, const void *bytes, size_t n, size_t size, const char *want)
{
	size_t len = size < kernel_size ? size : kernel_size;
	uint8_t *copy = malloc(len > 0x10000 ? 0x10000 : len);
	struct bzimage img;
	const char *why = NULL;

	len = len > 0x10000 ? 0x10000 : len;
	memcpy(copy, kernel, len);
	if (n)
		memcpy(copy + offset, bytes, n);
	assert_int_equal(bzimage_parse(copy, len, &img, &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, want));
	free(copy);
}

static void test_broken_kernels_are_refused(void **state)
{
	uint16_t old = 0x020b, zero16 = 0;
	uint32_t elf = 0x464c457f;
	uint8_t sects = 200, zero8 = 0;

	(void)state;
	refused(0, NULL, 0, 0x1f0, "too short");
	refused(0x202, &elf, 4, SIZE_MAX, "HdrS");
	refused(0x1fe, &zero16, 2, SIZE_MAX, "0xAA55");
	refused(0x206, &old, 2, SIZE_MAX, "older than 2.12");
	refused(0x236, &zero16, 2, SIZE_MAX, "XLF_KERNEL_64");
	refused(0x211, &zero8, 1, SIZE_MAX, "zImage");
	refused(0x1f1, &sects, 1, 200 * 512, "no protected-mode kernel");
}

static void test_misaligned_preference_is_aligned(void **state)
{
	uint8_t *copy = malloc(0x10000);
	uint64_t pref = 0x1100000; /* 17 MiB, with 2 MiB alignment asked */
	struct bzimage img;
	const char *why = NULL;

	(void)state;
	memcpy(copy, kernel, 0x10000);
	memcpy(copy + 0x258, &pref, 8);
	assert_int_equal(bzimage_parse(copy, 0x10000, &img, &why), 0);
	assert_int_equal(img.load_addr, 0x1200000);
	free(copy);
}

/* ---- ACPI tables ---- */

#define TABLES_GPA 0xe0000ULL
static uint8_t tables[0x10000];

static const void *at(uint64_t gpa, uint32_t len)
{
	assert_true(gpa >= TABLES_GPA && gpa + len <= TABLES_GPA + sizeof(tables));
	return tables + (gpa - TABLES_GPA);
}

static const struct acpi_sdt *table(uint64_t gpa, const char *sig)
{
	const struct acpi_sdt *t = at(gpa, sizeof(*t));

	assert_memory_equal(t->sig, sig, 4);
	at(gpa, t->length);
	assert_int_equal(acpi_checksum(t, t->length), 0); /* the whole table sums to zero */
	return t;
}

static void test_acpi_tables_read_back(void **state)
{
	size_t used = vacpi_build(tables, sizeof(tables), TABLES_GPA);
	const struct acpi_rsdp *r = (const void *)tables;
	const struct acpi_sdt *x, *d;
	const struct acpi_fadt *f;
	const uint8_t *m;
	uint64_t e[2];

	(void)state;
	assert_true(used > 0);
	assert_memory_equal(r->sig, "RSD PTR ", 8);
	assert_int_equal(r->revision, 2);
	assert_int_equal(acpi_checksum(r, ACPI_RSDP_V1_LEN), 0);
	assert_int_equal(acpi_checksum(r, sizeof(*r)), 0);
	x = table(r->xsdt, "XSDT");
	assert_int_equal(x->length, sizeof(*x) + 16);
	memcpy(e, (const uint8_t *)x + sizeof(*x), 16);
	f = (const void *)table(e[0], "FACP");
	assert_int_equal(f->h.length, 276);
	assert_true(f->flags & ACPI_FADT_HW_REDUCED);
	assert_int_equal(f->sleep_control.space, ACPI_GAS_IO);
	assert_int_equal(f->sleep_control.addr, ACPI_PM_SLEEP_CONTROL);
	assert_int_equal(f->sleep_status.addr, ACPI_PM_SLEEP_STATUS);
	assert_int_equal(f->reset_reg.addr, ACPI_PM_RESET);
	assert_int_equal(f->reset_value, ACPI_PM_RESET_VALUE);
	assert_true(f->iapc_boot_arch & ACPI_BOOT_NO_CMOS_RTC);
	d = table(f->x_dsdt, "DSDT");
	assert_true(f->x_dsdt + d->length <= TABLES_GPA + used);
	/* the DSDT names the virtio-mmio devices and the S5 sleep state */
	assert_non_null(memmem(d, d->length, "LNRO0005", 8));
	assert_non_null(memmem(d, d->length, "_S5_", 4));
	m = (const void *)table(e[1], "APIC");
	assert_int_equal(((const struct acpi_sdt *)m)->length, MADT_ENTRIES + 8 + 12 + 6);
	assert_int_equal(m[MADT_ENTRIES], MADT_LAPIC);
	assert_int_equal(m[MADT_ENTRIES + 8], MADT_IOAPIC);
	assert_int_equal(m[MADT_ENTRIES + 8 + 2], 1); /* the I/O APIC's ID, as its ID register reads */
	assert_int_equal(m[MADT_ENTRIES + 20], MADT_LAPIC_NMI);
}

static void test_acpi_refuses_what_does_not_fit(void **state)
{
	(void)state;
	assert_int_equal(vacpi_build(tables, 256, TABLES_GPA), 0);
	assert_int_equal(vacpi_build(tables, sizeof(tables), TABLES_GPA + 8), 0);
}

/* ---- the 16550's interrupts ---- */

enum { RBR_THR, IER, IIR, LCR, MCR, LSR };
static int line_level, line_edges;
static char out[64];
static unsigned nout;

static void tx(void *ctx, uint8_t c)
{
	(void)ctx;
	if (nout < sizeof(out))
		out[nout++] = (char)c;
}

static void irq(void *ctx, bool level)
{
	(void)ctx;
	line_edges += level && !line_level;
	line_level = level;
}

static void new_uart(struct vuart *u)
{
	line_level = line_edges = 0;
	nout = 0;
	vuart_init(u, tx, irq, NULL);
}

static void test_uart_thre_as_linux_probes_it(void **state)
{
	struct vuart u;
	uint8_t iir1, iir2;

	(void)state;
	new_uart(&u);
	vuart_write(&u, MCR, 0x08); /* OUT2: the IRQ reaches the interrupt controller */
	/* serial8250_do_startup's test: THRE must be raised again each time it is enabled */
	vuart_write(&u, IER, 0x02);
	iir1 = vuart_read(&u, IIR);
	vuart_write(&u, IER, 0);
	vuart_write(&u, IER, 0x02);
	iir2 = vuart_read(&u, IIR);
	assert_int_equal(iir1 & 0x0f, 0x02);
	assert_int_equal(iir2 & 0x0f, 0x02);
	/* read once, it is gone until the next byte is sent */
	assert_int_equal(vuart_read(&u, IIR) & 0x0f, 0x01);
	assert_int_equal(line_level, 0);
	vuart_write(&u, RBR_THR, 'x');
	assert_int_equal(line_level, 1);
	assert_int_equal(vuart_read(&u, IIR) & 0x0f, 0x02);
	assert_int_equal(line_level, 0);
	assert_int_equal(line_edges, 3);
	assert_int_equal(nout, 1);
}

static void test_uart_received_data_comes_first_and_out2_gates(void **state)
{
	struct vuart u;

	(void)state;
	new_uart(&u);
	vuart_write(&u, IER, 0x03);
	assert_int_equal(line_level, 0); /* THRE pending, but OUT2 is low */
	assert_int_equal(vuart_input(&u, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(line_level, 0);
	vuart_write(&u, MCR, 0x08);
	assert_int_equal(line_level, 1);
	vuart_write(&u, 2, 0x01); /* FIFOs on: IIR shows them */
	assert_int_equal(vuart_read(&u, IIR), 0xc4); /* received data outranks THRE */
	assert_int_equal(vuart_read(&u, RBR_THR), 'a');
	assert_int_equal(vuart_read(&u, RBR_THR), 'b');
	assert_int_equal(vuart_read(&u, LSR) & 1, 0);
	assert_int_equal(vuart_read(&u, IIR), 0xc2); /* then THRE, which this read clears */
	assert_int_equal(vuart_read(&u, IIR), 0xc1);
	assert_int_equal(line_level, 0);
}

/* ---- power registers ---- */

static int events[3];
static unsigned last_detail;

static void pm_event(void *ctx, enum vpm_event ev, unsigned detail)
{
	(void)ctx;
	events[ev]++;
	last_detail = detail;
}

static void test_power_registers(void **state)
{
	struct vpm p;

	(void)state;
	memset(events, 0, sizeof(events));
	vpm_init(&p, ACPI_S5_TYPE, ACPI_PM_RESET_VALUE, pm_event, NULL);
	vpm_ops.write(&p, 0, 1, ACPI_S5_TYPE << 2);		     /* SLP_EN clear: nothing */
	vpm_ops.write(&p, 0, 1, (3 << 2) | ACPI_SLEEP_ENABLE);	     /* S3: not offered, nothing */
	vpm_ops.write(&p, 2, 1, ACPI_PM_RESET_VALUE + 1);	     /* another value: nothing */
	assert_int_equal(events[VPM_POWEROFF] + events[VPM_RESET], 0);
	vpm_ops.write(&p, 0, 1, (ACPI_S5_TYPE << 2) | ACPI_SLEEP_ENABLE);
	assert_int_equal(events[VPM_POWEROFF], 1);
	assert_int_equal(last_detail, ACPI_S5_TYPE);
	vpm_ops.write(&p, 2, 1, ACPI_PM_RESET_VALUE);
	assert_int_equal(events[VPM_RESET], 1);
	assert_int_equal(vpm_pvpanic_ops.read(&p, 0, 1), PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	vpm_pvpanic_ops.write(&p, 0, 1, PVPANIC_CRASH_LOADED);
	assert_int_equal(events[VPM_PANIC], 0);
	vpm_pvpanic_ops.write(&p, 0, 1, PVPANIC_PANICKED);
	assert_int_equal(events[VPM_PANIC], 1);
}

/* ---- CMOS clock ---- */

static uint64_t host_now = 1796121045; /* 2026-12-01 10:30:45 UTC, a Tuesday */

static uint64_t now(void *ctx)
{
	(void)ctx;
	return host_now;
}

static uint8_t cmos(struct vrtc *r, uint8_t reg)
{
	vrtc_ops.write(r, 0, 1, reg);
	return (uint8_t)vrtc_ops.read(r, 1, 1);
}

static void set_cmos(struct vrtc *r, uint8_t reg, uint8_t val)
{
	vrtc_ops.write(r, 0, 1, reg);
	vrtc_ops.write(r, 1, 1, val);
}

static void test_rtc_days(void **state)
{
	(void)state;
	assert_int_equal(vrtc_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(vrtc_days_from_civil(2000, 2, 29) * 86400, 951782400);
	assert_int_equal(vrtc_days_from_civil(2026, 12, 1) * 86400 + 10 * 3600 + 30 * 60 + 45, 1796121045);
	assert_int_equal(vrtc_days_from_civil(1969, 12, 31), -1);
}

static void test_rtc_reads_the_time_as_linux_does(void **state)
{
	struct vrtc r;

	(void)state;
	vrtc_init(&r, now, NULL);
	assert_int_equal(cmos(&r, 0x0a) & 0x80, 0); /* never updating */
	assert_int_equal(cmos(&r, 0x0d), 0x80);	  /* valid RAM and time */
	assert_int_equal(cmos(&r, 0x0b), 0x02);	  /* BCD, 24-hour */
	assert_int_equal(cmos(&r, 0), 0x45);
	assert_int_equal(cmos(&r, 2), 0x30);
	assert_int_equal(cmos(&r, 4), 0x10);
	assert_int_equal(cmos(&r, 6), 3); /* Tuesday: Sunday is 1 */
	assert_int_equal(cmos(&r, 7), 0x01);
	assert_int_equal(cmos(&r, 8), 0x12);
	assert_int_equal(cmos(&r, 9), 0x26);
	assert_int_equal(cmos(&r, 0x32), 0x20);
	host_now += 3600 * 5; /* 15:30:45: in 12-hour binary mode, 3 PM */
	set_cmos(&r, 0x0b, 0x04);
	assert_int_equal(cmos(&r, 4), 0x80 | 3);
	assert_int_equal(cmos(&r, 0), 45);
	host_now -= 3600 * 5;
	assert_int_equal(vrtc_ops.read(&r, 0, 1), 0xff); /* the index port is write-only */
	set_cmos(&r, 0x40, 0x5a); /* CMOS RAM keeps what is written */
	assert_int_equal(cmos(&r, 0x40), 0x5a);
}

static void test_rtc_set_by_the_guest_moves_only_its_clock(void **state)
{
	struct vrtc r;

	(void)state;
	vrtc_init(&r, now, NULL);
	set_cmos(&r, 9, 0x30);	/* year 2030 */
	set_cmos(&r, 4, 0x23);	/* 23 h */
	assert_int_equal(cmos(&r, 9), 0x30);
	assert_int_equal(cmos(&r, 4), 0x23);
	assert_int_equal(cmos(&r, 2), 0x30);
	assert_int_equal(cmos(&r, 7), 0x01);
	host_now += 61; /* and it runs on from there */
	assert_int_equal(cmos(&r, 2), 0x31);
	assert_int_equal(cmos(&r, 0), 0x46);
	host_now -= 61;
}

static void test_rtc_set_as_linux_sets_it(void **state)
{
	struct vrtc r;

	(void)state;
	host_now = 1796083200 - 86400 * 304; /* 2026-01-31 00:00:00: a naive field-by-field set rolls Feb 31 over */
	vrtc_init(&r, now, NULL);
	assert_int_equal(cmos(&r, 8), 0x01);
	assert_int_equal(cmos(&r, 7), 0x31);
	set_cmos(&r, 0x0b, 0x82); /* SET: the clock stands still while it is written */
	set_cmos(&r, 9, 0x26);
	set_cmos(&r, 8, 0x02);
	set_cmos(&r, 7, 0x15);
	set_cmos(&r, 4, 0x08);
	host_now += 30;
	assert_int_equal(cmos(&r, 0), 0x00); /* held */
	set_cmos(&r, 0x0b, 0x02);	     /* SET clear: it runs from 2026-02-15 08:00:00 */
	assert_int_equal(cmos(&r, 8), 0x02);
	assert_int_equal(cmos(&r, 7), 0x15);
	assert_int_equal(cmos(&r, 4), 0x08);
	host_now += 5;
	assert_int_equal(cmos(&r, 0), 0x05);
	host_now = 1796121045;
}

/* ---- interval timer ---- */

#define PIT_TSC_HZ (VPIT_HZ * 100) /* a TSC 100 times the PIT's clock: one PIT clock per 100 ticks */
static uint64_t guest_tsc_now = 1000000;

static uint64_t tsc_now(void *ctx)
{
	(void)ctx;
	return guest_tsc_now;
}

static uint8_t pit_in(struct vpit *p, unsigned port)
{
	return (uint8_t)(port == 0x61 ? vpit_port_b_ops.read(p, 0, 1) : vpit_ops.read(p, port - 0x40, 1));
}

static void pit_out(struct vpit *p, unsigned port, uint8_t v)
{
	if (port == 0x61)
		vpit_port_b_ops.write(p, 0, 1, v);
	else
		vpit_ops.write(p, port - 0x40, 1, v);
}

static void test_pit_channel_2_as_linux_calibrates(void **state)
{
	struct vpit p;

	(void)state;
	vpit_init(&p, PIT_TSC_HZ, tsc_now, NULL);
	pit_out(&p, 0x61, (pit_in(&p, 0x61) & ~0x02) | 0x01); /* gate high, speaker off */
	pit_out(&p, 0x43, 0xb0);			       /* channel 2, low then high byte, mode 0 */
	pit_out(&p, 0x42, 0xff);
	pit_out(&p, 0x42, 0xff);
	assert_int_equal(pit_in(&p, 0x61) & 0x20, 0); /* OUT2 low while it counts */
	guest_tsc_now += 100 * 300;		      /* 300 PIT clocks */
	pit_in(&p, 0x42);
	assert_int_equal(pit_in(&p, 0x42), (0xffff - 300) >> 8); /* the MSB it watches fall */
	guest_tsc_now += 100 * 65300;
	assert_int_equal(pit_in(&p, 0x61) & 0x20, 0x20); /* past terminal count: OUT2 high */
	/* a latch freezes the count until both bytes are read */
	pit_out(&p, 0x43, 0x80);
	guest_tsc_now += 100 * 5;
	{
		uint16_t want = (uint16_t)(0xffff - 65600), got = pit_in(&p, 0x42); /* on through zero */

		got |= (uint16_t)(pit_in(&p, 0x42) << 8);
		assert_int_equal(got, want);
	}
	/* the gate low holds the count */
	pit_out(&p, 0x61, 0x00);
	pit_in(&p, 0x42);
	uint8_t hi = pit_in(&p, 0x42);
	guest_tsc_now += 100 * 1000;
	pit_in(&p, 0x42);
	assert_int_equal(pit_in(&p, 0x42), hi);
	assert_int_equal(vpit_ops.read(&p, 3, 1), 0xff); /* the control word cannot be read */
}

static void test_pit_rate_generator_reloads(void **state)
{
	struct vpit p;

	(void)state;
	vpit_init(&p, PIT_TSC_HZ, tsc_now, NULL);
	pit_out(&p, 0x43, 0x34); /* channel 0, low then high, mode 2 */
	pit_out(&p, 0x40, 100);
	pit_out(&p, 0x40, 0);
	guest_tsc_now += 100 * 250; /* two and a half periods */
	pit_out(&p, 0x43, 0x00);    /* latch channel 0 */
	assert_int_equal(pit_in(&p, 0x40), 50);
	assert_int_equal(pit_in(&p, 0x40), 0);
}

int main(void)
{
	const struct CMUnitTest kernel_tests[] = {
		cmocka_unit_test(test_debian_kernel_parses),
		cmocka_unit_test(test_broken_kernels_are_refused),
		cmocka_unit_test(test_misaligned_preference_is_aligned),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_tables_read_back),
		cmocka_unit_test(test_acpi_refuses_what_does_not_fit),
		cmocka_unit_test(test_uart_thre_as_linux_probes_it),
		cmocka_unit_test(test_uart_received_data_comes_first_and_out2_gates),
		cmocka_unit_test(test_power_registers),
		cmocka_unit_test(test_rtc_days),
		cmocka_unit_test(test_rtc_reads_the_time_as_linux_does),
		cmocka_unit_test(test_rtc_set_by_the_guest_moves_only_its_clock),
		cmocka_unit_test(test_rtc_set_as_linux_sets_it),
		cmocka_unit_test(test_pit_channel_2_as_linux_calibrates),
		cmocka_unit_test(test_pit_rate_generator_reloads),
	};

	return cmocka_run_group_tests_name("bzimage", kernel_tests, load_kernel, free_kernel) |
	       cmocka_run_group_tests_name("platform", tests, NULL, NULL);
}
