/*
 * A VM's device bus: the port ranges and guest-physical MMIO windows its
 * emulated devices claim, and the dispatch of guest accesses to them, so
 * that an exit handler never names a device. An access no device claims
 * keeps the hardware's answer: ports read all ones and writes vanish; MMIO
 * outside RAM stops the VM (hv/vm_exit.c).
 */
#ifndef EMHV_HV_DEVBUS_H
#define EMHV_HV_DEVBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A device's registers: offsets from the start of the range it claimed, 1, 2, 4 or 8 bytes (a window of
 * memory, with fault set, has none: its read and write are NULL). */
struct dev_ops {
	const char *name;
	uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t val);
	/*
	 * Set for an MMIO window of memory rather than registers (shared memory): a nested-page fault
	 * at offset maps the page instead of an access being emulated. DEVBUS_MAPPED, DEVBUS_NOMEM (no
	 * frame yet: the VM waits for memory and faults again) or DEVBUS_NOTHING (the VM stops).
	 */
	int (*fault)(void *dev, uint64_t offset);
};

enum { DEVBUS_MAPPED, DEVBUS_NOMEM, DEVBUS_NOTHING };

enum bus_space { BUS_PIO, BUS_MMIO, BUS_SPACES };

struct bus_range {
	uint64_t base, size;
	const struct dev_ops *ops;
	void *dev;
};

#define DEVBUS_MAX_RANGES 16

struct devbus {
	struct bus_range r[BUS_SPACES][DEVBUS_MAX_RANGES];
	unsigned n[BUS_SPACES];
	unsigned last[BUS_SPACES]; /* the range found last, looked at first (a pipe's window, fault after fault) */
	bool maps_memory;	   /* some MMIO range is a window of memory (ops->fault): faults may be its */
};

/* All ones in an access of size bytes (1, 2, 4 or 8): the bytes no device drives read so. */
static inline uint64_t devbus_ones(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* Claim [base, base + size) in space for a device; 0, or -1 with why (overlap, full, empty range). */
int devbus_claim(struct devbus *b, enum bus_space space, uint64_t base, uint64_t size, const struct dev_ops *ops,
		 void *dev, char *why, size_t n);
/* The range holding all of [addr, addr + size), or NULL. */
const struct bus_range *devbus_find(struct devbus *b, enum bus_space space, uint64_t addr, unsigned size);
/* A guest access; false when no device claims it. */
bool devbus_read(struct devbus *b, enum bus_space space, uint64_t addr, unsigned size, uint64_t *val);
bool devbus_write(struct devbus *b, enum bus_space space, uint64_t addr, unsigned size, uint64_t val);

#endif
