/*
 * Power-off, reset and panic for a Linux VM: the hardware-reduced ACPI
 * sleep control, sleep status and reset registers, and the pvpanic port.
 */
#include <emhv/acpi.h>
#include "vpm.h"

enum { SLEEP_CONTROL, SLEEP_STATUS, RESET };

void vpm_init(struct vpm *p, uint8_t s5_type, uint8_t reset_value, vpm_event_fn event, void *ctx)
{
	*p = (struct vpm){ .s5_type = s5_type, .reset_value = reset_value, .event = event, .ctx = ctx };
}

static uint64_t pm_read(void *dev, uint64_t offset, unsigned size)
{
	struct vpm *p = dev;
	uint64_t ones = devbus_ones(size);

	/* the sleep control and reset registers are write-only: they read as zero */
	return (offset == SLEEP_STATUS ? p->sleep_status : 0) | (ones & ~0xffULL);
}

static void pm_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vpm *p = dev;
	uint8_t v = (uint8_t)val;

	(void)size;
	switch (offset) {
	case SLEEP_CONTROL:
		if (!(v & ACPI_SLEEP_ENABLE))
			break;
		v = (v & ACPI_SLEEP_TYPE_MASK) >> ACPI_SLEEP_TYPE_SHIFT;
		if (v == p->s5_type)
			p->event(p->ctx, VPM_POWEROFF, v);
		break;
	case SLEEP_STATUS:
		p->sleep_status &= (uint8_t)~(v & ACPI_SLEEP_WAKE_STATUS); /* write 1 to clear */
		break;
	case RESET:
		if (v == p->reset_value)
			p->event(p->ctx, VPM_RESET, v);
		break;
	default:
		break;
	}
}

const struct dev_ops vpm_ops = { "ACPI power registers", pm_read, pm_write, NULL };

static uint64_t pvpanic_read(void *dev, uint64_t offset, unsigned size)
{
	(void)dev;
	(void)offset;
	(void)size;
	return PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vpm *p = dev;

	(void)offset;
	(void)size;
	if (val & PVPANIC_PANICKED)
		p->event(p->ctx, VPM_PANIC, (unsigned)val);
}

const struct dev_ops vpm_pvpanic_ops = { "pvpanic", pvpanic_read, pvpanic_write, NULL };
