/*
 * The I/O APIC of a VM: 24 lines, each with a 64-bit redirection entry
 * (82093AA datasheet, section 3.2.4). What the guest sees where hardware
 * does more:
 *
 * - Registers are 32-bit accesses at IOREGSEL (0x00), IOWIN (0x10) and the
 *   EOI register (0x40, as in version-0x20 I/O xAPICs, which Linux uses to
 *   clear a Remote IRR); other sizes and offsets read 0 and ignore writes,
 *   as do unimplemented indirect registers.
 * - Fixed and lowest-priority entries are delivered (lowest priority as
 *   fixed: there is one destination); SMI, NMI, INIT and ExtINT entries are
 *   counted and dropped. Delivery is immediate, so delivery status reads 0.
 * - The arbitration ID reads as the ID (there is no APIC bus to arbitrate).
 * - Writing an entry's trigger mode as edge clears its Remote IRR, as on
 *   the real parts (Linux relies on it to unstick a level line).
 * - A change of polarity is not an edge: only the line's input makes edges.
 */
#include "vioapic.h"

#define RTE_LO_BITS 0x0001afffu /* vector, delivery mode, destination mode, polarity, trigger, mask */
#define RTE_HI_BITS 0xff000000u /* destination */
#define ID_BITS 0x0f000000u
#define DM_FIXED 0
#define DM_LOWEST 1

void vioapic_init(struct vioapic *io, uint8_t id, vioapic_deliver_fn deliver, void *ctx)
{
	*io = (struct vioapic){ .id = id & 0xf, .deliver = deliver, .ctx = ctx };
	for (unsigned i = 0; i < VIOAPIC_PINS; i++)
		io->rte[i] = IOAPIC_RTE_MASKED;
}

/* The line as the entry sees it: active-low inputs are inverted. */
static bool asserted(const struct vioapic *io, unsigned line)
{
	bool in = io->input >> line & 1;

	return in != !!(io->rte[line] & IOAPIC_RTE_ACTIVE_LOW);
}

static void send(struct vioapic *io, unsigned line)
{
	uint64_t e = io->rte[line];
	unsigned mode = e >> IOAPIC_RTE_DM_SHIFT & 7;
	bool level = e & IOAPIC_RTE_LEVEL;

	if (mode != DM_FIXED && mode != DM_LOWEST) {
		io->stats.dropped++;
		return;
	}
	if (level)
		io->rte[line] |= IOAPIC_RTE_REMOTE_IRR; /* before the callback: the EOI may follow at once */
	io->stats.delivered++;
	io->deliver(io->ctx, (uint8_t)(e >> IOAPIC_RTE_DEST_SHIFT), e & IOAPIC_RTE_LOGICAL, (uint8_t)e, level);
}

/* A level-triggered entry sends while its line is asserted, unmasked and not awaiting an EOI. */
static void level_check(struct vioapic *io, unsigned line)
{
	uint64_t e = io->rte[line];

	if ((e & IOAPIC_RTE_LEVEL) && !(e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) && asserted(io, line))
		send(io, line);
}

void vioapic_set_irq(struct vioapic *io, unsigned line, bool level)
{
	bool was;

	if (line >= VIOAPIC_PINS)
		return;
	was = asserted(io, line);
	if (level)
		io->input |= 1u << line;
	else
		io->input &= ~(1u << line);
	if (io->rte[line] & IOAPIC_RTE_LEVEL)
		level_check(io, line);
	else if (!was && asserted(io, line) && !(io->rte[line] & IOAPIC_RTE_MASKED))
		send(io, line); /* an edge on a masked line is lost */
}

void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
	for (unsigned i = 0; i < VIOAPIC_PINS; i++) {
		if ((uint8_t)io->rte[i] != vector || !(io->rte[i] & IOAPIC_RTE_REMOTE_IRR))
			continue;
		io->rte[i] &= ~IOAPIC_RTE_REMOTE_IRR;
		level_check(io, i);
	}
}

static void rte_write(struct vioapic *io, unsigned line, bool high, uint32_t val)
{
	uint64_t e = io->rte[line];

	if (high)
		e = (e & 0xffffffffULL) | (uint64_t)(val & RTE_HI_BITS) << 32;
	else
		e = (e & ~(uint64_t)RTE_LO_BITS) | (val & RTE_LO_BITS);
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	io->rte[line] = e;
	level_check(io, line); /* unmasking an asserted level line sends it */
}

static uint32_t reg_read(const struct vioapic *io, uint32_t reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)io->id << 24;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	case IOAPIC_REG_RTE ... IOAPIC_REG_RTE + 2 * VIOAPIC_PINS - 1: {
		uint64_t e = io->rte[(reg - IOAPIC_REG_RTE) / 2];

		return reg & 1 ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	default:
		return 0;
	}
}

static void reg_write(struct vioapic *io, uint32_t reg, uint32_t val)
{
	switch (reg) {
	case IOAPIC_REG_ID:
		io->id = (uint8_t)((val & ID_BITS) >> 24);
		break;
	case IOAPIC_REG_RTE ... IOAPIC_REG_RTE + 2 * VIOAPIC_PINS - 1:
		rte_write(io, (reg - IOAPIC_REG_RTE) / 2, reg & 1, val);
		break;
	default:
		break; /* version and arbitration are read-only */
	}
}

uint32_t vioapic_read(struct vioapic *io, unsigned offset)
{
	switch (offset) {
	case IOAPIC_REGSEL:
		return io->regsel;
	case IOAPIC_WINDOW:
		return reg_read(io, io->regsel);
	default:
		return 0;
	}
}

void vioapic_write(struct vioapic *io, unsigned offset, uint32_t val)
{
	switch (offset) {
	case IOAPIC_REGSEL:
		io->regsel = val & 0xff;
		break;
	case IOAPIC_WINDOW:
		reg_write(io, io->regsel, val);
		break;
	case IOAPIC_EOI:
		vioapic_eoi(io, (uint8_t)val);
		break;
	default:
		break;
	}
}

static uint64_t bus_read(void *dev, uint64_t offset, unsigned size)
{
	return size == 4 && offset < VIOAPIC_SIZE ? vioapic_read(dev, (unsigned)offset) : 0;
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	if (size == 4 && offset < VIOAPIC_SIZE)
		vioapic_write(dev, (unsigned)offset, (uint32_t)val);
}

const struct dev_ops vioapic_ops = { "I/O APIC", bus_read, bus_write, NULL };
