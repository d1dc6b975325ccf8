/* A VM's device bus: claimed port and MMIO ranges, and the dispatch of accesses to their devices. */
#include <stdio.h>
#include "devbus.h"

static const char *const space_name[BUS_SPACES] = { "port", "MMIO" };

int devbus_claim(struct devbus *b, enum bus_space space, uint64_t base, uint64_t size, const struct dev_ops *ops,
		 void *dev, char *why, size_t n)
{
	if (!size || base + size < base) {
		snprintf(why, n, "%s: empty or wrapping %s range at 0x%llx", ops->name, space_name[space],
			 (unsigned long long)base);
		return -1;
	}
	for (unsigned i = 0; i < b->n[space]; i++) {
		const struct bus_range *r = &b->r[space][i];

		if (base < r->base + r->size && r->base < base + size) {
			snprintf(why, n, "%s: %s range 0x%llx-0x%llx overlaps %s's", ops->name, space_name[space],
				 (unsigned long long)base, (unsigned long long)(base + size - 1), r->ops->name);
			return -1;
		}
	}
	if (b->n[space] == DEVBUS_MAX_RANGES) {
		snprintf(why, n, "%s: all %d %s ranges of the VM are taken", ops->name, DEVBUS_MAX_RANGES,
			 space_name[space]);
		return -1;
	}
	b->r[space][b->n[space]++] = (struct bus_range){ base, size, ops, dev };
	b->maps_memory |= space == BUS_MMIO && ops->fault;
	return 0;
}

static bool holds(const struct bus_range *r, uint64_t addr, unsigned size)
{
	return addr >= r->base && addr - r->base < r->size && size <= r->size - (addr - r->base);
}

const struct bus_range *devbus_find(struct devbus *b, enum bus_space space, uint64_t addr, unsigned size)
{
	if (b->last[space] < b->n[space] && holds(&b->r[space][b->last[space]], addr, size))
		return &b->r[space][b->last[space]];
	for (unsigned i = 0; i < b->n[space]; i++)
		if (holds(&b->r[space][i], addr, size)) {
			b->last[space] = i;
			return &b->r[space][i];
		}
	return NULL;
}

bool devbus_read(struct devbus *b, enum bus_space space, uint64_t addr, unsigned size, uint64_t *val)
{
	const struct bus_range *r = devbus_find(b, space, addr, size);

	if (!r || !r->ops->read)
		return false;
	*val = r->ops->read(r->dev, addr - r->base, size);
	return true;
}

bool devbus_write(struct devbus *b, enum bus_space space, uint64_t addr, unsigned size, uint64_t val)
{
	const struct bus_range *r = devbus_find(b, space, addr, size);

	if (!r || !r->ops->write)
		return false;
	r->ops->write(r->dev, addr - r->base, size, val);
	return true;
}
