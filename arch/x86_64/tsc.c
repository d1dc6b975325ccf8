/* TSC calibration against the ACPI PM timer (3.579545 MHz), or PIT channel 2 if there is none. */
#include "timer.h"
#include "cpu.h"
#include <drivers/acpi.h>

#define PM_TIMER_HZ 3579545ULL
#define PIT_HZ 1193182ULL
#define CAL_MS 20

static uint64_t hz;
static const char *reference = "none";

static uint64_t calibrate_pm(uint16_t port, unsigned bits)
{
	uint32_t mask = bits == 32 ? 0xffffffffu : 0xffffffu;
	uint64_t want = PM_TIMER_HZ * CAL_MS / 1000, seen = 0, t0, t1;
	uint32_t last = inl(port) & mask, now;

	t0 = rdtsc();
	while (seen < want) {
		now = inl(port) & mask;
		seen += (now - last) & mask;
		last = now;
	}
	t1 = rdtsc();
	return (t1 - t0) * PM_TIMER_HZ / seen;
}

/* PIT channel 2 in one-shot mode, gated through port 0x61, counting down once. */
static uint64_t calibrate_pit(void)
{
	uint32_t count = PIT_HZ * CAL_MS / 1000;
	uint64_t t0, t1;
	uint8_t gate = inb(0x61);

	outb(0x61, (gate & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);		   /* channel 2, lobyte/hibyte, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		cpu_pause();
	t1 = rdtsc();
	outb(0x61, gate);
	return (t1 - t0) * 1000 / CAL_MS;
}

uint64_t tsc_calibrate(void)
{
	uint16_t port;
	unsigned bits;

	if (acpi_pm_timer(&port, &bits) == 0) {
		hz = calibrate_pm(port, bits);
		reference = "ACPI PM timer";
	} else {
		hz = calibrate_pit();
		reference = "PIT";
	}
	if (hz == 0)
		hz = 1;
	return hz;
}

uint64_t tsc_hz(void)
{
	return hz;
}

const char *tsc_reference(void)
{
	return reference;
}

uint64_t tsc_to_us(uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000 / hz);
}
