/* The harvesting policy: watermarks and the order of VMs to take from (see reclaim_policy.h). */
#include "reclaim_policy.h"

#define MIN_WAIT_GOAL (2ULL << 20)

uint64_t reclaim_goal(uint64_t avail, uint64_t low, uint64_t high, bool waiting)
{
	uint64_t goal;

	if (avail >= low && !waiting)
		return 0;
	goal = high > avail ? high - avail : 0;
	if (waiting && goal < MIN_WAIT_GOAL)
		goal = MIN_WAIT_GOAL;
	return goal;
}

static uint64_t worth(const struct reclaim_vm *v)
{
	uint64_t above = v->backed > v->min ? v->backed - v->min : 0;
	uint64_t w = v->idle + v->volatile_bytes;

	return w < above ? w : above;
}

unsigned reclaim_order(const struct reclaim_vm *v, unsigned n, unsigned *order)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned j;

		if (!worth(&v[i]))
			continue;
		/* insertion by worth, most first; equal worth keeps index order */
		for (j = k; j > 0 && worth(&v[order[j - 1]]) < worth(&v[i]); j--)
			order[j] = order[j - 1];
		order[j] = i;
		k++;
	}
	return k;
}
